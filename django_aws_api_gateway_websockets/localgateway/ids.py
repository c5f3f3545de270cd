"""Identifiers and timestamps shaped like the ones AWS API Gateway produces."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime


def new_connection_id() -> str:
    """Return a 16-character connection id such as ``L0SM9cOFvHcCIhw=``.

    AWS ids are URL-safe base64 of 11 random bytes; producing the same shape means
    code that stores, logs or URL-encodes ids (the trailing ``=``) is exercised locally.
    """
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")


def new_trace_id(now: float | None = None) -> str:
    """Return an X-Ray style ``Root=1-<epoch hex>-<24 hex>`` trace header value."""
    epoch = int(time.time() if now is None else now)
    return f"Root=1-{epoch:08x}-{secrets.token_hex(12)}"


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def iso8601(moment: datetime) -> str:
    """Format ``moment`` the way the Management API does: millisecond precision, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

"""AWS Signature Version 4 for one Management API request.

botocore's ``SigV4Auth`` handles every service and request shape; a post to a connection
has one shape (a path, a body, no query string), so its canonical request is built directly.
``tests/test_sigv4.py`` checks the result against botocore's signer.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"


class Credentials(Protocol):
    """What botocore's ``ReadOnlyCredentials`` provides."""

    access_key: str
    secret_key: str
    token: str | None


@functools.lru_cache(maxsize=16)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The day's key: AWS derives it by chaining HMACs over date, region and service."""
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(
    *,
    method: str,
    host: str,
    path: str,
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to send, ``host`` included, that authenticate ``method path`` with ``body``.

    ``path`` is the path as sent, already percent-encoded; AWS signs it encoded once more.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    timestamp = moment.strftime("%Y%m%dT%H%M%SZ")
    date = timestamp[:8]
    headers = {"host": host, "x-amz-date": timestamp}
    if credentials.token:
        headers["x-amz-security-token"] = credentials.token
    signed_headers = ";".join(headers)
    canonical_request = "\n".join(
        (
            method,
            quote(path, safe="/~"),
            "",
            "".join(f"{name}:{value}\n" for name, value in headers.items()),
            signed_headers,
            hashlib.sha256(body).hexdigest(),
        )
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        (ALGORITHM, timestamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest())
    )
    key = signing_key(credentials.secret_key, date, region, service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return headers

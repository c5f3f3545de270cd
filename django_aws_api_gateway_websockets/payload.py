"""Turn application data into the exact text posted to each connection."""

from __future__ import annotations

import json
from typing import Any

from .conf import MAX_MESSAGE_BYTES


def encode_message(data: Any, delivery_id: str) -> str:
    """Encode ``data`` as JSON, stamping objects with ``delivery_id``.

    Raises ``TypeError`` for data JSON cannot encode and ``ValueError`` over API Gateway's
    128 KB frame limit, before anything is queued.
    """
    if isinstance(data, dict):
        data = {**data, "delivery_id": delivery_id}
    try:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Message is not JSON-serialisable: {exc}") from exc
    size = len(text.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise ValueError(
            f"Message exceeds AWS limit: {size} bytes (max: {MAX_MESSAGE_BYTES} bytes)"
        )
    return text

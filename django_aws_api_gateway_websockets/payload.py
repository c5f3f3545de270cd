"""Turn application data into the exact text posted to each connection.

Every frame the library itself builds carries its metadata under the reserved top-level key
``"$ws"`` and the application's data under ``"data"``; plain sends (the 4.x API) keep the
application's dict as it is and add ``delivery_id`` plus ``"$ws": {"id": ...}``. The wire
format is documented in docs/channels.md ("The wire envelope").
"""

from __future__ import annotations

import json
from typing import Any

from .conf import MAX_MESSAGE_BYTES

RESERVED_KEY = "$ws"


class Frame(dict[str, Any]):
    """A frame the library built (publications, presence events): posted exactly as it is."""


def encode_message(data: Any, delivery_id: str) -> str:
    """Encode ``data`` as JSON, stamping objects with ``delivery_id`` and ``$ws.id``.

    Raises ``TypeError`` for data JSON cannot encode and ``ValueError`` for a dict holding the
    reserved key ``$ws`` or over API Gateway's 128 KB frame limit, before anything is queued.
    """
    if isinstance(data, Frame):
        data = dict(data)
    elif isinstance(data, dict):
        if RESERVED_KEY in data:
            raise ValueError(
                f"Message data may not contain the key {RESERVED_KEY!r}: it is reserved for "
                "the library's own metadata (see docs/channels.md, 'The wire envelope')."
            )
        data = {**data, "delivery_id": delivery_id, RESERVED_KEY: {"id": delivery_id}}
    return encode_frame(data)


def encode_frame(data: Any) -> str:
    """``data`` as compact JSON; ``TypeError``/``ValueError`` when AWS could not post it."""
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


def publication(channel: str, offset: int, epoch: str, data: Any, publication_id: str) -> Frame:
    """The frame of one channel publication (protocol: 'Channel publications')."""
    return Frame(
        {
            RESERVED_KEY: {
                "kind": "publication",
                "id": publication_id,
                "channel": channel,
                "offset": offset,
                "epoch": epoch,
            },
            "data": data,
        }
    )


def library_frame(kind: str, channel: str, **fields: Any) -> Frame:
    """A frame of ``kind`` about ``channel`` (replies, presence events), with its fields."""
    return Frame({RESERVED_KEY: {"kind": kind, "channel": channel}, **fields})

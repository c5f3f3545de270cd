"""A message event's body: a JSON object nested no deeper than a limit."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

# A JSON string: brackets inside one nest nothing.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
# How each byte changes the depth: +1 opening, -1 closing a bracket.
_DEPTH_STEP = tuple(1 if byte in b"[{" else -1 if byte in b"]}" else 0 for byte in range(256))


class BodyError(ValueError):
    """The body is not what a message event must carry; the message says why."""


def nested_deeper_than(raw: bytes, limit: int) -> bool:
    """True if ``raw`` opens more than ``limit`` arrays or objects inside one another.

    Checked before parsing: the json module parses nesting by recursion, and a body a few
    thousand levels deep would raise RecursionError.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    # Every step below loops in C: a 128 KB body of brackets costs about what parsing it does.
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > limit


def parse_json_object(raw: bytes, max_depth: int) -> dict[str, Any]:
    """The body as a dict; BodyError for anything else (an empty body is ``{}``)."""
    if nested_deeper_than(raw, max_depth):
        raise BodyError(f"Body is nested deeper than {max_depth} levels.")
    try:
        body = json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BodyError("Body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BodyError("Body must be a JSON object.")
    return body

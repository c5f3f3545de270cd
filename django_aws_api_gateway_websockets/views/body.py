"""A message event's body: a JSON object nested no deeper than a limit."""

from __future__ import annotations

import json
import re
from typing import Any

# A JSON string (brackets inside it do not nest anything), or one bracket.
_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENING = frozenset(b"[{")


class BodyError(ValueError):
    """The body is not what a message event must carry; the message says why."""


def nested_deeper_than(raw: bytes, limit: int) -> bool:
    """True if ``raw`` opens more than ``limit`` arrays or objects inside one another.

    Checked before parsing: the json module parses nesting by recursion, and a body a few
    thousand levels deep would raise RecursionError.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(raw):
        token = match.group()
        if len(token) != 1:
            continue
        if token[0] in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


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

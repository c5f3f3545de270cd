"""A message event's body: a JSON object of text and finite numbers, nested no deeper than a limit.

Python's json module accepts more than JSON (RFC 8259): ``NaN``, ``Infinity`` and
``-Infinity``, numbers that overflow to infinity (``1e999``), and ``\\ud800``-style escapes
of lone surrogates, which are not text (encoding them raises). Each would pass the parse and
raise later, inside a handler or when sending: they are refused here, with the reason.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any, NoReturn

# A JSON string: brackets inside one nest nothing.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
# An escaped surrogate (``\\ud800``-``\\udfff``); only bodies holding one are searched for a
# lone one (a pair, ``\\ud83d\\ude00``, decodes to one character).
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
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
    if not raw:
        return {}
    if nested_deeper_than(raw, max_depth):
        raise BodyError(f"Body is nested deeper than {max_depth} levels.")
    try:
        # Strict UTF-8 (what API Gateway sends): json.loads would decode bytes with
        # "surrogatepass", letting encoded surrogates through.
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("Body is not valid UTF-8.") from None
    try:
        body = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except BodyError:
        raise
    except (ValueError, RecursionError):
        raise BodyError("Body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BodyError("Body must be a JSON object.")
    if _ESCAPED_SURROGATE.search(raw) and _has_lone_surrogate(body):
        raise BodyError("Body contains a lone surrogate (\\ud800-\\udfff), which is not text.")
    return body


def _refuse_constant(name: str) -> NoReturn:
    raise BodyError(f"Body contains {name}, which is not JSON.")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise BodyError(f"Body contains a number out of range: {text[:32]}.")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a key or string anywhere in ``value`` holds a surrogate not paired into one."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False

"""What the driver and both sides share: names, the result line, small timing helpers.

Standard library only. The driver imports it as ``benchmarks.common``; a side's process,
whose path holds this folder and (for the competitor) nothing else of the project, as
``common``.
"""

from __future__ import annotations

import json
import sys
import time
import timeit
from collections.abc import Callable
from typing import Any, NamedTuple

API_ID = "bench01"
STAGE = "bench"
PAYLOAD = {"type": "benchmark", "text": "hello " * 20}
RESULT_MARKER = "BENCH-RESULT "
# Connections every side warms up with before a measured delivery (clients, pools, imports).
WARM_CHANNEL = "warm"
WARM_COUNT = 2000


class Delivery(NamedTuple):
    """One broadcast, as a side's adapter measured it."""

    seconds: float  # From the call until every message was posted.
    call_seconds: float  # The call itself.
    details: dict[str, Any]  # The side's own figures, for the raw results.


def emit(data: dict[str, Any]) -> None:
    """Hand a side's result to the driver: one marked JSON line on stdout."""
    sys.stdout.write(RESULT_MARKER + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def parse_result(stdout: str) -> dict[str, Any]:
    """The last result line a side printed."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    raise ValueError("no result line in the output")


def connection_ids(prefix: str, count: int) -> list[str]:
    """The connection ids a side's sessions of a channel get (``side.insert_sessions``)."""
    return [f"{prefix}{n:07d}" for n in range(1, count + 1)]


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """``(seconds, result)`` of one call."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.01) -> Any:
    """Call ``predicate`` until it returns something truthy and return that.

    Raises TimeoutError after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)
    return value


def speed_check() -> float:
    """Nanoseconds per loop of a fixed pure-Python snippet: how fast this machine is right now.

    Shared virtual machines speed up and slow down; results note this before and after a run
    so that runs can be compared.
    """
    loops = 100_000
    best = min(timeit.repeat("sum(range(100))", number=loops, repeat=5))
    return round(best / loops * 1e9, 1)

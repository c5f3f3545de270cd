"""Injected Management API failures: latency, throttling and gone connections."""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import check_rate


class Fault(enum.Enum):
    """A failure the gateway answers instead of delivering a message."""

    GONE = "gone"
    THROTTLED = "throttled"


@dataclass
class Faults:
    """The failures currently injected into Management API ``POST`` calls.

    ``gone_ids`` are always answered 410; ``throttle_counts`` answers 429 for an id the
    next N times; the two rates apply to every POST through ``rng`` so a seed replays
    the same sequence. ``rate_limit`` (requests per second, 0: none) and ``rate_burst``
    model AWS's account-level throttling as the token bucket AWS describes: a POST that
    finds the bucket empty is answered 429.
    """

    latency_ms: float = 0.0
    throttle_rate: float = 0.0
    gone_rate: float = 0.0
    gone_ids: set[str] = field(default_factory=set)
    throttle_counts: dict[str, int] = field(default_factory=dict)
    rate_limit: float = 0.0
    rate_burst: float = 0.0
    tokens: float | None = None  # the bucket: full when the limit is set
    filled_at: float = 0.0

    def take_token(self) -> bool:
        """Whether the token bucket lets one more request through now."""
        if not self.rate_limit:
            return True
        now = time.monotonic()
        burst = max(self.rate_burst, 1.0)
        if self.tokens is None:
            self.tokens = burst
        else:
            self.tokens = min(burst, self.tokens + (now - self.filled_at) * self.rate_limit)
        self.filled_at = now
        if self.tokens < 1 - 1e-9:  # float error in the refill must not refuse a token
            return False
        self.tokens -= 1
        return True

    def decide(self, connection_id: str, rng: random.Random) -> Fault | None:
        """Return the fault to answer a POST to ``connection_id`` with, if any.

        Explicit per-id faults win over random ones so tests can rely on them.
        """
        if connection_id in self.gone_ids:
            return Fault.GONE
        remaining = self.throttle_counts.get(connection_id, 0)
        if remaining > 0:
            if remaining == 1:
                del self.throttle_counts[connection_id]
            else:
                self.throttle_counts[connection_id] = remaining - 1
            return Fault.THROTTLED
        if not self.take_token():
            return Fault.THROTTLED
        # Draw only for active rates so a seed gives the same sequence whatever
        # other rate happens to be zero.
        if self.throttle_rate and rng.random() < self.throttle_rate:
            return Fault.THROTTLED
        if self.gone_rate and rng.random() < self.gone_rate:
            return Fault.GONE
        return None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready copy."""
        return {
            "latency_ms": self.latency_ms,
            "throttle_rate": self.throttle_rate,
            "gone_rate": self.gone_rate,
            "gone_ids": sorted(self.gone_ids),
            "throttle_counts": dict(self.throttle_counts),
            "rate_limit": self.rate_limit,
            "rate_burst": self.rate_burst,
        }


FAULT_FIELDS = (
    "latency_ms",
    "throttle_rate",
    "gone_rate",
    "gone_ids",
    "throttle_counts",
    "rate_limit",
    "rate_burst",
    "seed",
)


def parse_fault_update(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a fault update (as sent to ``POST /@local/faults``) and return clean values.

    Raises ValueError naming the offending field, so the control API can answer 400.
    """
    unknown = sorted(set(payload) - set(FAULT_FIELDS))
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(unknown)}")
    clean: dict[str, Any] = {}
    if "latency_ms" in payload:
        latency = _number("latency_ms", payload["latency_ms"])
        if latency < 0:
            raise ValueError("latency_ms must not be negative")
        clean["latency_ms"] = latency
    for name in ("rate_limit", "rate_burst"):
        if name in payload:
            value = _number(name, payload[name])
            if value < 0:
                raise ValueError(f"{name} must not be negative")
            clean[name] = value
    for name in ("throttle_rate", "gone_rate"):
        if name in payload:
            clean[name] = check_rate(name, _number(name, payload[name]))
    if "gone_ids" in payload:
        clean["gone_ids"] = set(_strings("gone_ids", payload["gone_ids"]))
    if "throttle_counts" in payload:
        counts = payload["throttle_counts"]
        if not isinstance(counts, Mapping):
            raise ValueError("throttle_counts must be an object of id -> count")
        clean["throttle_counts"] = {}
        for key, count in counts.items():
            if not isinstance(key, str) or isinstance(count, bool) or not isinstance(count, int):
                raise ValueError("throttle_counts must map string ids to integers")
            if count < 0:
                raise ValueError("throttle_counts must not be negative")
            if count:
                clean["throttle_counts"][key] = count
    if "seed" in payload:
        seed = payload["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer or null")
        clean["seed"] = seed
    return clean


def _number(name: str, value: Any) -> float:
    # bool is an int subclass; "true" as a rate is a client bug worth reporting.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    return float(value)


def _strings(name: str, value: Any) -> Iterable[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ValueError(f"{name} must be a list of strings")
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name} must be a list of strings")
    return value

"""In-memory state of one local gateway: connections, injected faults and counters.

The event loop thread does nearly all the work, but tests and benchmarks read
statistics and change faults from other threads, so everything those callers touch
is guarded by one ``threading.Lock`` (held only for dictionary-sized work).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from .config import GatewayConfig
from .connections import LiveConnection, VirtualConnection
from .faults import Fault, Faults, parse_fault_update


@dataclass
class Stats:
    """Counters the control API reports; reset by ``POST /@local/reset``."""

    posts_received: int = 0
    delivered: int = 0
    gone_answers: int = 0
    throttled_answers: int = 0
    too_large_answers: int = 0
    connects: int = 0
    connects_refused: int = 0
    disconnects: int = 0
    messages_forwarded: int = 0
    forward_failures: int = 0
    deliveries_per_connection: Counter[str] = field(default_factory=Counter)
    last_body: dict[str, bytes] = field(default_factory=dict)
    # time.time() of the last delivery to each connection (benchmarks measure latency with it)
    last_delivered_at: dict[str, float] = field(default_factory=dict)


# The plain counters, in the order the stats endpoint lists them.
COUNTER_NAMES = tuple(
    f.name
    for f in fields(Stats)
    if f.name not in ("deliveries_per_connection", "last_body", "last_delivered_at")
)


class GatewayState:
    """Everything the gateway remembers between requests."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.connections: dict[str, LiveConnection] = {}
        self.virtual: dict[str, VirtualConnection] = {}
        self.faults = self._initial_faults()
        self.rng = random.Random(config.seed)
        self.stats = Stats()

    def _initial_faults(self) -> Faults:
        return Faults(
            latency_ms=self.config.latency_ms,
            throttle_rate=self.config.throttle_rate,
            gone_rate=self.config.gone_rate,
        )

    # Faults -------------------------------------------------------------

    def set_faults(self, **values: Any) -> dict[str, Any]:
        """Change any of the fault fields (see ``faults.FAULT_FIELDS``); return them all.

        ``gone_ids`` and ``throttle_counts`` replace the current values; ``seed``
        reseeds the random draws. Raises ValueError for invalid values.
        """
        clean = parse_fault_update(values)
        with self.lock:
            if "seed" in clean:
                self.rng.seed(clean.pop("seed"))
            for name, value in clean.items():
                setattr(self.faults, name, value)
            if {"rate_limit", "rate_burst"} & set(clean):
                self.faults.tokens = None  # a new bucket starts full
            return self.faults.as_dict()

    def faults_snapshot(self) -> dict[str, Any]:
        """Return the current faults as JSON-ready data."""
        with self.lock:
            return self.faults.as_dict()

    def decide_fault(self, connection_id: str) -> Fault | None:
        """Return the injected fault for one Management API POST, consuming counts."""
        with self.lock:
            return self.faults.decide(connection_id, self.rng)

    def is_gone_id(self, connection_id: str) -> bool:
        """True if ``connection_id`` is listed in ``gone_ids``."""
        with self.lock:
            return connection_id in self.faults.gone_ids

    async def apply_latency(self) -> None:
        """Sleep for the injected Management API latency, if any."""
        delay = self.faults.latency_ms
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)

    # Connections --------------------------------------------------------

    def register(self, connection: LiveConnection) -> None:
        """Make an open socket reachable through the Management API."""
        # Locked so other threads can list connections while the loop changes them.
        with self.lock:
            self.connections[connection.connection_id] = connection

    def unregister(self, connection_id: str) -> LiveConnection | None:
        """Stop answering for a socket (it is closing); return it if it was registered."""
        with self.lock:
            return self.connections.pop(connection_id, None)

    def connection_ids(self) -> list[str]:
        """Ids of the open sockets (safe to call from any thread)."""
        with self.lock:
            return list(self.connections)

    def add_virtual(self, connection_ids: Iterable[str]) -> int:
        """Register ids that accept messages without a socket; return how many are new."""
        added = 0
        with self.lock:
            for connection_id in connection_ids:
                if connection_id not in self.virtual:
                    self.virtual[connection_id] = VirtualConnection(connection_id)
                    added += 1
        return added

    def remove_virtual(self, connection_id: str) -> bool:
        """Forget a virtual id; return whether it existed."""
        with self.lock:
            return self.virtual.pop(connection_id, None) is not None

    def lookup(self, connection_id: str) -> LiveConnection | VirtualConnection | None:
        """Return the live socket or virtual connection behind ``connection_id``."""
        live = self.connections.get(connection_id)
        if live is not None:
            return live
        with self.lock:
            return self.virtual.get(connection_id)

    # Statistics ---------------------------------------------------------

    def count(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``name`` (one of ``COUNTER_NAMES``)."""
        with self.lock:
            setattr(self.stats, name, getattr(self.stats, name) + amount)

    def record_delivery(self, connection_id: str, body: bytes) -> None:
        """Note that a Management API POST reached ``connection_id``."""
        with self.lock:
            self.stats.delivered += 1
            self.stats.deliveries_per_connection[connection_id] += 1
            self.stats.last_body[connection_id] = body
            self.stats.last_delivered_at[connection_id] = time.time()

    def deliveries(self, connection_id: str) -> int:
        """How many POSTs were delivered to ``connection_id`` since the last reset."""
        with self.lock:
            return self.stats.deliveries_per_connection.get(connection_id, 0)

    def last_delivered_at(self, connection_id: str) -> float | None:
        """When (``time.time()``) the last POST reached ``connection_id``, if any."""
        with self.lock:
            return self.stats.last_delivered_at.get(connection_id)

    def last_body(self, connection_id: str) -> bytes | None:
        """The last body delivered to ``connection_id``, if any."""
        with self.lock:
            return self.stats.last_body.get(connection_id)

    def snapshot(self, detail: bool = False) -> dict[str, Any]:
        """Return the statistics as JSON-ready data."""
        with self.lock:
            data: dict[str, Any] = {name: getattr(self.stats, name) for name in COUNTER_NAMES}
            data["open_sockets"] = len(self.connections)
            data["virtual_connections"] = len(self.virtual)
            if detail:
                data["deliveries_per_connection"] = dict(self.stats.deliveries_per_connection)
        return data

    def reset(self) -> None:
        """Clear statistics, injected faults and virtual connections.

        Faults go back to none at all, not to the startup values, so a benchmark
        that resets between scenarios starts each one from a clean gateway.
        Open sockets are left alone: they belong to real clients.
        """
        with self.lock:
            self.stats = Stats()
            self.faults = Faults()
            self.rng.seed(self.config.seed)
            self.virtual.clear()

"""Counts every SQL statement a process runs, in Redis (``benchmarks/scale.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

KEY = "bench:statements"


def count_statements(redis_url: str) -> None:
    """Install, on every database connection this process opens, a wrapper counting its
    statements; counts reach Redis every 20 statements and when the count is read."""
    import redis
    from django.db.backends.signals import connection_created

    client: Any = None
    pending = 0

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        nonlocal client, pending
        pending += 1
        if pending >= 20:
            if client is None:
                client = redis.Redis.from_url(redis_url)
            client.incrby(KEY, pending)
            pending = 0
        return execute(sql, params, many, context)

    def installed(sender: Any, connection: Any, **kwargs: Any) -> None:
        if wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(wrapper)

    connection_created.connect(installed, weak=False)

"""The Redis that holds state every process of a deployment shares.

The account's post budget (the rate limiter), channel history and presence live here, so
that every web process and every worker on every host sees the same values. It is
``WEBSOCKETS["redis_url"]`` when given, else the Celery broker's URL (the package already
requires a Redis broker), so a project configures nothing new.
"""

from __future__ import annotations

import os
import threading

import redis
from django.conf import settings

from .conf import app_settings

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def _forget() -> None:
    """A forked child (a prefork worker) must open sockets of its own."""
    global _lock
    _lock = threading.Lock()
    _clients.clear()


os.register_at_fork(after_in_child=_forget)


def redis_url() -> str:
    """``WEBSOCKETS["redis_url"]``, else ``CELERY_BROKER_URL``."""
    return str(app_settings.redis_url or getattr(settings, "CELERY_BROKER_URL", "") or "")


def connection() -> redis.Redis:
    """The process's client for :func:`redis_url`, made once per URL (thread-safe)."""
    url = redis_url()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(
            "Shared state needs Redis: set WEBSOCKETS['redis_url'] or a redis:// "
            f"CELERY_BROKER_URL (got {url!r})."
        )
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
            )
            _clients[url] = client
        return client

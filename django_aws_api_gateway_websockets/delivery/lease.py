"""Leases on delivery work (a send's planning, each batch): claim, renew, queue, expire.

A unit of work is held by a lease: by the broker while its task message waits (no owner),
then by the task running it, which renews the lease while it works. Whatever is lost — the
worker, the broker's messages, the worker's database connection — the lease stops being
renewed, expires, and recovery queues the work again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from ..conf import app_settings


def expiry(wait: float | None = None) -> datetime:
    """When a lease taken now expires; ``wait``: seconds the work waits first (a countdown)."""
    return timezone.now() + timedelta(seconds=app_settings.delivery_lease_seconds + (wait or 0))


def expired() -> Q:
    """Work nobody holds any more (rows from before leases have no expiry)."""
    return Q(lease_expires__lt=timezone.now()) | Q(lease_expires=None)


def claim(work: QuerySet, owner: str) -> bool:
    """Take the lease on ``work`` for ``owner``: when queued, expired, or already its own."""
    available = Q(lease_owner="") | Q(lease_owner=owner) | expired()
    return bool(work.filter(available).update(lease_owner=owner, lease_expires=expiry()))


def held_by(owner: str) -> dict[str, Any]:
    """UPDATE values that renew ``owner``'s lease (apply with a ``lease_owner`` filter)."""
    return {"lease_owner": owner, "lease_expires": expiry()}


def queued(wait: float | None = None) -> dict[str, object]:
    """UPDATE values handing work to the broker: no owner, due within a lease after ``wait``."""
    return {"lease_owner": "", "lease_expires": expiry(wait)}


def released() -> dict[str, object]:
    """UPDATE values for finished work: nobody holds it, nothing to recover."""
    return {"lease_owner": "", "lease_expires": None}

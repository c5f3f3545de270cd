"""Periodic cleanup, shared by the beat tasks and the management commands.

Every function deletes in bounded batches by primary key (``models.deletion``), so no
statement holds locks for long however many rows are due, and running it twice removes
nothing more.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from . import signals
from .conf import app_settings
from .models import (
    ConnectionRateLimit,
    DeliveryReport,
    WebSocketSession,
    WebSocketToken,
    mark_gone,
)
from .models.deletion import delete_in_batches


def delete_stale_sessions() -> int:
    """Sessions marked disconnected, and those older than API Gateway's connection limit.

    ``$disconnect`` is best-effort in AWS, so age is the backstop for rows it never reached:
    those are marked gone first (``mark_gone``: their signals and presence), then deleted.
    """
    cutoff = timezone.now() - timedelta(seconds=app_settings.connection_max_age_seconds)
    mark_gone(WebSocketSession.objects.filter(created_on__lt=cutoff), signals.REASON_EXPIRED)
    stale = WebSocketSession.objects.filter(Q(connected=False) | Q(created_on__lt=cutoff))
    return delete_in_batches(stale, "stale WebSocket sessions")


def token_cleanup_age(max_age_seconds: int | None = None) -> int:
    """The age past which unused tokens are deleted: ``max_age_seconds`` (default
    ``token_max_age_seconds``), but never less than ``token_expiry_seconds``, so that a token
    still valid for connecting is never deleted (as 4.x's command made sure)."""
    age = app_settings.token_max_age_seconds if max_age_seconds is None else max_age_seconds
    return max(age, app_settings.token_expiry_seconds)


def delete_expired_tokens(max_age_seconds: int | None = None) -> int:
    """Connect tokens that were used, or are older than ``token_cleanup_age(max_age_seconds)``."""
    return WebSocketToken.cleanup_expired(token_cleanup_age(max_age_seconds))


def delete_old_rate_limits(days: int | None = None) -> int:
    """Connection attempts older than ``days``."""
    age = app_settings.rate_limit_retention_days if days is None else days
    return ConnectionRateLimit.cleanup_old_records(age)


def delete_old_reports(days: int | None = None) -> int:
    """Finished delivery reports older than ``days``."""
    age = app_settings.report_retention_days if days is None else days
    cutoff = timezone.now() - timedelta(days=age)
    old = DeliveryReport.objects.filter(finished__isnull=False, created_on__lt=cutoff)
    return delete_in_batches(old, "old delivery reports")

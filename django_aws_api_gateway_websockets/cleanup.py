"""Periodic cleanup, shared by the beat tasks and the management commands.

Every function deletes in bounded batches by primary key, so no statement holds locks for
long however many rows are due, and running it twice removes nothing more.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from .conf import app_settings
from .models import ConnectionRateLimit, DeliveryReport, WebSocketSession, WebSocketToken

logger = logging.getLogger(__name__)


def delete_in_batches(queryset: QuerySet, what: str, batch_size: int | None = None) -> int:
    """Delete the rows of ``queryset`` ``batch_size`` at a time; return how many went."""
    size = batch_size or app_settings.CLEANUP_BATCH_SIZE
    model = queryset.model
    total = 0
    # One statement a batch: DELETE ... WHERE pk IN (SELECT pk ... LIMIT size).
    batch = model._default_manager.filter(pk__in=queryset.values("pk")[:size])
    while deleted := batch.delete()[1].get(model._meta.label, 0):
        total += deleted
        if total % (size * 10) == 0:
            logger.info("Deleting %s: %d so far", what, total)
    logger.info("Deleted %d %s", total, what)
    return total


def delete_stale_sessions() -> int:
    """Sessions marked disconnected, and those older than API Gateway's connection limit.

    ``$disconnect`` is best-effort in AWS, so age is the backstop for rows it never reached.
    """
    cutoff = timezone.now() - timedelta(seconds=app_settings.CONNECTION_MAX_AGE_SECONDS)
    stale = WebSocketSession.objects.filter(Q(connected=False) | Q(created_on__lt=cutoff))
    return delete_in_batches(stale, "stale WebSocket sessions")


def delete_expired_tokens(max_age_seconds: int | None = None) -> int:
    """Connect tokens that were used or are older than ``max_age_seconds``."""
    age = app_settings.TOKEN_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
    cutoff = timezone.now() - timedelta(seconds=age)
    expired = WebSocketToken.objects.filter(Q(used=True) | Q(created_at__lt=cutoff))
    return delete_in_batches(expired, "used or expired WebSocket tokens")


def delete_old_rate_limits(days: int | None = None) -> int:
    """Connection attempts older than ``days``."""
    age = app_settings.RATE_LIMIT_RETENTION_DAYS if days is None else days
    old = ConnectionRateLimit.objects.filter(attempt_time__lt=timezone.now() - timedelta(days=age))
    return delete_in_batches(old, "old connection attempts")


def delete_old_reports(days: int | None = None) -> int:
    """Finished delivery reports older than ``days``."""
    age = app_settings.REPORT_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=age)
    old = DeliveryReport.objects.filter(finished__isnull=False, created_on__lt=cutoff)
    return delete_in_batches(old, "old delivery reports")

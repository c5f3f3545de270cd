"""Split a send's recipients into batches, by keyset pagination, and queue each batch."""

from __future__ import annotations

import logging
import uuid

from django.core import signing
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import metrics
from ..conf import app_settings
from ..models import DeliveryBatch, DeliveryReport, WebSocketSession
from . import QueueBatch, lease
from .settle import finish_if_done

logger = logging.getLogger(__name__)


def plan(report_id: str | uuid.UUID, owner: str, queue_batch: QueueBatch) -> None:
    """Create the batches of one send and queue their first attempt.

    Runs under the report's lease, renewed with each page; resumable: the cursor moves in
    the same transaction that creates each batch, so a takeover carries on from there.
    """
    unplanned = DeliveryReport.objects.filter(pk=report_id, planned=False)
    if not lease.claim(unplanned, owner):
        return
    report = DeliveryReport.objects.get(pk=report_id)
    mine = DeliveryReport.objects.filter(pk=report.pk, lease_owner=owner)
    if report.started is None:
        mine.filter(started=None).update(started=timezone.now())
    try:
        sessions = (
            WebSocketSession.objects.selected(report.selection)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    except signing.BadSignature as exc:
        # No key will ever verify it (the key it was signed with is gone, or it was forged):
        # finish it as failed instead of leaving it to recovery, which would retry forever.
        give_up(report, owner, str(exc))
        return
    size = app_settings.delivery_batch_size
    cursor = report.plan_cursor
    while True:
        pks = list(sessions.filter(pk__gt=cursor)[:size])
        if not pks:
            break
        with transaction.atomic():
            renewed = mine.update(
                plan_cursor=pks[-1],
                recipients=F("recipients") + len(pks),
                batches_pending=F("batches_pending") + 1,
                **lease.held_by(owner),
            )
            if not renewed:
                logger.warning("Lost the lease on planning %s; leaving it to recovery", report.pk)
                return
            batch = DeliveryBatch.objects.create(
                report=report, session_ids=pks, pending=pks, **lease.queued()
            )
        queue_batch(batch.pk, 0, None)
        metrics.recipients_planned(len(pks), "delivery")
        cursor = pks[-1]
        if len(pks) < size:
            break
    mine.update(planned=True, **lease.released())
    finish_if_done(report.pk)
    logger.info("Planned delivery %s (%s)", report.pk, report.description)


def give_up(report: DeliveryReport, owner: str, reason: str) -> None:
    """Finish a send none of whose recipients can be resolved, recording why."""
    now = timezone.now()
    DeliveryReport.objects.filter(pk=report.pk, lease_owner=owner).update(
        planned=True, finished=now, error=reason[:255], **lease.released()
    )
    logger.error("Delivery %s failed before planning: %s", report.pk, reason)

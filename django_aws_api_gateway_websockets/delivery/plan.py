"""Split a send's recipients into batches, by keyset pagination, and queue each batch."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..conf import app_settings
from ..models import DeliveryBatch, DeliveryReport, WebSocketSession
from . import QueueBatch
from .settle import finish_if_done

logger = logging.getLogger(__name__)


def plan(report_id: str | uuid.UUID, queue_batch: QueueBatch) -> None:
    """Create the batches of one send and queue their first attempt.

    Resumable: the cursor moves in the same transaction that creates each batch.
    """
    report = DeliveryReport.objects.filter(pk=report_id).first()
    if report is None or report.planned:
        return
    if report.started is None:
        DeliveryReport.objects.filter(pk=report.pk, started=None).update(started=timezone.now())
    sessions = (
        WebSocketSession.objects.selected(report.selection)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    size = app_settings.delivery_batch_size
    cursor = report.plan_cursor
    while True:
        pks = list(sessions.filter(pk__gt=cursor)[:size])
        if not pks:
            break
        with transaction.atomic():
            batch = DeliveryBatch.objects.create(report=report, session_ids=pks, pending=pks)
            DeliveryReport.objects.filter(pk=report.pk).update(
                plan_cursor=pks[-1],
                recipients=F("recipients") + len(pks),
                batches_pending=F("batches_pending") + 1,
            )
        queue_batch(batch.pk, 0, None)
        cursor = pks[-1]
        if len(pks) < size:
            break
    DeliveryReport.objects.filter(pk=report.pk).update(planned=True)
    finish_if_done(report.pk)
    logger.info("Planned delivery %s (%s)", report.pk, report.description)

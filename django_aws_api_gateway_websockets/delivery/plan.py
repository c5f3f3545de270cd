"""Split a send's recipients into batches, by keyset pagination, and queue each batch.

Planning starts on the fast lane, where nothing waits behind bulk batches. A send that fits
in one batch is posted right there (``post_now``); a larger one queues its first batch on the
bulk lane and hands the rest of its planning over to that lane (``continue_planning``), so a
fast-lane task never takes longer for a million recipients than for one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.core import signing
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from .. import metrics
from ..conf import app_settings
from ..models import DeliveryBatch, DeliveryReport, WebSocketSession
from . import BULK, REALTIME, QueueBatch, QueuePlan, lease
from .settle import finish_if_done

logger = logging.getLogger(__name__)


def plan(
    report_id: str | uuid.UUID,
    owner: str,
    queue_batch: QueueBatch,
    *,
    lane: str = BULK,
    continue_planning: QueuePlan | None = None,
    post_now: Callable[[DeliveryBatch], None] | None = None,
) -> None:
    """Create the batches of one send and queue their first attempt.

    Runs under the report's lease, renewed with each page; resumable: the cursor moves in
    the same transaction that creates each batch, so a takeover carries on from there. On the
    fast lane (``lane=REALTIME``) a send of one batch is handed to ``post_now`` and a larger
    one to ``continue_planning`` (on the bulk lane) after its first batch.
    """
    unplanned = DeliveryReport.objects.filter(pk=report_id, planned=False)
    if not lease.claim(unplanned, owner):
        return
    report = DeliveryReport.objects.get(pk=report_id)
    mine = DeliveryReport.objects.filter(pk=report.pk, lease_owner=owner)
    fast = lane == REALTIME and continue_planning is not None
    if fast and report.plan_cursor:
        hand_over(mine, report.pk, continue_planning)  # known to be large: a takeover
        return
    # Set with the first page's update below, or here when there is nothing to page through.
    started = {"started": timezone.now()} if report.started is None else {}
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
        # One row more than a batch tells whether another page follows, without asking.
        page = list(sessions.filter(pk__gt=cursor)[: size + 1])
        pks, more = page[:size], len(page) > size
        if not pks:
            break
        # The whole send is this batch: it is posted here, under this task's lease.
        now = fast and post_now is not None and not more and not report.plan_cursor
        with transaction.atomic():
            renewed = mine.update(
                plan_cursor=pks[-1],
                recipients=F("recipients") + len(pks),
                batches_pending=F("batches_pending") + 1,
                **started,
                **({"planned": True, **lease.released()} if not more else lease.held_by(owner)),
            )
            if not renewed:
                logger.warning("Lost the lease on planning %s; leaving it to recovery", report.pk)
                return
            batch = DeliveryBatch.objects.create(
                report=report,
                session_ids=pks,
                pending=pks,
                **(lease.held_by(owner) if now else lease.queued()),
            )
        started = {}
        metrics.recipients_planned(len(pks), lane)
        cursor = pks[-1]
        if not more:
            if now and post_now is not None:
                post_now(batch)
            else:
                queue_batch(batch.pk, 0, None, BULK)
            logger.info("Planned delivery %s (%s)", report.pk, report.description)
            return
        queue_batch(batch.pk, 0, None, BULK)
        if fast:
            hand_over(mine, report.pk, continue_planning)
            return
    mine.update(planned=True, **started, **lease.released())
    finish_if_done(report.pk)
    logger.info("Planned delivery %s (%s)", report.pk, report.description)


def give_up(report: DeliveryReport, owner: str, reason: str) -> None:
    """Finish a send none of whose recipients can be resolved, recording why."""
    now = timezone.now()
    DeliveryReport.objects.filter(pk=report.pk, lease_owner=owner).update(
        planned=True, finished=now, error=reason[:255], **lease.released()
    )
    logger.error("Delivery %s failed before planning: %s", report.pk, reason)


def hand_over(mine: QuerySet, report_id: uuid.UUID, continue_planning: QueuePlan | None) -> None:
    """Leave the rest of a large send's planning to the bulk lane (queued, no owner)."""
    if continue_planning is not None and mine.update(**lease.queued()):
        continue_planning(str(report_id))

"""Record one attempt's outcomes exactly once, and finish a send when its last batch is done."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..aws.outcomes import Outcome
from ..models import DeliveryBatch, DeliveryReport, WebSocketSession
from . import QueueBatch, retry

logger = logging.getLogger(__name__)


def settle(
    batch: DeliveryBatch, attempt: int, outcomes: dict[int, Outcome], queue_batch: QueueBatch
) -> None:
    """Record one attempt's outcomes exactly once and queue the retry of what is left.

    The batch row is claimed by its attempt number, so a duplicate task that posted the same
    attempt records nothing.
    """
    pending = [pk for pk, outcome in outcomes.items() if outcome is Outcome.RETRY]
    if pending and retry.exhausted(attempt):
        logger.warning(
            "Batch %s of delivery %s: %d recipients still failing after %d attempts",
            batch.pk,
            batch.report_id,
            len(pending),
            attempt + 1,
        )
        outcomes.update(dict.fromkeys(pending, Outcome.FAILED))
        pending = []
    counts = Counter(outcomes.values())
    gone = [pk for pk, outcome in outcomes.items() if outcome is Outcome.GONE]
    with transaction.atomic():
        claimed = DeliveryBatch.objects.filter(pk=batch.pk, attempt=attempt, done=False).update(
            attempt=attempt + 1,
            pending=pending,
            done=not pending,
            delivered=F("delivered") + counts[Outcome.DELIVERED],
            gone=F("gone") + counts[Outcome.GONE],
            failed=F("failed") + counts[Outcome.FAILED],
            updated_on=timezone.now(),
        )
        if not claimed:
            return
        if gone:
            WebSocketSession.objects.filter(pk__in=gone, connected=True).update(connected=False)
        DeliveryReport.objects.filter(pk=batch.report_id).update(
            delivered=F("delivered") + counts[Outcome.DELIVERED],
            gone=F("gone") + counts[Outcome.GONE],
            failed=F("failed") + counts[Outcome.FAILED],
            retried=F("retried") + len(pending),
            batches_pending=F("batches_pending") - (0 if pending else 1),
        )
    if pending:
        queue_batch(batch.pk, attempt + 1, retry.backoff(attempt))
    else:
        finish_if_done(batch.report_id)


def finish_if_done(report_id: Any) -> None:
    DeliveryReport.objects.filter(
        pk=report_id, planned=True, batches_pending=0, finished=None
    ).update(finished=timezone.now())

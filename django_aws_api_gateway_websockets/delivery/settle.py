"""Record a batch attempt's outcomes as they come, and finish a send when its last batch is.

Outcomes are written while the attempt runs (every ``delivery_progress_every`` posts, and at
least at each lease renewal), each write renewing the batch's lease and allowed only to the
lease's owner: a worker that lost its lease records nothing, and a takeover repeats only
the posts made since the last write.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import metrics, signals
from ..aws.outcomes import Outcome
from ..conf import app_settings
from ..models import DeliveryBatch, DeliveryReport, WebSocketSession, mark_gone
from . import BULK, QueueBatch, lease, retry

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another task took this work over; stop without recording anything more."""


class Progress:
    """The outcomes of one attempt of one batch, recorded under the batch's lease."""

    def __init__(self, batch: DeliveryBatch, attempt: int, owner: str, lane: str = BULK) -> None:
        self.batch = batch
        self.attempt = attempt
        self.owner = owner
        self.lane = lane
        self.pending = list(batch.pending)
        self.retry: list[int] = []  # real errors: bounded by delivery_max_attempts
        self.throttled: list[int] = []  # the budget was spent: bounded by the deadline
        self.unrecorded: dict[int, Outcome] = {}
        self.recorded_at = time.monotonic()
        # Read once per attempt: ``due`` is asked after every post.
        self.record_every = app_settings.delivery_progress_every
        self.renew_every = app_settings.delivery_lease_renew_seconds

    def add(self, pk: int, outcome: Outcome) -> None:
        if outcome is Outcome.RETRY:
            self.retry.append(pk)
        elif outcome is Outcome.THROTTLED:
            self.throttled.append(pk)
        else:
            self.unrecorded[pk] = outcome

    def due(self) -> bool:
        """Whether enough has happened, or enough time passed, to write progress now."""
        return (
            len(self.unrecorded) >= self.record_every
            or time.monotonic() - self.recorded_at >= self.renew_every
        )

    def checkpoint(self) -> None:
        """Record the settled outcomes so far and renew the lease (``LeaseLost`` if gone)."""
        self._record(**lease.held_by(self.owner))

    def finish(self, queue_batch: QueueBatch) -> None:
        """Record the rest; queue the retry of what may yet succeed, or close the batch.

        Recipients that met real errors fail once the batch has had ``delivery_max_attempts``
        attempts with errors; throttled ones only once the send is older than
        ``delivery_deadline_seconds`` (throttling says nothing about the recipient).
        """
        deadline = timedelta(seconds=app_settings.delivery_deadline_seconds)
        late = timezone.now() >= self.batch.report.created_on + deadline
        errors = bool(self.retry)
        if self.retry and (late or retry.exhausted(self.batch.failed_attempts)):
            self.give_up(self.retry, "still failing")
            self.retry = []
        if self.throttled and late:
            self.give_up(self.throttled, "throttled past the delivery deadline")
            self.throttled = []
        retry_now = self.retry + self.throttled
        countdown = None
        if retry_now:
            countdown = (
                retry.backoff(self.batch.failed_attempts) if self.retry else retry.throttled()
            )
        self.retry = retry_now
        self._record(
            attempt=self.attempt + 1,
            done=not retry_now,
            failed_attempts=F("failed_attempts") + int(errors),
            **(lease.queued(countdown) if retry_now else lease.released()),
            report_changes={
                "retried": F("retried") + len(retry_now),
                "batches_pending": F("batches_pending") - (0 if retry_now else 1),
            },
        )
        if retry_now:
            queue_batch(self.batch.pk, self.attempt + 1, countdown, self.lane)
        else:
            finish_if_done(self.batch.report_id)

    def give_up(self, pks: list[int], why: str) -> None:
        logger.warning(
            "Batch %s of delivery %s: %d recipients failed, %s after %d attempts",
            self.batch.pk,
            self.batch.report_id,
            len(pks),
            why,
            self.attempt + 1,
        )
        self.unrecorded.update(dict.fromkeys(pks, Outcome.FAILED))

    def _record(self, report_changes: dict[str, Any] | None = None, **batch_changes: Any) -> None:
        settled, counts = self.unrecorded, Counter(self.unrecorded.values())
        self.pending = [pk for pk in self.pending if pk not in settled]
        totals = {
            "delivered": F("delivered") + counts[Outcome.DELIVERED],
            "gone": F("gone") + counts[Outcome.GONE],
            "failed": F("failed") + counts[Outcome.FAILED],
        }
        gone = [pk for pk, outcome in settled.items() if outcome is Outcome.GONE]
        with transaction.atomic():
            claimed = DeliveryBatch.objects.filter(
                pk=self.batch.pk, attempt=self.attempt, done=False, lease_owner=self.owner
            ).update(
                pending=self.retry if "done" in batch_changes else self.pending,
                updated_on=timezone.now(),
                **totals,
                **batch_changes,
            )
            if not claimed:
                raise LeaseLost(f"batch {self.batch.pk} attempt {self.attempt}")
            if gone:
                mark_gone(WebSocketSession.objects.filter(pk__in=gone), signals.REASON_GONE)
            DeliveryReport.objects.filter(pk=self.batch.report_id).update(
                **totals, **(report_changes or {})
            )
        metrics.outcomes_settled({outcome.value: n for outcome, n in counts.items()})
        if "done" in batch_changes:
            metrics.outcomes_settled({Outcome.RETRY.value: len(self.retry)})
        self.unrecorded = {}
        self.recorded_at = time.monotonic()


def finish_if_done(report_id: Any) -> None:
    if DeliveryReport.objects.filter(
        pk=report_id, planned=True, batches_pending=0, finished=None
    ).update(finished=timezone.now()):
        signals.send_after_commit(signals.delivery_finished, DeliveryReport, report_id=report_id)

"""The worker's side of a send: plan recipients into batches, post each batch, settle outcomes.

Database state, not the broker, is the source of truth: a batch row records which sessions
are still owed the message and which attempt is due, so a task delivered twice (after a
worker was lost) does its work once, and a task lost between two steps is found again by
``resume_stalled``.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .clients import management_poster
from .conf import app_settings
from .errors import Outcome, classify, error_code
from .models import DeliveryBatch, DeliveryReport, WebSocketSession, management_endpoint
from .selection import resolve
from .sending import run_after_commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    pk: int
    connection_id: str
    api_id: str | None
    stage: str | None
    created_on: datetime


def plan(report_id: str | uuid.UUID) -> None:
    """Split a send's recipients into batches by keyset pagination and queue each batch.

    Resumable: the cursor moves in the same transaction that creates each batch.
    """
    report = DeliveryReport.objects.filter(pk=report_id).first()
    if report is None or report.planned:
        return
    if report.started is None:
        DeliveryReport.objects.filter(pk=report.pk, started=None).update(started=timezone.now())
    sessions = resolve(report.selection).order_by("pk").values_list("pk", flat=True)
    size = app_settings.DELIVERY_BATCH_SIZE
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
        queue_batch(batch.pk, 0)
        cursor = pks[-1]
        if len(pks) < size:
            break
    DeliveryReport.objects.filter(pk=report.pk).update(planned=True)
    finish_if_done(report.pk)
    logger.info("Planned delivery %s (%s)", report.pk, report.description)


def queue_batch(batch_id: int, attempt: int, countdown: float | None = None) -> None:
    from .tasks import deliver_batch

    run_after_commit(lambda: deliver_batch.apply_async((batch_id, attempt), countdown=countdown))


def deliver(batch_id: int, attempt: int) -> None:
    """Post one attempt of one batch and settle its outcomes.

    A message for an attempt that is no longer due (a duplicate) does nothing.
    """
    batch = (
        DeliveryBatch.objects.filter(pk=batch_id, attempt=attempt, done=False)
        .select_related("report")
        .first()
    )
    if batch is None:
        return
    recipients = list(
        Recipient(*row)
        for row in WebSocketSession.objects.filter(pk__in=batch.pending, connected=True)
        .values_list(
            "pk", "connection_id", "api_gateway__api_id", "api_gateway__stage_name", "created_on"
        )
        .iterator()
    )
    outcomes = post_all(recipients, batch.report.payload, attempt)
    # Sessions that disconnected after planning are as gone as a 410 says.
    found = {r.pk for r in recipients}
    outcomes.update({pk: Outcome.GONE for pk in batch.pending if pk not in found})
    settle(batch, attempt, outcomes)


def post_all(recipients: list[Recipient], payload: str, attempt: int) -> dict[int, Outcome]:
    """Post ``payload`` to every recipient with bounded concurrency; return each outcome."""
    data = payload.encode("utf-8")
    grace = timezone.now() - timedelta(seconds=app_settings.GONE_GRACE_SECONDS)
    # One poster per gateway stage of this batch, looked up once rather than per post.
    posters = {
        (r.api_id, r.stage): management_poster(management_endpoint(r.api_id, r.stage))
        for r in recipients
        if r.api_id is not None and r.stage is not None
    }

    def post(recipient: Recipient) -> Outcome:
        outcome = post_one(recipient, posters.get((recipient.api_id, recipient.stage)), data)
        # API Gateway answers 410 until $connect has returned: give a new connection a moment.
        if outcome is Outcome.GONE and attempt == 0 and recipient.created_on > grace:
            return Outcome.RETRY
        return outcome

    if len(recipients) <= 1:
        return {r.pk: post(r) for r in recipients}
    return dict(zip((r.pk for r in recipients), executor().map(post, recipients), strict=True))


def post_one(recipient: Recipient, poster: Any, data: bytes) -> Outcome:
    if poster is None:
        logger.warning("Session %s has no API Gateway; cannot deliver", recipient.connection_id)
        return Outcome.FAILED
    try:
        poster.post_to_connection(Data=data, ConnectionId=recipient.connection_id)
    except Exception as exc:
        outcome = classify(exc)
        if outcome is Outcome.FAILED:
            logger.warning(
                "Delivery to %s failed for good on gateway %s stage %s: %s (%s)",
                recipient.connection_id,
                recipient.api_id,
                recipient.stage,
                error_code(exc),
                exc,
            )
        return outcome
    return Outcome.DELIVERED


def settle(batch: DeliveryBatch, attempt: int, outcomes: dict[int, Outcome]) -> None:
    """Record one attempt's outcomes exactly once and queue the retry of what is left."""
    retry = [pk for pk, outcome in outcomes.items() if outcome is Outcome.RETRY]
    if retry and attempt + 1 >= app_settings.DELIVERY_MAX_ATTEMPTS:
        logger.warning(
            "Batch %s of delivery %s: %d recipients still failing after %d attempts",
            batch.pk,
            batch.report_id,
            len(retry),
            attempt + 1,
        )
        outcomes.update(dict.fromkeys(retry, Outcome.FAILED))
        retry = []
    counts = Counter(outcomes.values())
    gone = [pk for pk, outcome in outcomes.items() if outcome is Outcome.GONE]
    with transaction.atomic():
        claimed = DeliveryBatch.objects.filter(pk=batch.pk, attempt=attempt, done=False).update(
            attempt=attempt + 1,
            pending=retry,
            done=not retry,
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
            retried=F("retried") + len(retry),
            batches_pending=F("batches_pending") - (0 if retry else 1),
        )
    if retry:
        queue_batch(batch.pk, attempt + 1, countdown=backoff(attempt))
    else:
        finish_if_done(batch.report_id)


def backoff(attempt: int) -> float:
    """Seconds before retry ``attempt + 1``: exponential, capped, with jitter."""
    ceiling = min(
        app_settings.DELIVERY_RETRY_MAX_SECONDS,
        app_settings.DELIVERY_RETRY_BASE_SECONDS * 2**attempt,
    )
    return random.uniform(ceiling / 2, ceiling)


def finish_if_done(report_id: Any) -> None:
    DeliveryReport.objects.filter(
        pk=report_id, planned=True, batches_pending=0, finished=None
    ).update(finished=timezone.now())


def resume_stalled() -> int:
    """Queue again the work a lost message left behind; return how many items were resumed."""
    cutoff = timezone.now() - timedelta(seconds=app_settings.DELIVERY_STALL_SECONDS)
    resumed = 0
    for batch_id, attempt in DeliveryBatch.objects.filter(
        done=False, updated_on__lt=cutoff
    ).values_list("pk", "attempt"):
        DeliveryBatch.objects.filter(pk=batch_id).update(updated_on=timezone.now())
        queue_batch(batch_id, attempt)
        resumed += 1
    from .tasks import plan_delivery

    for report_id in DeliveryReport.objects.filter(
        planned=False, created_on__lt=cutoff
    ).values_list("pk", flat=True):
        run_after_commit(lambda report_id=report_id: plan_delivery.delay(str(report_id)))
        resumed += 1
    if resumed:
        logger.warning("Resumed %d stalled delivery items", resumed)
    return resumed


_executor: ThreadPoolExecutor | None = None
_executor_size = 0
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The process's posting threads, created lazily so that prefork children own theirs."""
    global _executor, _executor_size
    size = app_settings.DELIVERY_CONCURRENCY
    with _executor_lock:
        if _executor is None or _executor_size != size:
            if _executor is not None:
                _executor.shutdown(wait=False)
            _executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="ws-delivery")
            _executor_size = size
        return _executor

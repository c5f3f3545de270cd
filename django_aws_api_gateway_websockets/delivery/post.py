"""The worker's side of one batch attempt: load the recipients, post to each, settle."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from ..aws.clients import management_poster
from ..aws.factory import management_endpoint
from ..aws.outcomes import Outcome, classify, error_code
from ..conf import app_settings
from ..models import DeliveryBatch, WebSocketSession
from . import QueueBatch
from .settle import settle

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    pk: int
    connection_id: str
    api_id: str | None
    stage: str | None
    created_on: datetime


def deliver(batch_id: int, attempt: int, queue_batch: QueueBatch) -> None:
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
    settle(batch, attempt, outcomes, queue_batch)


def post_all(recipients: list[Recipient], payload: str, attempt: int) -> dict[int, Outcome]:
    """Post ``payload`` to every recipient with bounded concurrency; return each outcome."""
    data = payload.encode("utf-8")
    grace = timezone.now() - timedelta(seconds=app_settings.gone_grace_seconds)
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


_executor: ThreadPoolExecutor | None = None
_executor_size = 0
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The process's posting threads, created lazily so that prefork children own theirs."""
    global _executor, _executor_size
    size = app_settings.delivery_concurrency
    with _executor_lock:
        if _executor is None or _executor_size != size:
            if _executor is not None:
                _executor.shutdown(wait=False)
            _executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="ws-delivery")
            _executor_size = size
        return _executor

"""The worker's side of one batch attempt: load the recipients, post to each, settle."""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.utils import timezone

from .. import metrics, tracing
from ..aws.clients import management_poster
from ..aws.outcomes import Outcome, classify, error_code, for_recipient
from ..boto3_factory import is_valid_api_id, management_endpoint
from ..conf import app_settings
from ..models import DeliveryBatch, WebSocketSession
from . import BULK, QueueBatch, budget, lease
from .settle import LeaseLost, Progress

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    pk: int
    connection_id: str
    api_id: str | None
    stage: str | None
    created_on: datetime


# Posts a throttled recipient gets within one attempt, each after the budget let it go.
THROTTLED_TRIES = 3


def deliver(
    batch_id: int,
    attempt: int,
    owner: str,
    queue_batch: QueueBatch,
    grace_seconds: float,
    lane: str = BULK,
) -> None:
    """Post one attempt of one batch under its lease, recording outcomes as they come.

    A message for an attempt that is no longer due, or for a batch another task holds,
    does nothing. ``grace_seconds``: a 410 for a connection younger than this is retried.
    ``lane``: where the batch's retries are queued.
    """
    due = DeliveryBatch.objects.filter(pk=batch_id, attempt=attempt, done=False)
    if not lease.claim(due, owner):
        return
    batch = DeliveryBatch.objects.select_related("report").get(pk=batch_id)
    deliver_held(batch, attempt, owner, queue_batch, grace_seconds, lane)


def deliver_held(
    batch: DeliveryBatch,
    attempt: int,
    owner: str,
    queue_batch: QueueBatch,
    grace_seconds: float,
    lane: str = BULK,
) -> None:
    """``deliver`` for a batch (with its report) whose lease ``owner`` already holds."""
    recipients = list(
        Recipient(*row)
        for row in WebSocketSession.objects.filter(pk__in=batch.pending, connected=True)
        .values_list(
            "pk", "connection_id", "api_gateway__api_id", "api_gateway__stage_name", "created_on"
        )
        .iterator()
    )
    if attempt == 0:
        metrics.queue_waited((timezone.now() - batch.report.created_on).total_seconds(), lane)
    progress = Progress(batch, attempt, owner, lane)
    # Sessions that disconnected after planning are as gone as a 410 says.
    found = {r.pk for r in recipients}
    for pk in batch.pending:
        if pk not in found:
            progress.add(pk, Outcome.GONE)
    try:
        post_all(recipients, batch.report.payload, attempt, grace_seconds, progress)
        progress.finish(queue_batch)
    except LeaseLost as lost:
        logger.warning("Lost the lease on %s; another worker carries on", lost)


def post_all(
    recipients: list[Recipient],
    payload: str,
    attempt: int,
    grace_seconds: float,
    progress: Progress,
) -> None:
    """Post ``payload`` to every recipient with bounded concurrency, adding each outcome to
    ``progress`` and writing it whenever due (which renews the lease, even while posts hang).
    """
    data = payload.encode("utf-8")
    grace = timezone.now() - timedelta(seconds=grace_seconds)
    # One poster per gateway stage of this batch, looked up once rather than per post.
    posters: dict[tuple[str | None, str | None], Any] = {
        (r.api_id, r.stage): management_poster(management_endpoint(r.api_id, r.stage))
        for r in recipients
        # A malformed id (saved before ids were validated) gets no poster: failed, not sent.
        if is_valid_api_id(r.api_id) and r.stage is not None
    }

    # Every post draws from its account's budget, shared with every other worker.
    budgets = {key: budget.for_poster(poster) for key, poster in posters.items()}
    # Each post's span is a child of the batch's, also on the posting threads.
    batch_context = tracing.current()

    def post(recipient: Recipient) -> Outcome:
        key = (recipient.api_id, recipient.stage)
        poster, spend = posters.get(key), budgets.get(key)
        outcome = Outcome.THROTTLED  # until a post answers otherwise
        for _ in range(THROTTLED_TRIES):
            if spend is not None:
                spend.take()
            outcome = traced_post(recipient, poster, data, batch_context)
            if outcome is not Outcome.THROTTLED or spend is None:
                break
            spend.throttled()
        return for_recipient(outcome, attempt, young=recipient.created_on > grace)

    if len(recipients) <= 1:
        for recipient in recipients:
            progress.add(recipient.pk, post(recipient))
        return
    results: queue.SimpleQueue[tuple[int, Outcome | BaseException]] = queue.SimpleQueue()

    def report(pk: int, future: Future[Outcome]) -> None:
        if not future.cancelled():
            results.put((pk, future.exception() or future.result()))

    futures = []
    for recipient in recipients:
        future = executor().submit(post, recipient)
        future.add_done_callback(partial(report, recipient.pk))
        futures.append(future)
    try:
        for _ in recipients:
            while True:
                try:
                    pk, outcome = results.get(timeout=progress.renew_every)
                    break
                except queue.Empty:
                    progress.checkpoint()  # posts are hanging: keep the lease meanwhile
            if isinstance(outcome, BaseException):
                raise outcome
            progress.add(pk, outcome)
            if progress.due():
                progress.checkpoint()
    finally:
        for future in futures:
            future.cancel()


def traced_post(recipient: Recipient, poster: Any, data: bytes, parent: Any) -> Outcome:
    """``post_one`` inside a client span, its duration and outcome recorded."""
    attributes = {
        "rpc.system": "aws-api",
        "rpc.service": "ApiGatewayManagementApi",
        "rpc.method": "PostToConnection",
        "websockets.api_id": recipient.api_id or "",
        "websockets.connection_id": recipient.connection_id,
    }
    with tracing.span("PostToConnection", attributes, parent=parent, kind="client") as span:
        started = time.perf_counter()
        outcome = post_one(recipient, poster, data)
        metrics.post_finished(time.perf_counter() - started, outcome.value)
        if outcome is Outcome.THROTTLED:
            metrics.throttled()
        tracing.set_attributes(span, {"websockets.outcome": outcome.value})
    return outcome


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

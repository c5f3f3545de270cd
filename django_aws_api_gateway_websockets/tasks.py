"""Celery tasks, and the only module of the app that talks to Celery.

Every publish names its queue (``WEBSOCKETS["delivery_queue"]``, and the default schedules
``WEBSOCKETS["maintenance_queue"]``), so any Celery app configured from Django settings
routes the app's tasks with no routes of its own. Delivery tasks acknowledge only once done
and are requeued if their worker dies, so a message may run twice; the engine's leases make
a second run harmless, and its recovery task queues again whatever a lost message left.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

from celery import Task, shared_task
from django.core.signals import request_finished
from django.db import InterfaceError, OperationalError, close_old_connections
from kombu.exceptions import OperationalError as BrokerError

from . import cleanup
from .conf import app_settings
from .delivery import enqueue, plan, post, recover, retry
from .models import DeliveryReport
from .models.selections import Selection

logger = logging.getLogger(__name__)

DELIVERY_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 240,
    "time_limit": 300,
    "ignore_result": True,
    "bind": True,
}
# A task whose database went away retries this often before its lease is left to recovery.
DATABASE_RETRIES = 10
DATABASE_ERRORS = (OperationalError, InterfaceError)
# kombu raises its OperationalError for most broker trouble, the socket's own otherwise.
BROKER_ERRORS = (BrokerError, ConnectionError, TimeoutError)


def send(data: Any, selection: Selection) -> DeliveryReport:
    """Record a send in the caller's transaction; publish its planning after commit."""
    report = enqueue.record(data, selection)
    queue_plan(str(report.pk))
    return report


def queue_plan(report_id: str) -> None:
    """Publish a send's planning from the outbox once the caller's transaction commits."""
    release = partial(release_from_outbox, report_id)
    if not enqueue.run_after_commit(release) and plan_delivery.app.conf.task_always_eager:
        # Test case transactions never commit; see ``deliver_deferred_eager_sends``.
        _deferred_eager_sends().append(release)


def release_from_outbox(report_id: str) -> bool:
    return enqueue.release_from_outbox(report_id, partial(publish, plan_delivery, (report_id,)))


def requeue_plan(report_id: str) -> None:
    publish(plan_delivery, (report_id,))


def queue_batch(batch_id: int, attempt: int, countdown: float | None = None) -> None:
    enqueue.run_after_commit(partial(publish, deliver_batch, (batch_id, attempt), countdown))


def publish(task: Task, args: tuple[Any, ...], countdown: float | None = None) -> bool:
    """Hand one message to the broker; False, at once, when it does not answer.

    One connection attempt and no publish retries (Celery's defaults retry for seconds):
    a caller never waits on an outage. What was not published is still held by a lease
    (or waits in the outbox), and the recovery task publishes it later.
    """
    options: dict[str, Any] = {"countdown": countdown, "queue": app_settings.delivery_queue}
    if task.app.conf.task_always_eager:
        task.apply_async(args, **options)
        return True
    try:
        with task.app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)
            task.apply_async(args, producer=producer, retry=False, **options)
    except BROKER_ERRORS as exc:
        logger.warning("Broker unavailable; %s%s left to recovery: %s", task.name, args, exc)
        return False
    return True


def run_owned(task: Task, work: Callable[[str], None]) -> None:
    """Run ``work`` under leases owned by this task (its id, kept across its retries).

    On a database error the connection is dropped and the task retried with backoff;
    when retries run out the lease expires and recovery takes the work over. Eager tasks
    (tests) raise it instead.
    """
    try:
        work(task.request.id or uuid.uuid4().hex)
    except DATABASE_ERRORS as exc:
        if task.request.is_eager:
            raise
        with suppress(*DATABASE_ERRORS):  # already gone: the retry opens a new one
            close_old_connections()
        raise task.retry(
            exc=exc, countdown=retry.backoff(task.request.retries), max_retries=DATABASE_RETRIES
        ) from exc


@shared_task(**DELIVERY_OPTIONS)
def plan_delivery(self: Task, report_id: str) -> None:
    """Resolve a send's recipients into batches and queue them."""
    run_owned(self, lambda owner: plan.plan(report_id, owner, queue_batch))


@shared_task(**DELIVERY_OPTIONS)
def deliver_batch(self: Task, batch_id: int, attempt: int) -> None:
    """Post one attempt of one batch."""
    # The young-connection retry waits for $connect to finish; an eager task cannot wait.
    grace = 0 if self.request.is_eager else app_settings.gone_grace_seconds
    run_owned(self, lambda owner: post.deliver(batch_id, attempt, owner, queue_batch, grace))


@shared_task(**DELIVERY_OPTIONS)
def recover_deliveries(self: Task) -> int:
    """Publish the outbox and take over work whose lease expired (beat, every 15 s)."""
    recovered = 0

    def work(owner: str) -> None:
        nonlocal recovered
        recovered = recover.recover(release_from_outbox, requeue_plan, queue_batch)

    run_owned(self, work)
    return recovered


@shared_task(ignore_result=True)
def resume_stalled_deliveries() -> int:
    """The name of ``recover_deliveries`` in schedules created by earlier versions."""
    return recover_deliveries()


@shared_task(ignore_result=True)
def cleanup_sessions() -> int:
    return cleanup.delete_stale_sessions()


@shared_task(ignore_result=True)
def cleanup_tokens() -> int:
    return cleanup.delete_expired_tokens()


@shared_task(ignore_result=True)
def cleanup_rate_limits() -> int:
    return cleanup.delete_old_rate_limits()


@shared_task(ignore_result=True)
def cleanup_delivery_reports() -> int:
    return cleanup.delete_old_reports()


@shared_task(ignore_result=True)
def send_presence_count(channel: str) -> None:
    """The trailing presence count of a large channel (``channels.presence.announce``)."""
    from .channels.presence import send_count  # the channels API sends through this module

    send_count(channel)


def queue_presence_count(channel: str, countdown: float) -> None:
    publish(send_presence_count, (channel,), countdown)


# Eager mode inside test cases: a send made inside a request's atomic block
# (ATOMIC_REQUESTS) waits for a commit that the test's own transaction never makes.
# When the request is over, such sends are published if they still exist; a send whose
# block rolled back is gone from the database, so its release finds nothing to publish.
_eager = threading.local()


def _deferred_eager_sends() -> list[Callable[[], bool]]:
    if not hasattr(_eager, "sends"):
        _eager.sends = []
    return _eager.sends


def deliver_deferred_eager_sends(**kwargs: Any) -> None:
    sends = _deferred_eager_sends()
    if sends and enqueue.outside_transactions():
        pending, sends[:] = list(sends), []
        for release in pending:
            release()


request_finished.connect(deliver_deferred_eager_sends, dispatch_uid=__name__)

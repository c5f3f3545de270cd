"""Celery tasks: the delivery engine, the recovery and the cleanup bound to Celery.

Every publish names its queue (the fast lane ``WEBSOCKETS["realtime_queue"]`` for planning and
for sends of one batch, the bulk lane ``WEBSOCKETS["delivery_queue"]`` for the batches of larger
sends, and the default schedules ``WEBSOCKETS["maintenance_queue"]``), so any Celery app
configured from Django settings routes the app's tasks with no routes of its own. Delivery
tasks acknowledge only once done and are requeued if their worker dies, so a message may run
twice; the engine's leases make a second run harmless, and its recovery task queues again
whatever a lost message left. How a message reaches a worker (the broker, or inline under
``CELERY_TASK_ALWAYS_EAGER``) is ``publishing``'s; the caller's side of a send is ``sending``'s.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

from celery import Task, shared_task
from celery.signals import celeryd_after_setup, celeryd_init
from django.db import InterfaceError, OperationalError, close_old_connections

from . import cleanup, metrics, tracing
from .conf import app_settings, package_queues
from .delivery import BULK, REALTIME, enqueue, plan, post, recover, retry
from .models import DeliveryBatch
from .publishing import publisher

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


def release_from_outbox(report_id: str, headers: dict[str, str] | None = None) -> bool:
    """Publish a send's planning from the outbox unless someone already did."""
    return enqueue.claim_and_publish(
        report_id, partial(publish, plan_delivery, (report_id,), lane=REALTIME, headers=headers)
    )


def requeue_plan(report_id: str) -> None:
    publish(plan_delivery, (report_id,), lane=REALTIME)


def continue_plan(report_id: str) -> None:
    """The rest of a large send's planning, on the bulk lane."""
    publish(plan_delivery, (report_id, BULK), lane=BULK)


def queue_batch(
    batch_id: int, attempt: int, countdown: float | None = None, lane: str = BULK
) -> None:
    args = (batch_id, attempt) if lane == BULK else (batch_id, attempt, lane)
    enqueue.run_after_commit(partial(publish, deliver_batch, args, countdown, lane))


def lane_queue(lane: str) -> str:
    return app_settings.realtime_queue if lane == REALTIME else app_settings.delivery_queue


def publish(
    task: Task,
    args: tuple[Any, ...],
    countdown: float | None = None,
    lane: str = BULK,
    headers: dict[str, str] | None = None,
) -> bool:
    """Publish ``task(*args)`` on ``lane``'s queue; False when the broker did not take it.

    The message carries ``headers``, else the current trace context.
    """
    return publisher(task.app).publish(
        task,
        args,
        countdown=countdown,
        queue=lane_queue(lane),
        headers=tracing.carrier() if headers is None else headers,
    )


def warm_up_publishing() -> None:
    """Prepare this process's first publish (``publishing.BrokerPublisher.warm_up``)."""
    app = plan_delivery.app
    publisher(app).warm_up(app)


def traced(task: Task, name: str, attributes: dict[str, Any]) -> Any:
    """A consumer span for ``task``, continuing the trace its message carries."""
    return tracing.span(name, attributes, headers=task.request.headers or {}, kind="consumer")


def batch_attributes(batch_id: int, attempt: int) -> dict[str, Any]:
    return {"websockets.batch_id": batch_id, "websockets.attempt": attempt}


def run_owned(task: Task, work: Callable[[str], None]) -> None:
    """Run ``work`` under leases owned by this task (its id, kept across its retries).

    On a database error the connection is dropped and the task retried with backoff;
    when retries run out the lease expires and recovery takes the work over. Inline tasks
    (the test transport) raise it instead.
    """
    try:
        work(task.request.id or uuid.uuid4().hex)
    except DATABASE_ERRORS as exc:
        if not publisher(task.app).retries_later:
            raise
        with suppress(*DATABASE_ERRORS):  # already gone: the retry opens a new one
            close_old_connections()
        raise task.retry(
            exc=exc, countdown=retry.backoff(task.request.retries), max_retries=DATABASE_RETRIES
        ) from exc


@shared_task(**DELIVERY_OPTIONS)
def plan_delivery(self: Task, report_id: str, lane: str = REALTIME) -> None:
    """Resolve a send's recipients into batches: post a one-batch send now, queue the rest."""
    grace = publisher(self.app).gone_grace_seconds()

    def work(owner: str) -> None:
        def post_now(batch: DeliveryBatch) -> None:
            with tracing.span("websockets.batch", batch_attributes(batch.pk, 0)):
                post.deliver_held(batch, 0, owner, queue_batch, grace, REALTIME)

        plan.plan(
            report_id,
            owner,
            queue_batch,
            lane=lane,
            continue_planning=continue_plan,
            post_now=post_now,
        )

    with traced(self, "websockets.plan", {"websockets.delivery_id": report_id}):
        run_owned(self, work)


@shared_task(**DELIVERY_OPTIONS)
def deliver_batch(self: Task, batch_id: int, attempt: int, lane: str = BULK) -> None:
    """Post one attempt of one batch."""
    grace = publisher(self.app).gone_grace_seconds()
    with traced(self, "websockets.batch", batch_attributes(batch_id, attempt)):
        run_owned(
            self, lambda owner: post.deliver(batch_id, attempt, owner, queue_batch, grace, lane)
        )


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
def probe_connections() -> int:
    return cleanup.probe_idle_sessions()


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
    """Publish the trailing count on the fast lane: it is one small send, due at once."""
    publish(send_presence_count, (channel,), countdown, lane=REALTIME)


# Workers: a plain ``celery -A proj worker`` consumes only the app's declared queues (often
# just ``celery``), so without this the app's sends would wait unread, silently.
# Worker host name -> whether the operator chose its queues (-Q or -X).
_queues_chosen: dict[str, bool] = {}


@celeryd_init.connect(weak=False, dispatch_uid=f"{__name__}.note_queue_options")
def note_queue_options(sender: Any = None, options: Any = None, **kwargs: Any) -> None:
    options = options or {}
    _queues_chosen[str(sender)] = bool(options.get("queues") or options.get("exclude_queues"))


@celeryd_after_setup.connect(weak=False, dispatch_uid=f"{__name__}.consume_package_queues")
def consume_package_queues(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """At worker start-up: consume ``package_queues()`` unless the operator chose queues
    (``-Q``/``-X``); then name each one this worker leaves to others."""
    queues = instance.app.amqp.queues
    missing = [name for name in package_queues() if name not in queues.consume_from]
    if not missing:
        return
    if _queues_chosen.get(str(sender)):
        logger.warning(
            "This worker does not consume %s (not in its -Q): the sends and cleanup of "
            "django_aws_api_gateway_websockets published there wait until another worker "
            "consumes them.",
            ", ".join(missing),
        )
        return
    for name in missing:
        queues.select_add(name)
    logger.info(
        "No -Q given: this worker also consumes %s, the queues of "
        "django_aws_api_gateway_websockets.",
        ", ".join(missing),
    )


def queue_depths() -> list[tuple[float, dict[str, str]]]:
    """How many task messages wait in each of the app's queues (the lane depth gauge)."""
    app = plan_delivery.app
    depths = []
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        for queue in package_queues():
            declared = channel.queue_declare(queue=queue)
            depths.append((float(declared.message_count), {metrics.QUEUE: queue}))
    return depths

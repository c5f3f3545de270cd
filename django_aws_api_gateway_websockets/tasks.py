"""Celery tasks, and the only module of the app that talks to Celery.

Every publish names its queue (``WEBSOCKETS["delivery_queue"]``, and the default schedules
``WEBSOCKETS["maintenance_queue"]``), so any Celery app configured from Django settings
routes the app's tasks with no routes of its own. Delivery tasks acknowledge only once done
and are requeued if their worker dies, so a message may run twice; the engine makes a
second run harmless.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from . import cleanup
from .conf import app_settings
from .delivery import enqueue, plan, post, resume
from .models import DeliveryReport
from .models.selections import Selection

DELIVERY_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 240,
    "time_limit": 300,
    "ignore_result": True,
}


def send(data: Any, selection: Selection) -> DeliveryReport:
    """Record a send and queue its planning once the caller's transaction commits."""
    report = enqueue.record(data, selection)
    queue_plan(str(report.pk))
    return report


def queue_plan(report_id: str) -> None:
    queue = app_settings.delivery_queue
    enqueue.run_after_commit(lambda: plan_delivery.apply_async((report_id,), queue=queue))


def queue_batch(batch_id: int, attempt: int, countdown: float | None = None) -> None:
    queue = app_settings.delivery_queue
    enqueue.run_after_commit(
        lambda: deliver_batch.apply_async((batch_id, attempt), countdown=countdown, queue=queue)
    )


@shared_task(**DELIVERY_OPTIONS)
def plan_delivery(report_id: str) -> None:
    """Resolve a send's recipients into batches and queue them."""
    plan.plan(report_id, queue_batch)


@shared_task(**DELIVERY_OPTIONS)
def deliver_batch(batch_id: int, attempt: int) -> None:
    """Post one attempt of one batch."""
    post.deliver(batch_id, attempt, queue_batch)


@shared_task(**DELIVERY_OPTIONS)
def resume_stalled_deliveries() -> int:
    return resume.resume_stalled(queue_batch, queue_plan)


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

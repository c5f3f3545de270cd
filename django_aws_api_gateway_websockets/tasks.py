"""Celery tasks: delivery and periodic cleanup.

Delivery tasks acknowledge only once done and are requeued if their worker dies, so a
message may run twice; ``delivery`` makes a second run harmless.
"""

from __future__ import annotations

from celery import shared_task

from . import cleanup, delivery

DELIVERY_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 240,
    "time_limit": 300,
    "ignore_result": True,
}


@shared_task(**DELIVERY_OPTIONS)
def plan_delivery(report_id: str) -> None:
    """Resolve a send's recipients into batches and queue them."""
    delivery.plan(report_id)


@shared_task(**DELIVERY_OPTIONS)
def deliver_batch(batch_id: int, attempt: int) -> None:
    """Post one attempt of one batch."""
    delivery.deliver(batch_id, attempt)


@shared_task(**DELIVERY_OPTIONS)
def resume_stalled_deliveries() -> int:
    return delivery.resume_stalled()


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

"""Default periodic schedules: cleanup, and the recovery of delivery work."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from .conf import MAINTENANCE_QUEUE, app_settings

logger = logging.getLogger(__name__)

PREFIX = "django_aws_api_gateway_websockets"

# task name -> interval; the plain form suits ``CELERY_BEAT_SCHEDULE`` in projects that do
# not use django-celery-beat's database scheduler.
INTERVALS: dict[str, timedelta] = {
    f"{PREFIX}.tasks.cleanup_sessions": timedelta(minutes=10),
    # Idle connections whose $disconnect never came leave presence within
    # presence_probe_idle_seconds plus this interval.
    f"{PREFIX}.tasks.probe_connections": timedelta(minutes=5),
    f"{PREFIX}.tasks.cleanup_tokens": timedelta(minutes=5),
    f"{PREFIX}.tasks.cleanup_rate_limits": timedelta(hours=1),
    f"{PREFIX}.tasks.cleanup_delivery_reports": timedelta(hours=1),
    # Often: recovery takes over expired leases and publishes the outbox within seconds.
    f"{PREFIX}.tasks.recover_deliveries": timedelta(seconds=15),
}

# For ``CELERY_BEAT_SCHEDULE``, read before settings are: hence the default queue's name.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    f"{PREFIX}: {task.rsplit('.', 1)[1]}": {
        "task": task,
        "schedule": interval,
        "options": {"queue": MAINTENANCE_QUEUE},
    }
    for task, interval in INTERVALS.items()
}


def install_default_schedules(**kwargs: Any) -> int:
    """Create each default ``PeriodicTask`` once, by name; return how many were created.

    Existing rows are left as they are, so an operator's changes in the admin survive
    restarts and migrations.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    created = 0
    for name, entry in BEAT_SCHEDULE.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=int(entry["schedule"].total_seconds()), period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": entry["task"],
                "interval": interval,
                "queue": app_settings.maintenance_queue,
            },
        )
        created += 1
    if created:
        logger.info("Created %d default periodic tasks", created)
    return created

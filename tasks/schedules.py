"""The beat schedule of the application tasks, kept in django-celery-beat's tables."""

from __future__ import annotations

from typing import Any

HOURLY_ANNOUNCEMENT_NAME = "tasks: hourly announcement"
HOURLY_ANNOUNCEMENT_TASK = "tasks.tasks.hourly_announcement"


def ensure_periodic_tasks() -> tuple[Any, bool]:
    """Create the hourly announcement once; return ``(periodic_task, created)``.

    Looked up by its namespaced name only, so an operator's changes in the admin
    (interval, enabled) survive every later call.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    return PeriodicTask.objects.get_or_create(
        name=HOURLY_ANNOUNCEMENT_NAME,
        defaults={
            "task": HOURLY_ANNOUNCEMENT_TASK,
            "interval": every_hour,
            "description": "Announce the time in every chat room (the demo's periodic task).",
        },
    )

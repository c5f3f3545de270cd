"""Application tasks: the project's own code that enqueues broadcasts.

They run on a Celery worker (or beat enqueues them) and only *queue* sends: each returns the
id of the delivery report the engine's own tasks then fill in.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from django_aws_api_gateway_websockets.models import WebSocketSession

logger = logging.getLogger(__name__)

HOURLY_MESSAGE = "It is {time} UTC. This announcement is sent every hour by Celery beat."


@shared_task(ignore_result=True)
def announce(message: str) -> str:
    """Send ``message`` to every connected browser, in every room."""
    report = WebSocketSession.objects.send_to_all(
        {"type": "announcement", "message": message, "sent_at": timezone.now().isoformat()}
    )
    logger.info("Announcement queued as delivery %s", report.pk)
    return str(report.pk)


@shared_task(ignore_result=True)
def notify_user(user_id: int, message: str) -> str | None:
    """Send ``message`` to every connection (tab, device) of one user."""
    if not get_user_model().objects.filter(pk=user_id).exists():
        logger.warning("Not notifying user %s: no such user", user_id)
        return None
    report = WebSocketSession.objects.send_to_user(
        user_id,
        {"type": "notification", "message": message, "sent_at": timezone.now().isoformat()},
    )
    logger.info("Notification for user %s queued as delivery %s", user_id, report.pk)
    return str(report.pk)


@shared_task(ignore_result=True)
def hourly_announcement() -> str:
    """The periodic announcement beat runs (see ``tasks.schedules``)."""
    return announce(HOURLY_MESSAGE.format(time=timezone.now().strftime("%H:%M")))

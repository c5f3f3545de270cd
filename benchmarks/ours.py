"""Our side's adapter for ``side.py``: this project's calls, delivered by real Celery workers.

The driver starts the workers; this process only calls the public API and watches the
delivery report.
"""

from __future__ import annotations

import functools
import statistics
from datetime import UTC, datetime
from typing import Any

import common

from django_aws_api_gateway_websockets.cleanup import delete_stale_sessions
from django_aws_api_gateway_websockets.models import DeliveryReport, WebSocketSession

# The workers post the messages; the caller only records a report and enqueues one task.
CALLER_DELIVERS = False
sessions = WebSocketSession.objects


def wait_finished(report_id: Any, timeout: float) -> dict[str, Any]:
    """The report's figures once ``finished`` is set.

    The time measured is the ``finished`` the worker wrote, so polling only a few times a
    second loses no precision and leaves the CPU to the workers.
    """
    return common.wait_for(
        lambda: (
            DeliveryReport.objects.filter(pk=report_id, finished__isnull=False)
            .values("recipients", "delivered", "gone", "failed", "retried", "started", "finished")
            .first()
        ),
        timeout,
        interval=0.2,
    )


def send_to_channel(name: str) -> DeliveryReport:
    return sessions.send_to_channel(name, common.PAYLOAD)


def send_message(name: str) -> DeliveryReport:
    return sessions.filter(channel_name=name).send_message(common.PAYLOAD)


def warm_up(timeout: float) -> dict[str, Any]:
    wait_finished(send_to_channel(common.WARM_CHANNEL).pk, timeout)
    return {}


def deliver(channel: str, timeout: float) -> common.Delivery:
    """From the ``send_to_channel`` call until the report's ``finished``."""
    called_at = datetime.now(UTC)
    call_seconds, report = common.timed(functools.partial(send_to_channel, channel))
    row = wait_finished(report.pk, timeout)
    queue_wait = (row.pop("started") - called_at).total_seconds()
    return common.Delivery(
        seconds=(row.pop("finished") - called_at).total_seconds(),
        call_seconds=call_seconds,
        details={
            "queue_wait_seconds": round(queue_wait, 3),
            "report": row,
            "payload_bytes": len(report.payload.encode()),
        },
    )


def delete_stale() -> None:
    delete_stale_sessions()


def caller(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's time of a channel broadcast: ``send_to_channel`` and ``queryset.send_message``.

    Nothing consumes the queue meanwhile (the driver empties it afterwards): what is timed is
    the call, which records a report and enqueues one task on Redis.
    """
    calls = {"send_to_channel_ms": send_to_channel, "queryset_send_message_ms": send_message}
    # The first send opens the database and broker connections; not what a caller pays later.
    for call in calls.values():
        call(common.WARM_CHANNEL)
    results: dict[str, Any] = {}
    for channel in args["channels"]:
        name = channel["name"]
        results[name] = {"count": channel["count"]}
        for key, call in calls.items():
            ms = [
                common.timed(functools.partial(call, name))[0] * 1000
                for _ in range(args["repeats"])
            ]
            results[name][key] = {
                "median": round(statistics.median(ms), 2),
                "min": round(min(ms), 2),
                "max": round(max(ms), 2),
                "runs": len(ms),
            }
    return {"channels": results}


PHASES = {"caller": caller}

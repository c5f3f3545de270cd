"""Our side of the benchmark, one phase per run: ``python benchmarks/our_side.py PHASE JSON``.

Run by ``run.py`` with the project's interpreter, ``PYTHONPATH`` at the project root and
``DJANGO_SETTINGS_MODULE=benchmarks.settings``. Prints one result line (see
``common.emit``). Deliveries are made by the real Celery workers the driver started; this
process only calls the public API and watches the delivery report.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
django.setup()

from django.core.management import call_command  # noqa: E402

from benchmarks import common  # noqa: E402
from django_aws_api_gateway_websockets.cleanup import delete_stale_sessions  # noqa: E402
from django_aws_api_gateway_websockets.models import (  # noqa: E402
    ApiGateway,
    DeliveryReport,
    WebSocketSession,
)

PAYLOAD = {"type": "benchmark", "text": "hello " * 20}


def setup(args: dict[str, Any]) -> dict[str, Any]:
    """Migrate the empty database and insert the connected sessions of every channel."""
    migrate_seconds, _ = common.timed(lambda: call_command("migrate", verbosity=0))
    gateway = ApiGateway.objects.bulk_create(
        [ApiGateway(api_name="bench", api_id=common.API_ID, stage_name=common.STAGE)]
    )[0]
    ApiGateway.objects.filter(pk=gateway.pk).update(api_created=True)
    return common.populate_channels(WebSocketSession, gateway.pk, args["channels"], migrate_seconds)


def caller(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's time of a channel broadcast: ``send_to_channel`` and ``queryset.send_message``.

    Nothing consumes the queue meanwhile (the driver empties it afterwards): what is timed is
    the call, which records a report and enqueues one task on Redis.
    """
    sessions = WebSocketSession.objects
    # The first send opens the database and broker connections; not what a caller pays later.
    sessions.send_to_channel(common.WARM_CHANNEL, PAYLOAD)
    sessions.filter(channel_name=common.WARM_CHANNEL).send_message(PAYLOAD)
    results: dict[str, Any] = {}
    for channel in args["channels"]:
        name, repeats = channel["name"], args["repeats"]
        structured = [
            common.timed(lambda name=name: sessions.send_to_channel(name, PAYLOAD))[0]
            for _ in range(repeats)
        ]
        queryset = [
            common.timed(
                lambda name=name: sessions.filter(channel_name=name).send_message(PAYLOAD)
            )[0]
            for _ in range(repeats)
        ]
        results[name] = {
            "count": channel["count"],
            "send_to_channel_ms": summarise_ms(structured),
            "queryset_send_message_ms": summarise_ms(queryset),
        }
    return {"channels": results}


def summarise_ms(seconds: list[float]) -> dict[str, float]:
    return {
        "median": round(common.median(seconds) * 1000, 2),
        "min": round(min(seconds) * 1000, 2),
        "max": round(max(seconds) * 1000, 2),
        "runs": len(seconds),
    }


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


def deliver(args: dict[str, Any]) -> dict[str, Any]:
    """Broadcast to a channel and time it from the call until the report's ``finished``."""
    sessions = WebSocketSession.objects
    warm = sessions.send_to_channel(common.WARM_CHANNEL, PAYLOAD)
    wait_finished(warm.pk, args["timeout"])
    meter = common.CpuMeter(args["pids"]).start()
    called_at = datetime.now(UTC)
    started = time.perf_counter()
    report = sessions.send_to_channel(args["channel"], PAYLOAD)
    call_seconds = time.perf_counter() - started
    row = wait_finished(report.pk, args["timeout"])
    cpu = meter.stop()
    seconds = (row["finished"] - called_at).total_seconds()
    return {
        "count": args["count"],
        "seconds": round(seconds, 3),
        "rate": round(args["count"] / seconds, 1),
        "call_ms": round(call_seconds * 1000, 2),
        "queue_wait_seconds": round((row["started"] - called_at).total_seconds(), 3),
        "report": {k: v for k, v in row.items() if k not in ("started", "finished")},
        "cpu_seconds": cpu,
        "payload_bytes": len(report.payload.encode()),
    }


def messages(args: dict[str, Any]) -> dict[str, Any]:
    """Queries made by one ``$default`` message event to a minimal ``WebSocketView``."""
    return common.message_event_queries(args["connection_id"])


def cleanup(args: dict[str, Any]) -> dict[str, Any]:
    """Insert disconnected rows, then delete them with ``delete_stale_sessions()``."""
    return common.stale_session_cleanup(
        WebSocketSession, ApiGateway, args["rows"], delete_stale_sessions
    )


PHASES = {
    "setup": setup,
    "caller": caller,
    "deliver": deliver,
    "messages": messages,
    "cleanup": cleanup,
}

if __name__ == "__main__":
    common.emit(PHASES[sys.argv[1]](json.loads(sys.argv[2])))

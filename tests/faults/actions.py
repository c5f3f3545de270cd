"""What the web side of a fault scenario does, run as its own process against the system.

``python -m tests.faults.actions <action> [args]`` with the scenario's environment (its
database, its Redis): ``seed COUNT CHANNEL``, ``send CHANNEL`` and ``report ID`` print one
JSON object.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

import django


def seed(count: str, channel: str, api_id: str, stage: str) -> dict:
    from django.utils import timezone

    from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

    gateway, _ = ApiGateway.objects.get_or_create(
        api_id=api_id, defaults={"api_name": "Faults", "stage_name": stage, "api_created": True}
    )
    ids = [f"{channel}-{n}" for n in range(int(count))]
    WebSocketSession.objects.bulk_create(
        (
            WebSocketSession(connection_id=cid, api_gateway=gateway, channel_name=channel)
            for cid in ids
        ),
        batch_size=1000,
    )
    # Older than the grace period for brand-new connections.
    WebSocketSession.objects.filter(channel_name=channel).update(
        created_on=timezone.now() - timedelta(minutes=1)
    )
    return {"ids": ids}


def send(channel: str) -> dict:
    from django_aws_api_gateway_websockets.models import WebSocketSession

    started = time.monotonic()
    report = WebSocketSession.objects.send_to_channel(channel, {"type": "fault-test"})
    return {"id": str(report.pk), "seconds": time.monotonic() - started}


def report(report_id: str) -> dict:
    from django_aws_api_gateway_websockets.models import DeliveryReport

    found = DeliveryReport.objects.get(pk=report_id)
    fields = ("recipients", "delivered", "gone", "failed", "retried")
    return {name: getattr(found, name) for name in fields} | {
        "finished": found.finished is not None,
        "published": found.published_on is not None,
    }


ACTIONS = {"seed": seed, "send": send, "report": report}

if __name__ == "__main__":
    django.setup()
    import worker  # noqa: F401  (the Celery app the sends publish through)

    name, *args = sys.argv[1:]
    print(json.dumps(ACTIONS[name](*args)))

"""The competitor's side: django-aws-api-gateway-websockets 4.1.0, one phase per run.

Run by ``run.py`` with ``benchmarks/.venv-competitor/bin/python`` as
``competitor_side.py PHASE JSON``; prints one result line (see ``common.emit``). The project
folder is not on this process's path, so ``django_aws_api_gateway_websockets`` is the PyPI
package.

The one change made to the package: ``models.get_boto3_client`` is wrapped so that the
``endpoint_url`` it is given (always ``https://{api_id}.execute-api.{region}.amazonaws.com/
{stage}`` in 4.1.0) is replaced by the local Management API's URL for the same stage. Every
other argument (its ``Config`` with 10 connections, timeouts and retries) passes unchanged, and
its client cache still applies.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "competitor_settings")
django.setup()

import common  # noqa: E402
from django.core.management import call_command  # noqa: E402

from django_aws_api_gateway_websockets import models  # noqa: E402
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession  # noqa: E402

PAYLOAD = {"type": "benchmark", "text": "hello " * 20}


def point_at_local_gateway(gateway_url: str) -> None:
    """Wrap 4.1.0's ``get_boto3_client`` so its Management API calls reach ``gateway_url``."""
    original = models.get_boto3_client

    def local_client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
        if "endpoint_url" in kwargs:
            kwargs["endpoint_url"] = gateway_url + urlsplit(kwargs["endpoint_url"]).path
        return original(service, **kwargs)

    models.get_boto3_client = local_client


def setup(args: dict[str, Any]) -> dict[str, Any]:
    """Migrate the empty database and insert the connected sessions of every channel."""
    migrate_seconds, _ = common.timed(lambda: call_command("migrate", verbosity=0))
    # bulk_create: 4.1.0's save() of a created gateway would sync it to AWS.
    gateway = ApiGateway.objects.bulk_create(
        [
            ApiGateway(
                api_name="bench", api_id=common.API_ID, stage_name=common.STAGE, api_created=True
            )
        ]
    )[0]
    return common.populate_channels(WebSocketSession, gateway.pk, args["channels"], migrate_seconds)


def broadcast(args: dict[str, Any]) -> dict[str, Any]:
    """Time ``queryset.send_message`` to a channel; 4.1.0 delivers before it returns.

    One warm-up broadcast first builds and caches the boto3 client, as ours are warmed.
    """
    sessions = WebSocketSession.objects
    warm = sessions.filter(channel_name=common.WARM_CHANNEL).send_message(PAYLOAD)
    meter = common.CpuMeter(args["pids"]).start()
    seconds, responses = common.timed(
        lambda: sessions.filter(channel_name=args["channel"]).send_message(PAYLOAD)
    )
    cpu = meter.stop()
    # This process is the caller: its CPU (time.process_time, every thread) is the figure.
    cpu["caller"] = cpu.pop("observer")
    return {
        "count": args["count"],
        "seconds": round(seconds, 3),
        "rate": round(args["count"] / seconds, 1),
        "call_ms": round(seconds * 1000, 2),
        "sent": len(responses),
        "warm_sent": len(warm),
        "cpu_seconds": cpu,
        "payload_bytes": len(json.dumps(PAYLOAD).encode()),
    }


def messages(args: dict[str, Any]) -> dict[str, Any]:
    """Queries made by one ``$default`` message event to a minimal 4.1.0 ``WebSocketView``."""
    return common.message_event_queries(args["connection_id"])


def cleanup(args: dict[str, Any]) -> dict[str, Any]:
    """Insert disconnected rows, then delete them with the ``clearWebSocketSessions`` command."""
    return common.stale_session_cleanup(
        WebSocketSession, ApiGateway, args["rows"], lambda: call_command("clearWebSocketSessions")
    )


def installed_facts(args: dict[str, Any]) -> dict[str, Any]:
    """What the installed 4.1.0 does for a queryset broadcast, read from the package itself."""
    from importlib.metadata import version

    return {
        "version": version("django-aws-api-gateway-websockets"),
        "broadcast_max_workers": models.BROADCAST_MAX_WORKERS,
        "broadcast_max_attempts": models.BROADCAST_MAX_ATTEMPTS,
        "module": models.__file__,
    }


PHASES = {
    "setup": setup,
    "broadcast": broadcast,
    "messages": messages,
    "cleanup": cleanup,
    "facts": installed_facts,
}

if __name__ == "__main__":
    point_at_local_gateway(os.environ.get("BENCH_GATEWAY_URL", "http://127.0.0.1:9"))
    common.emit(PHASES[sys.argv[1]](json.loads(sys.argv[2])))

"""The competitor's adapter for ``side.py``: django-aws-api-gateway-websockets 4.1.0 from PyPI.

The one change made to the package, on import of this module: ``models.get_boto3_client`` is
wrapped so that the ``endpoint_url`` it is given (always ``https://{api_id}.execute-api.
{region}.amazonaws.com/{stage}`` in 4.1.0) is replaced by the local Management API's URL for
the same stage. Every other argument (its ``Config`` with 10 connections, timeouts and
retries) passes unchanged, and its client cache still applies.
"""

from __future__ import annotations

import functools
import json
import os
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

import common
from django.core.management import call_command

from django_aws_api_gateway_websockets import models

# 4.1.0 posts every message from the calling process before ``send_message`` returns.
CALLER_DELIVERS = True
sessions = models.WebSocketSession.objects


def point_at_local_gateway(gateway_url: str) -> None:
    """Wrap 4.1.0's ``get_boto3_client`` so its Management API calls reach ``gateway_url``."""
    original = models.get_boto3_client

    def local_client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
        if "endpoint_url" in kwargs:
            kwargs["endpoint_url"] = gateway_url + urlsplit(kwargs["endpoint_url"]).path
        return original(service, **kwargs)

    models.get_boto3_client = local_client


def delete_stale() -> None:
    call_command("clearWebSocketSessions")


def send_message(name: str) -> list[Any]:
    """Post to every connected session of a channel; one response per message."""
    return sessions.filter(channel_name=name).send_message(common.PAYLOAD)


def warm_up(timeout: float) -> dict[str, Any]:
    """Builds and caches the boto3 client, as our workers' are warmed."""
    return {"warm_sent": len(send_message(common.WARM_CHANNEL))}


def deliver(channel: str, timeout: float) -> common.Delivery:
    """The ``queryset.send_message`` call, which delivers before it returns."""
    seconds, responses = common.timed(functools.partial(send_message, channel))
    details = {"sent": len(responses), "payload_bytes": len(json.dumps(common.PAYLOAD).encode())}
    return common.Delivery(seconds, seconds, details)


def facts(args: dict[str, Any]) -> dict[str, Any]:
    """What the installed 4.1.0 does for a queryset broadcast, read from the package itself."""
    return {
        "version": version("django-aws-api-gateway-websockets"),
        "broadcast_max_workers": models.BROADCAST_MAX_WORKERS,
        "broadcast_max_attempts": models.BROADCAST_MAX_ATTEMPTS,
        "module": models.__file__,
    }


PHASES = {"facts": facts}

point_at_local_gateway(os.environ.get("BENCH_GATEWAY_URL", "http://127.0.0.1:9"))

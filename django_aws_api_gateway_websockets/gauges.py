"""The observable gauges: read from shared state (the database, the broker) at collection."""

from __future__ import annotations

from django.db.models import Count

from . import metrics, tasks
from .delivery import budget
from .models import WebSocketSession


def connected_sessions() -> list[tuple[float, dict[str, str]]]:
    """Connected sessions per gateway (API Gateway's own metrics have no such gauge)."""
    rows = (
        WebSocketSession.objects.connected()
        .values("api_gateway__api_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return [
        (float(row["count"]), {metrics.API_ID: row["api_gateway__api_id"] or ""}) for row in rows
    ]


def register() -> None:
    """Register every gauge with the meter (a no-op without the OpenTelemetry API)."""
    metrics.register_gauge("websockets.sessions.connected", connected_sessions)
    metrics.register_gauge("websockets.lane.depth", tasks.queue_depths)
    metrics.register_gauge("websockets.rate_limiter.tokens", budget.tokens)

"""The delivery engine's metrics, through the OpenTelemetry metrics API.

Install the ``otel`` extra (``opentelemetry-api``) and configure an SDK ``MeterProvider`` in the
web and worker processes (an OTLP exporter to the AWS Distro for OpenTelemetry collector, a
Prometheus reader, ...): these instruments report to it. Without the API installed, or without
an SDK configured, every call here costs a no-op. Instruments are made once, at import, from the
API's proxy meter, which forwards to whatever provider the project sets later.

Observable gauges (lane depth, rate-limiter tokens, connected sessions) read shared state (Redis,
the database) when a reader collects: every process that exports them reports the same value,
so aggregate them with ``max``, never ``sum``. Their callbacks are registered by the layers that
own the state (``register_gauge``), so this module imports nothing of the app but settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

try:
    from opentelemetry import metrics as otel
except ImportError:  # the ``otel`` extra is not installed: everything below is a no-op
    otel = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

METER_NAME = "django_aws_api_gateway_websockets"
# What a gauge's source returns: (value, attributes) pairs.
Reading = Callable[[], Iterable[tuple[float, Mapping[str, Any]]]]
# Attribute names, shared by every instrument that carries them.
API_ID = "websockets.api_id"
LANE = "websockets.lane"
QUEUE = "websockets.queue"
OUTCOME = "websockets.outcome"
REGION = "websockets.region"

# Seconds: posts take milliseconds; queue waits up to minutes behind a large broadcast.
POST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WAIT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class _Nothing:
    """Stands for every instrument when the OpenTelemetry API is not installed."""

    def add(self, amount: float, attributes: Mapping[str, Any] | None = None) -> None:
        pass

    def record(self, amount: float, attributes: Mapping[str, Any] | None = None) -> None:
        pass


def _meter() -> Any:
    return otel.get_meter(METER_NAME) if otel is not None else None


_METER = _meter()


# Every instrument the package reports: name -> (unit, description); histograms' buckets.
COUNTERS = {
    "websockets.sends": ("{send}", "Sends recorded (send_message and friends)."),
    "websockets.recipients": ("{recipient}", "Recipients planned for sends."),
    "websockets.delivered": ("{post}", "Posts API Gateway accepted."),
    "websockets.gone": ("{post}", "Recipients API Gateway reported gone (410)."),
    "websockets.failed": ("{recipient}", "Recipients that failed for good."),
    "websockets.throttled": ("{post}", "Posts API Gateway answered 429."),
    "websockets.retries": ("{recipient}", "Recipients queued for another attempt."),
}
HISTOGRAMS = {
    "websockets.post.duration": ("Time of one PostToConnection call.", POST_BUCKETS),
    "websockets.queue.wait": ("From the send to the first post of its batch.", WAIT_BUCKETS),
}
GAUGES = {
    "websockets.lane.depth": ("{message}", "Task messages waiting in each of the app's queues."),
    "websockets.rate_limiter.tokens": ("{post}", "Posts the shared budget allows right now."),
    "websockets.sessions.connected": ("{connection}", "Connected sessions per gateway."),
}
# The attributes instruments carry.
ATTRIBUTES = (API_ID, LANE, QUEUE, OUTCOME, REGION)


def _counter(name: str) -> Any:
    if _METER is None:
        return _Nothing()
    unit, description = COUNTERS[name]
    return _METER.create_counter(name, unit=unit, description=description)


def _histogram(name: str) -> Any:
    if _METER is None:
        return _Nothing()
    description, buckets = HISTOGRAMS[name]
    return _METER.create_histogram(
        name, unit="s", description=description, explicit_bucket_boundaries_advisory=buckets
    )


SENDS = _counter("websockets.sends")
RECIPIENTS = _counter("websockets.recipients")
DELIVERED = _counter("websockets.delivered")
GONE = _counter("websockets.gone")
FAILED = _counter("websockets.failed")
THROTTLED = _counter("websockets.throttled")
RETRIES = _counter("websockets.retries")
POST_DURATION = _histogram("websockets.post.duration")
QUEUE_WAIT = _histogram("websockets.queue.wait")

_BY_OUTCOME = {"delivered": DELIVERED, "gone": GONE, "failed": FAILED, "retry": RETRIES}


def send_recorded() -> None:
    SENDS.add(1)


def recipients_planned(count: int, lane: str) -> None:
    if count:
        RECIPIENTS.add(count, {LANE: lane})


def outcomes_settled(counts: Mapping[str, int], api_id: str | None = None) -> None:
    """Count settled outcomes, keyed by outcome value (``delivered``, ``gone``, ...)."""
    attributes = {API_ID: api_id} if api_id else {}
    for outcome, count in counts.items():
        instrument = _BY_OUTCOME.get(outcome)
        if instrument is not None and count:
            instrument.add(count, attributes)


def throttled(count: int = 1) -> None:
    THROTTLED.add(count)


def post_finished(seconds: float, outcome: str) -> None:
    POST_DURATION.record(seconds, {OUTCOME: outcome})


def queue_waited(seconds: float, lane: str) -> None:
    QUEUE_WAIT.record(max(seconds, 0.0), {LANE: lane})


def register_gauge(name: str, read: Reading) -> None:
    """Report ``read()``'s (value, attributes) pairs as gauge ``name`` at each collection."""
    if _METER is None:
        return
    unit, description = GAUGES[name]
    _METER.create_observable_gauge(
        name, callbacks=[partial(observations, read)], unit=unit, description=description
    )


def observations(read: Reading, options: Any = None) -> list[Any]:
    """``read()`` as observations; none when it raises (Redis or the database away), so a
    failing source never breaks the exporter's collection."""
    if otel is None:
        return []
    try:
        readings = list(read())
    except Exception:
        logger.warning("Gauge reading failed", exc_info=True)
        return []
    return [otel.Observation(value, dict(attributes)) for value, attributes in readings]

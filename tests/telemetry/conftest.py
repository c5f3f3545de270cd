"""An OpenTelemetry SDK for this test session: metrics and spans read back in memory.

OpenTelemetry sets its global providers once per process, so they are made once here; each
test reads what changed while it ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_reader = InMemoryMetricReader()
_spans = InMemorySpanExporter()


class WhileWatched(SimpleSpanProcessor):
    """Keeps spans only during tests that read them: the provider outlives this package."""

    watching = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.watching:
            super().on_end(span)


_processor = WhileWatched(_spans)


@pytest.fixture(scope="session", autouse=True)
def otel_sdk() -> None:
    metrics.set_meter_provider(MeterProvider(metric_readers=[_reader]))
    provider = TracerProvider()
    provider.add_span_processor(_processor)
    trace.set_tracer_provider(provider)


class Readings:
    """Metric points as the in-memory reader collects them (cumulative)."""

    def __init__(self) -> None:
        self.points: dict[tuple[str, frozenset[tuple[str, Any]]], Any] = {}
        data = _reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        key = (metric.name, frozenset(point.attributes.items()))
                        self.points[key] = point

    def value(self, name: str, **attributes: Any) -> float:
        """The sum (counters), count (histograms) or value (gauges) of matching points."""
        wanted = set(attributes.items())
        total = 0.0
        for (metric, point_attributes), point in self.points.items():
            if metric == name and wanted <= point_attributes:
                total += getattr(point, "count", None) or getattr(point, "value", 0)
        return total


class MetricDelta:
    def __init__(self) -> None:
        self.before = Readings()

    def __call__(self, name: str, **attributes: Any) -> float:
        return Readings().value(name, **attributes) - self.before.value(name, **attributes)


@pytest.fixture
def metric_delta() -> MetricDelta:
    """``metric_delta(name, **attributes)``: how much a metric grew since the test began."""
    return MetricDelta()


@pytest.fixture
def gauge() -> Any:
    """``gauge(name, **attributes)``: a gauge's value at a fresh collection."""
    return lambda name, **attributes: Readings().value(name, **attributes)


@pytest.fixture
def finished_spans() -> Iterator[Any]:
    _spans.clear()
    _processor.watching = True
    try:
        yield _spans.get_finished_spans
    finally:
        _processor.watching = False
        _spans.clear()

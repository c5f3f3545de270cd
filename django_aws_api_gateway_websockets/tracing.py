"""Trace context carried from the caller of a send through Celery to every post.

With the ``otel`` extra installed and an SDK ``TracerProvider`` configured, one trace shows the
request that sent, the send's planning task, each batch attempt and each ``PostToConnection``.
The context travels in every task message's headers (W3C ``traceparent``/``tracestate``, through
the globally configured propagator), so it crosses hosts with the message. A send published
later by recovery (the broker was down when its transaction committed) starts a trace of its
own. Without the API installed every function here is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
except ImportError:  # the ``otel`` extra is not installed
    otel_context = propagate = trace = None  # type: ignore[assignment]

TRACER_NAME = "django_aws_api_gateway_websockets"
# The headers a propagator may write; only these are copied out of a task message.
CARRIER_KEYS = ("traceparent", "tracestate", "baggage")


def carrier() -> dict[str, str]:
    """The current trace context as message headers (empty without a recording span)."""
    if propagate is None:
        return {}
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def current() -> Any:
    """The current context, to hand to threads (contextvars do not follow a thread pool)."""
    return otel_context.get_current() if otel_context is not None else None


@contextmanager
def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    parent: Any = None,
    headers: Mapping[str, Any] | None = None,
    kind: str = "internal",
) -> Iterator[Any]:
    """A span, child of ``parent`` (a context), or of the context in ``headers``, else current.

    ``kind`` is ``internal``, ``producer``, ``consumer`` or ``client``.
    """
    if trace is None or propagate is None:
        yield None
        return
    if headers is not None:
        found = {key: str(headers[key]) for key in CARRIER_KEYS if headers.get(key)}
        parent = propagate.extract(found) if found else parent
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name,
        context=parent,
        kind=getattr(trace.SpanKind, kind.upper()),
        attributes=dict(attributes or {}),
    ) as current_span:
        yield current_span


def set_attributes(current_span: Any, attributes: Mapping[str, Any]) -> None:
    if current_span is not None:
        current_span.set_attributes(dict(attributes))

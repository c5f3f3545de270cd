"""A send's trace, from the caller through Celery to each post (the SDK's in-memory exporter)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from unittest.mock import Mock, patch

import pytest
from kombu import Connection
from opentelemetry import trace

from django_aws_api_gateway_websockets import tasks, tracing
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

PATCH_CLIENT = "django_aws_api_gateway_websockets.models.get_boto3_client"


@pytest.fixture
def room(db) -> None:
    gateway = ApiGateway.objects.create(
        api_name="Traces",
        target_base_endpoint="https://testserver/ws/",
        api_id="traces1",
        api_created=True,
        stage_name="test",
    )
    for name in ("a", "b"):
        WebSocketSession.objects.create(
            connection_id=name, api_gateway=gateway, channel_name="room", connected=True
        )


def test_one_trace_shows_the_request_its_plan_batches_and_posts(room, finished_spans, settings):
    settings.WEBSOCKETS = {"delivery_concurrency": 4}
    client = Mock()
    client.post_to_connection.return_value = {}
    tracer = trace.get_tracer("tests")
    with patch(PATCH_CLIENT, return_value=client), tracer.start_as_current_span("request"):
        WebSocketSession.objects.filter(channel_name="room").send_message({"n": 1})

    spans = {span.name: span for span in finished_spans()}
    posts = [span for span in finished_spans() if span.name == "PostToConnection"]
    request = spans["request"]
    assert {span.context.trace_id for span in finished_spans()} == {request.context.trace_id}
    assert spans["websockets.send"].parent.span_id == request.context.span_id
    assert spans["websockets.plan"].parent.span_id == spans["websockets.send"].context.span_id
    assert spans["websockets.batch"].parent.span_id == spans["websockets.plan"].context.span_id
    assert len(posts) == 2
    assert {span.parent.span_id for span in posts} == {spans["websockets.batch"].context.span_id}
    assert {span.attributes["websockets.connection_id"] for span in posts} == {"a", "b"}
    assert {span.attributes["websockets.outcome"] for span in posts} == {"delivered"}


@pytest.fixture
def not_eager() -> Iterator[None]:
    conf = tasks.plan_delivery.app.conf
    conf.task_always_eager = False
    try:
        yield
    finally:
        conf.task_always_eager = True


def test_published_messages_carry_the_trace_context(settings, not_eager):
    queue = f"test.trace.{uuid.uuid4().hex}"
    settings.WEBSOCKETS = {"delivery_queue": queue}
    tracer = trace.get_tracer("tests")
    with tracer.start_as_current_span("caller") as span:
        assert tasks.publish(tasks.plan_delivery, (str(uuid.uuid4()),))
        trace_id = format(span.get_span_context().trace_id, "032x")
    with Connection(settings.CELERY_BROKER_URL) as connection:
        messages = connection.SimpleQueue(queue)
        try:
            message = messages.get(timeout=5)
            assert trace_id in message.headers["traceparent"]
            message.ack()
        finally:
            messages.close()


def test_without_a_span_a_message_carries_no_context():
    assert tracing.carrier() == {}

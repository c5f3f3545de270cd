"""The engine's metrics, read through the OpenTelemetry SDK's in-memory reader."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from unittest.mock import Mock, patch

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from kombu import Connection

from django_aws_api_gateway_websockets import metrics, tasks
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

PATCH_CLIENT = "django_aws_api_gateway_websockets.models.get_boto3_client"


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PostToConnection",
    )


@pytest.fixture
def gateway(db) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Metrics",
        target_base_endpoint="https://testserver/ws/",
        api_id="metrics1",
        api_created=True,
        stage_name="test",
    )


def sessions(gateway: ApiGateway, *names: str) -> None:
    for name in names:
        WebSocketSession.objects.create(
            connection_id=name, api_gateway=gateway, channel_name="room", connected=True
        )


def test_a_send_counts_its_recipients_and_outcomes(gateway, metric_delta):
    sessions(gateway, "a", "b", "gone")
    client = Mock()
    client.post_to_connection.side_effect = lambda **kw: (
        (_ for _ in ()).throw(client_error("GoneException", 410))
        if kw["ConnectionId"] == "gone"
        else {}
    )
    with patch(PATCH_CLIENT, return_value=client):
        WebSocketSession.objects.filter(channel_name="room").send_message({"n": 1})

    assert metric_delta("websockets.sends") == 1
    assert metric_delta("websockets.recipients") == 3
    assert metric_delta("websockets.delivered") == 2
    assert metric_delta("websockets.gone") == 1
    assert metric_delta("websockets.failed") == 0
    assert metric_delta("websockets.post.duration") == 3
    assert metric_delta("websockets.post.duration", **{metrics.OUTCOME: "gone"}) == 1
    assert metric_delta("websockets.queue.wait") == 1


def test_a_429_is_counted_as_throttled_and_posted_again_within_the_attempt(gateway, metric_delta):
    sessions(gateway, "slow")
    client = Mock()
    client.post_to_connection.side_effect = [client_error("TooManyRequestsException", 429), {}]
    with patch(PATCH_CLIENT, return_value=client):
        WebSocketSession.objects.get(connection_id="slow").send_message({"n": 1})

    assert metric_delta("websockets.throttled") == 1
    assert metric_delta("websockets.post.duration", **{metrics.OUTCOME: "throttled"}) == 1
    assert metric_delta("websockets.retries") == 0
    assert metric_delta("websockets.delivered") == 1


def test_a_server_error_queues_a_retry(gateway, metric_delta):
    sessions(gateway, "flaky")
    client = Mock()
    client.post_to_connection.side_effect = [client_error("InternalServerErrorException", 500), {}]
    with patch(PATCH_CLIENT, return_value=client):
        WebSocketSession.objects.get(connection_id="flaky").send_message({"n": 1})

    assert metric_delta("websockets.retries") == 1
    assert metric_delta("websockets.throttled") == 0
    assert metric_delta("websockets.delivered") == 1


def test_real_failures_are_counted_as_failed(gateway, metric_delta):
    sessions(gateway, "big")
    client = Mock()
    client.post_to_connection.side_effect = client_error("PayloadTooLargeException", 413)
    with patch(PATCH_CLIENT, return_value=client):
        WebSocketSession.objects.get(connection_id="big").send_message({"n": 1})

    assert metric_delta("websockets.failed") == 1
    assert metric_delta("websockets.throttled") == 0


def test_connected_sessions_gauge_counts_per_gateway(gateway, gauge):
    sessions(gateway, "one", "two")
    WebSocketSession.objects.create(connection_id="old", api_gateway=gateway, connected=False)

    assert gauge("websockets.sessions.connected", **{metrics.API_ID: "metrics1"}) == 2


def test_lane_depth_gauge_reads_the_broker(settings, gauge):
    queue = f"test.depth.{uuid.uuid4().hex}"
    settings.WEBSOCKETS = {"maintenance_queue": queue}
    with Connection(settings.CELERY_BROKER_URL) as connection:
        messages = connection.SimpleQueue(queue)
        try:
            messages.put({"waiting": 1})
            messages.put({"waiting": 2})
            assert gauge("websockets.lane.depth", **{metrics.QUEUE: queue}) == 2
        finally:
            messages.clear()
            messages.close()


def test_a_gauge_whose_source_fails_reports_nothing(caplog):
    def broken():
        raise ConnectionError("redis away")

    assert metrics.observations(broken) == []
    assert "Gauge reading failed" in caplog.text
    [observation] = metrics.observations(lambda: [(3.0, {metrics.QUEUE: "q"})])
    assert (observation.value, dict(observation.attributes)) == (3.0, {metrics.QUEUE: "q"})


def test_queue_depths_names_every_queue_of_the_app(settings):
    settings.WEBSOCKETS = {"delivery_queue": f"test.d.{uuid.uuid4().hex}"}
    queues = {attributes[metrics.QUEUE] for _, attributes in tasks.queue_depths()}
    assert queues == {
        "websockets.realtime",
        settings.WEBSOCKETS["delivery_queue"],
        "websockets.maintenance",
    }


def test_without_the_opentelemetry_api_everything_is_a_no_op():
    script = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from django_aws_api_gateway_websockets import metrics, tracing\n"
        "assert metrics.otel is None and tracing.trace is None\n"
        "metrics.send_recorded(); metrics.outcomes_settled({'delivered': 3})\n"
        "metrics.post_finished(0.1, 'delivered'); metrics.queue_waited(1.0, 'delivery')\n"
        "metrics.register_gauge('websockets.lane.depth', lambda: [(1.0, {})])\n"
        "assert tracing.carrier() == {} and tracing.current() is None\n"
        "with tracing.span('x', headers={'traceparent': 'y'}) as span: assert span is None\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=settings.BASE_DIR)


def test_rate_limiter_tokens_gauge_reads_each_regions_budget(settings, gauge):
    from django_aws_api_gateway_websockets import shared_state
    from django_aws_api_gateway_websockets.delivery import budget

    region = f"test-{uuid.uuid4().hex[:8]}"
    settings.WEBSOCKETS = {"post_rate_limit": 100.0, "post_rate_burst": 50}
    spend = budget.Budget(budget.budget_key(region, "AKIDEXAMPLE"))
    try:
        reserved_at = time.monotonic()
        for _ in range(budget.CHUNK):  # one reservation of CHUNK posts
            spend.take()
        left = gauge("websockets.rate_limiter.tokens", **{metrics.REGION: region})
        # The reservation spent CHUNK of the burst; the budget refills at 100/s meanwhile.
        refilled = 100 * (time.monotonic() - reserved_at)
        assert 50 - budget.CHUNK - 1 <= left <= 50 - budget.CHUNK + refilled + 1
    finally:
        shared_state.connection().delete(spend.key)

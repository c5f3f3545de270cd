"""The outbox (a send waits in the database until the broker takes it) and eager mode.

Eager mode: under ``CELERY_TASK_ALWAYS_EAGER`` a send is delivered before the call returns,
inside test case transactions too, with ``ATOMIC_REQUESTS`` as without; a send whose
transaction rolls back is never delivered.
"""

import time
from unittest.mock import Mock, patch

import pytest
from botocore.exceptions import ClientError
from django.db import connection, transaction
from django.http import JsonResponse
from django.test import TestCase
from django.urls import path

from django_aws_api_gateway_websockets import sending, tasks
from django_aws_api_gateway_websockets.models import ApiGateway, DeliveryReport, WebSocketSession
from django_aws_api_gateway_websockets.testing import capture_messages


def send_view(request):
    report = WebSocketSession.objects.send_to_channel("general", {"type": "hi"})
    if request.GET.get("fail"):
        raise RuntimeError("the view failed after sending")
    return JsonResponse({"id": str(report.pk)})


urlpatterns = [path("send/", send_view)]


@pytest.fixture
def members(api_gateway):
    return [
        WebSocketSession.objects.create(
            connection_id=f"m-{n}", api_gateway=api_gateway, channel_name="general"
        )
        for n in range(3)
    ]


@pytest.fixture
def atomic_requests(settings, monkeypatch):
    settings.ROOT_URLCONF = __name__
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)


@pytest.mark.django_db
def test_send_in_an_atomic_request_is_delivered_before_the_call_returns(
    client, members, atomic_requests
):
    with capture_messages() as outbox:
        response = client.get("/send/")
    assert sorted(m.connection_id for m in outbox) == ["m-0", "m-1", "m-2"]
    report = DeliveryReport.objects.get(pk=response.json()["id"])
    assert (report.delivered, report.finished is not None) == (3, True)


@pytest.mark.django_db
def test_send_in_a_rolled_back_atomic_request_is_never_delivered(client, members, atomic_requests):
    with capture_messages() as outbox, pytest.raises(RuntimeError):
        client.get("/send/?fail=1")
    assert outbox == []
    assert not DeliveryReport.objects.exists()


class AtomicRequestsTestCase(TestCase):
    """The same under Django's own ``TestCase``."""

    def setUp(self):
        gateway = ApiGateway.objects.create(api_name="T", api_id="abc123", stage_name="test")
        WebSocketSession.objects.create(
            connection_id="m-0", api_gateway=gateway, channel_name="general"
        )
        patcher = patch.dict(connection.settings_dict, {"ATOMIC_REQUESTS": True})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_delivered_before_the_call_returns(self):
        with self.settings(ROOT_URLCONF=__name__), capture_messages() as outbox:
            self.client.get("/send/")
        self.assertEqual([m.connection_id for m in outbox], ["m-0"])


@pytest.mark.django_db
def test_guide_stale_connection_pattern_as_written(api_gateway):
    # A session the test just created: in eager mode no young-connection grace retry.
    session = WebSocketSession.objects.create(connection_id="connection-1", api_gateway=api_gateway)
    client = Mock()
    client.post_to_connection.side_effect = ClientError(
        {"Error": {"Code": "GoneException", "Message": "Gone"}}, "PostToConnection"
    )
    with patch("django_aws_api_gateway_websockets.models.get_boto3_client", return_value=client):
        session.send_message({"type": "test"})
    client.post_to_connection.assert_called_once()
    session.refresh_from_db()
    assert session.connected is False


# The outbox


@pytest.mark.django_db
def test_send_while_the_broker_is_down_returns_and_waits_in_the_outbox(members):
    with patch.object(tasks, "publish", return_value=False) as publish:
        report = WebSocketSession.objects.send_to_channel("general", {"type": "x"})
    publish.assert_called_once()
    report.refresh_from_db()
    assert (report.published_on, report.started) == (None, None)
    with capture_messages() as outbox:
        assert tasks.recover_deliveries() == 1  # the broker answers again
        assert tasks.recover_deliveries() == 0
    assert len(outbox) == 3
    report.refresh_from_db()
    assert report.published_on is not None and report.delivered == 3


@pytest.mark.django_db
def test_only_one_publisher_claims_a_send(members):
    with patch.object(sending, "queue_plan"):
        report = WebSocketSession.objects.send_to_channel("general", {"type": "x"})
    published = []

    def publish(*args, **kwargs):
        published.append(args)
        return True

    with patch.object(tasks, "publish", side_effect=publish):
        assert tasks.release_from_outbox(str(report.pk)) is True
        assert tasks.release_from_outbox(str(report.pk)) is False
        assert tasks.recover_deliveries() == 0
    assert len(published) == 1


@pytest.mark.django_db
def test_a_send_inside_an_open_transaction_is_not_published_before_commit(members):
    with patch.object(tasks, "publish") as publish, transaction.atomic():
        WebSocketSession.objects.send_to_channel("general", {"type": "x"})
        publish.assert_not_called()


def test_publish_without_a_broker_returns_false_at_once():
    from celery import Celery

    app = Celery("no-broker", broker="redis://127.0.0.1:1/0", set_as_current=False)
    probe = app.task(name="probe")(send_view)
    started = time.monotonic()
    assert tasks.publish(probe, ()) is False
    assert time.monotonic() - started < 1  # no publish retries (Celery's took 6 s here)
    app.close()

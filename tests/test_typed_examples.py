"""Runs the documentation's examples as typed in tests/typed_examples.py (type-checked in CI)."""

import json

import pytest
from django.conf import settings

from django_aws_api_gateway_websockets.models import DeliveryReport, WebSocketSession
from django_aws_api_gateway_websockets.testing import api_gateway_headers, capture_messages
from tests import typed_examples as examples


def message(client, body):
    return client.post(
        "/ws/default",
        data=json.dumps(body),
        content_type="application/json",
        **api_gateway_headers(),
    )


def test_install_example_names_the_app():
    assert examples.INSTALLED_APPS[-1] in settings.INSTALLED_APPS


@pytest.mark.urls("tests.typed_examples")
def test_chat_view_example_sends_to_the_channel(client, websocket_session, django_user_model):
    poster = django_user_model.objects.create_superuser("poster", password="x")
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(user=poster)
    listener = WebSocketSession.objects.create(
        connection_id="connection-2",
        api_gateway=websocket_session.api_gateway,
        channel_name="general",
    )

    with capture_messages() as outbox:
        response = message(client, {"action": "chat_message", "message": "hi"})

    assert response.status_code == 200
    report = DeliveryReport.objects.get(pk=response.json()["delivery_id"])
    assert examples.report_progress(report) == 1.0
    sent = {
        "type": "chat_message",
        "message": "hi",
        "user": "poster",
        "delivery_id": str(report.pk),
        "$ws": {"id": str(report.pk)},
    }
    assert outbox.to(listener.connection_id) == outbox.to("connection-1") == [sent]


@pytest.mark.urls("tests.typed_examples")
def test_chat_view_example_checks_the_permission_and_falls_back_to_default(
    client, websocket_session, websocket_user
):
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(user=websocket_user)

    with capture_messages() as outbox:
        denied = message(client, {"action": "chat_message", "message": "hi"})
        unknown = message(client, {"action": "no_such_handler"})

    assert (denied.status_code, outbox) == (403, [])
    assert (unknown.status_code, unknown.json()["error"]) == (400, "Unknown action")


def test_send_examples_each_return_their_report(websocket_session, websocket_user):
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(user=websocket_user)

    with capture_messages() as outbox:
        reports = examples.send_examples(
            websocket_session, websocket_user, websocket_user, {"type": "x"}, "connection-9"
        )

    assert [examples.report_progress(report) for report in reports] == [1.0] * 5
    assert [report.delivered for report in reports] == [1] * 5
    assert len(outbox.to("connection-1")) == 5


def test_connect_with_a_token_example(
    client, api_gateway, websocket_token, websocket_connect_headers
):
    examples.test_connect_with_a_token(
        client, api_gateway, websocket_token, websocket_connect_headers
    )


def test_announcement_example(websocket_session):
    examples.test_announcement(websocket_session)

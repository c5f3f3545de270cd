"""Admin pages and actions tell the truth about what happened."""

from unittest.mock import Mock, patch

import pytest
from botocore.exceptions import ClientError
from django.apps import apps
from django.contrib.messages import get_messages
from django.urls import reverse

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    DeliveryReport,
    WebSocketSession,
)
from django_aws_api_gateway_websockets.testing import capture_messages

pytestmark = pytest.mark.django_db
PATCH_CLIENT = "django_aws_api_gateway_websockets.models.get_boto3_client"


def url(model, view="changelist", *args):
    return reverse(f"admin:django_aws_api_gateway_websockets_{model}_{view}", args=args)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    "model",
    [
        "apigateway",
        "apigatewayadditionalroute",
        "websocketsession",
        "websockettoken",
        "connectionratelimit",
        "deliveryreport",
    ],
)
def test_changelists_render(admin_client, websocket_session, websocket_token, model):
    ConnectionRateLimit.record_attempt("10.0.0.1")
    with capture_messages():
        websocket_session.send_message({"type": "x"})
    response = admin_client.get(url(model))
    assert response.status_code == 200


def test_system_rows_cannot_be_added(admin_client):
    assert admin_client.get(url("websockettoken", "add")).status_code == 403
    assert admin_client.get(url("deliveryreport", "add")).status_code == 403


def test_delivery_report_page_shows_progress(admin_client, websocket_session):
    with capture_messages():
        report = websocket_session.send_message({"type": "x"})
    response = admin_client.get(url("deliveryreport", "change", report.pk))
    assert response.status_code == 200
    assert '<progress max="100" value="100"></progress>' in response.text
    assert "100% done</span> <span" in response.text
    assert "(1 of 1)</span>" in response.text


@pytest.mark.parametrize("model", ["deliveryreport", "websockettoken", "connectionratelimit"])
def test_system_rows_are_read_only_pages_without_delete(
    admin_client, websocket_session, websocket_token, model
):
    ConnectionRateLimit.record_attempt("10.0.0.1")
    with capture_messages():
        websocket_session.send_message({"type": "x"})
    row = apps.get_model("django_aws_api_gateway_websockets", model).objects.get()

    page = admin_client.get(url(model, "change", row.pk))
    assert page.status_code == 200
    assert "deletelink" not in page.text  # the Delete button
    assert admin_client.get(url(model, "delete", row.pk)).status_code == 403
    assert "delete_selected" not in admin_client.get(url(model)).text


def test_delivery_report_list_fits_a_laptop_screen(admin_client):
    report = DeliveryReport.objects.create(
        payload="{}", selection={}, recipients=104512, delivered=51230, planned=True
    )
    response = admin_client.get(url("deliveryreport"))
    html = response.text

    # A short id, the whole one on hover, linking to the report.
    short = str(report.pk)[:8]
    assert f'title="{report.pk}">{short}</span>' in html
    assert url("deliveryreport", "change", report.pk) in html
    # Counts on one line, with separators; no filter sidebar squeezing the columns.
    assert '<span style="white-space: nowrap">104,512</span>' in html
    assert '<span style="white-space: nowrap">51,230</span>' in html
    assert 'id="changelist-filter"' not in html


def test_delivery_report_while_planning(admin_client):
    report = DeliveryReport.objects.create(payload="{}", selection={}, description="pending")
    response = admin_client.get(url("deliveryreport"))
    assert "planning…" in response.text
    assert report.description in response.text


def gateway_action(admin_client, action, gateway):
    return admin_client.post(
        url("apigateway"), {"action": action, "_selected_action": [gateway.pk]}, follow=True
    )


@pytest.fixture
def new_gateway():
    return ApiGateway.objects.create(
        api_name="New", target_base_endpoint="https://app.example.com/ws/"
    )


def test_create_gateway_action_success(admin_client, new_gateway):
    client = Mock()
    client.create_api.return_value = {"ApiId": "n1", "ApiEndpoint": "wss://n1"}
    client.create_integration.return_value = {"IntegrationId": "i"}
    client.create_deployment.return_value = {"DeploymentId": "d"}
    with patch(PATCH_CLIENT, return_value=client):
        response = gateway_action(admin_client, "create_api_gateway", new_gateway)
    assert messages_of(response) == ["New: API Gateway created."]


def test_create_gateway_action_already_created(admin_client, api_gateway):
    response = gateway_action(admin_client, "create_api_gateway", api_gateway)
    assert messages_of(response) == ["Test API: API Gateway already existed."]


def test_create_gateway_action_failure(admin_client, new_gateway):
    client = Mock()
    client.create_api.side_effect = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "CreateApi"
    )
    with patch(PATCH_CLIENT, return_value=client):
        response = gateway_action(admin_client, "create_api_gateway", new_gateway)
    (message,) = messages_of(response)
    assert message.startswith("New: creating the API Gateway failed (ClientError")
    assert "nothing was marked created" in message
    new_gateway.refresh_from_db()
    assert new_gateway.api_created is False


def test_create_custom_domain_action_explains_preconditions(admin_client, api_gateway):
    response = gateway_action(admin_client, "create_custom_domain", api_gateway)
    assert messages_of(response) == ["Test API: A domain name is required"]


def session_action(admin_client, action, *sessions):
    return admin_client.post(
        url("websocketsession"),
        {"action": action, "_selected_action": [s.pk for s in sessions]},
        follow=True,
    )


def test_send_test_message_action(admin_client, websocket_session):
    with capture_messages() as outbox:
        response = session_action(admin_client, "send_test_message", websocket_session)
    assert outbox.to("connection-1")[0]["type"] == "test"
    (message,) = messages_of(response)
    report = DeliveryReport.objects.get()
    assert url("deliveryreport", "change", report.pk) in message


def test_disconnect_action(admin_client, websocket_session, api_gateway):
    other = WebSocketSession.objects.create(connection_id="c-2", api_gateway=api_gateway)
    client = Mock()
    client.delete_connection.side_effect = [
        None,
        ClientError({"Error": {"Code": "ForbiddenException"}}, "DeleteConnection"),
    ]
    with patch(PATCH_CLIENT, return_value=client):
        response = session_action(admin_client, "disconnect_sessions", websocket_session, other)
    messages = messages_of(response)
    assert messages[-1] == "1 session(s) disconnected, 1 failed."
    assert any("disconnect failed" in m for m in messages)
    assert WebSocketSession.objects.filter(connected=True).count() == 1

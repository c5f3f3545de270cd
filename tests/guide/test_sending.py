"""The testing guide's sending, broadcast, stale-connection and command examples, unchanged."""

from unittest.mock import Mock, patch

import pytest
from botocore.exceptions import ClientError
from django.core.management import call_command

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession


@pytest.mark.django_db
def test_send_message_posts_to_connection(settings):
    settings.AWS_GATEWAY_REGION_NAME = "eu-west-1"

    api_gateway = ApiGateway.objects.create(
        api_name="Test API",
        target_base_endpoint="https://testserver/ws/",
        api_id="abc123",
        api_created=True,
        stage_name="test",
    )

    session = WebSocketSession.objects.create(
        connection_id="connection-1",
        api_gateway=api_gateway,
        channel_name="general",
    )

    client = Mock()
    client.post_to_connection.return_value = {"ResponseMetadata": {"HTTPStatusCode": 200}}

    with patch(
        "django_aws_api_gateway_websockets.models.get_boto3_client",
        return_value=client,
    ):
        session.send_message(
            {
                "type": "test",
                "message": "Hello",
            }
        )

    client.post_to_connection.assert_called_once()


@pytest.mark.django_db
def test_send_message_to_channel(settings):
    settings.AWS_GATEWAY_REGION_NAME = "eu-west-1"

    api_gateway = ApiGateway.objects.create(
        api_name="Test API",
        target_base_endpoint="https://testserver/ws/",
        api_id="abc123",
        api_created=True,
        stage_name="test",
    )

    WebSocketSession.objects.create(
        connection_id="connection-1",
        api_gateway=api_gateway,
        channel_name="general",
        connected=True,
    )
    WebSocketSession.objects.create(
        connection_id="connection-2",
        api_gateway=api_gateway,
        channel_name="general",
        connected=True,
    )
    WebSocketSession.objects.create(
        connection_id="connection-3",
        api_gateway=api_gateway,
        channel_name="support",
        connected=True,
    )

    client = Mock()
    client.post_to_connection.return_value = {"ResponseMetadata": {"HTTPStatusCode": 200}}

    with patch(
        "django_aws_api_gateway_websockets.models.get_boto3_client",
        return_value=client,
    ):
        WebSocketSession.objects.filter(
            channel_name="general",
        ).send_message(
            {
                "type": "test",
                "message": "Hello general.",
            }
        )

    assert client.post_to_connection.call_count == 2


gone_error = ClientError(
    {
        "Error": {
            "Code": "GoneException",
            "Message": "Gone",
        }
    },
    "PostToConnection",
)


@pytest.mark.django_db
def test_gone_connection_is_marked_disconnected(api_gateway):
    # The guide gives the gone error above as an outline; this is its use.
    session = WebSocketSession.objects.create(
        connection_id="connection-1", api_gateway=api_gateway, channel_name="general"
    )
    WebSocketSession.objects.filter(pk=session.pk).update(
        created_on=session.created_on.replace(year=2020)
    )
    client = Mock()
    client.post_to_connection.side_effect = gone_error

    with patch("django_aws_api_gateway_websockets.models.get_boto3_client", return_value=client):
        report = session.send_message({"type": "test"})

    session.refresh_from_db()
    report.refresh_from_db()
    assert session.connected is False
    assert (report.recipients, report.delivered, report.gone, report.failed) == (1, 0, 1, 0)


@pytest.mark.django_db
def test_clear_websocket_sessions_command():
    api_gateway = ApiGateway.objects.create(
        api_name="Test API",
        target_base_endpoint="https://testserver/ws/",
        api_id="abc123",
        api_created=True,
        stage_name="test",
    )

    WebSocketSession.objects.create(
        connection_id="connected",
        api_gateway=api_gateway,
        connected=True,
    )

    WebSocketSession.objects.create(
        connection_id="disconnected",
        api_gateway=api_gateway,
        connected=False,
    )

    call_command("clearWebSocketSessions")

    assert WebSocketSession.objects.filter(connection_id="connected").exists()
    assert not WebSocketSession.objects.filter(connection_id="disconnected").exists()


@pytest.mark.django_db
def test_cleanup_command_accepts_the_guide_kwargs():
    call_command(
        "cleanupWebSocketTokens",
        token_age=300,
        rate_limit_age=7,
    )

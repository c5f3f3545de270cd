"""The helpers we ship for our users' tests."""

import pytest

from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import OutboxClient, SentMessage, gone_error


@pytest.mark.django_db
def test_outbox_fixture_records_sends(websocket_outbox, websocket_session):
    report = websocket_session.send_message({"type": "hello"})
    (message,) = websocket_outbox
    assert message.connection_id == "connection-1"
    assert message.data == {"type": "hello", "delivery_id": str(report.pk)}
    assert message.delivery_id == str(report.pk)


@pytest.mark.django_db
def test_outbox_gone_ids_answer_gone(websocket_outbox, websocket_session, api_gateway):
    WebSocketSession.objects.update(created_on=websocket_session.created_on.replace(year=2020))
    websocket_outbox.gone.add("connection-1")
    report = websocket_session.send_message({"type": "hello"})
    report.refresh_from_db()
    assert list(websocket_outbox) == []
    assert report.gone == 1


def test_outbox_client_records_text_and_deletes():
    outbox = []
    client = OutboxClient(outbox, endpoint="http://x")
    client.post_to_connection(Data="[1]", ConnectionId="a")
    client.delete_connection(ConnectionId="a")
    with pytest.raises(type(gone_error())):
        client.post_to_connection(Data=b"{}", ConnectionId="a")
    assert outbox == [SentMessage("a", "http://x", "[1]")]
    assert outbox[0].delivery_id is None


def test_header_fixtures(websocket_headers, websocket_connect_headers):
    assert websocket_headers["HTTP_CONNECTIONID"] == "connection-1"
    assert websocket_connect_headers["HTTP_SEC_WEBSOCKET_VERSION"] == "13"

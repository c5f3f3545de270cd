"""The testing guide's view examples, unchanged, with the guide's own header helpers.

The guide defines ``api_gateway_headers`` and ``api_gateway_connect_headers`` in the user's
test code (the latter sends ``Cookie: sessionid=test``); they are copied here as written.
``testing`` ships the same headers, except that its connect headers send a cookie only when
asked, so that a logged-in test client keeps its own (``test_shipped_header_helpers``).
"""

import json

import pytest
from django.test import Client

from django_aws_api_gateway_websockets import testing
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession


def api_gateway_headers(api_id="abc123", connection_id="connection-1"):
    return {
        "HTTP_HOST": "testserver",
        "HTTP_X_FORWARDED_FOR": "127.0.0.1",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_CONNECTIONID": connection_id,
        "HTTP_USER_AGENT": f"AmazonAPIGateway_{api_id}",
        "HTTP_X_AMZN_APIGATEWAY_API_ID": api_id,
        "HTTP_X_AMZN_TRACE_ID": "Root=1-test",
        "HTTP_X_FORWARDED_PORT": "443",
        "HTTP_X_REAL_IP": "127.0.0.1",
    }


def api_gateway_connect_headers(api_id="abc123", connection_id="connection-1"):
    headers = api_gateway_headers(api_id=api_id, connection_id=connection_id)
    headers.update(
        {
            "HTTP_COOKIE": "sessionid=test",
            "HTTP_ORIGIN": "https://testserver",
            "HTTP_SEC_WEBSOCKET_EXTENSIONS": "permessage-deflate",
            "HTTP_SEC_WEBSOCKET_KEY": "test-key",
            "HTTP_SEC_WEBSOCKET_VERSION": "13",
        }
    )
    return headers


@pytest.mark.django_db
def test_default_handler_returns_message():
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
        channel_name="testing",
    )

    client = Client()

    response = client.post(
        "/ws/default",
        data=json.dumps(
            {
                "action": "default",
                "message": "Hello",
            }
        ),
        content_type="application/json",
        **api_gateway_headers(
            api_id="abc123",
            connection_id="connection-1",
        ),
    )

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["message"] == "Hello"


@pytest.mark.django_db
def test_connect_creates_websocket_session():
    ApiGateway.objects.create(
        api_name="Test API",
        target_base_endpoint="https://testserver/ws/",
        api_id="abc123",
        api_created=True,
        stage_name="test",
    )

    client = Client()

    response = client.post(
        "/ws/connect?channel=general",
        data="",
        content_type="application/json",
        **api_gateway_connect_headers(
            api_id="abc123",
            connection_id="connection-1",
        ),
    )

    assert response.status_code == 200

    session = WebSocketSession.objects.get(connection_id="connection-1")
    assert session.channel_name == "general"
    assert session.connected is True


@pytest.mark.django_db
def test_disconnect_marks_session_disconnected():
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

    client = Client()

    response = client.post(
        "/ws/disconnect",
        data="",
        content_type="application/json",
        **api_gateway_headers(
            api_id="abc123",
            connection_id="connection-1",
        ),
    )

    assert response.status_code == 200

    session = WebSocketSession.objects.get(connection_id="connection-1")
    assert session.connected is False


def test_shipped_header_helpers():
    assert testing.api_gateway_headers("x1", "c-9") == api_gateway_headers("x1", "c-9")
    guide = api_gateway_connect_headers("x1", "c-9")
    assert testing.api_gateway_connect_headers("x1", "c-9", cookie="sessionid=test") == guide
    del guide["HTTP_COOKIE"]  # by default the test client's own cookies are sent
    assert testing.api_gateway_connect_headers("x1", "c-9") == guide

"""Delivery under moto, botocore's Stubber and other interceptors never goes around them."""

from __future__ import annotations

import socket
from unittest.mock import patch
from urllib.parse import quote

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.models import botocore_stubber

from django_aws_api_gateway_websockets.aws import clients
from django_aws_api_gateway_websockets.aws.direct_post import DirectPoster
from django_aws_api_gateway_websockets.aws.interception import intercepted
from django_aws_api_gateway_websockets.models import WebSocketSession

ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/test"

pytestmark = pytest.mark.usefixtures("unguarded_factory")


@pytest.fixture
def no_network():
    """Record every outgoing TCP connection the code under test opens."""
    opened: list[tuple] = []
    real = socket.create_connection

    def create_connection(address, *args, **kwargs):
        opened.append(address)
        return real(address, *args, **kwargs)

    with patch("socket.create_connection", create_connection):
        yield opened


@pytest.mark.django_db
def test_under_mock_aws_moto_receives_the_post_and_no_socket_opens(websocket_session, no_network):
    with mock_aws():
        report = websocket_session.send_message({"type": "hello"})
        backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        posted = backend.connections[quote(websocket_session.connection_id, safe="")].data
    assert b'"type":"hello"' in posted
    report.refresh_from_db()
    assert (report.delivered, report.failed) == (1, 0)
    assert no_network == []


def test_a_client_moto_cannot_see_is_not_reused_under_the_mock():
    before = clients.management_client(ENDPOINT)
    # As for a client made before moto was imported: moto's hook is not registered on it.
    before.meta.events.unregister("before-send", botocore_stubber)
    with mock_aws():
        inside = clients.management_client(ENDPOINT)
        assert inside is not before
        assert clients.management_poster(ENDPOINT) is inside
    # Outside the mock the client (moto's hook now idle) is posted around again.
    assert isinstance(clients.management_poster(ENDPOINT), DirectPoster)


def test_an_active_stubber_gets_the_posts():
    client = clients.management_client(ENDPOINT)
    with Stubber(client):
        assert clients.management_poster(ENDPOINT) is client
    assert isinstance(clients.management_poster(ENDPOINT), DirectPoster)


def test_a_before_send_handler_gets_the_posts():
    client = clients.management_client(ENDPOINT)

    def answer(**kwargs):
        return None

    client.meta.events.register("before-send.apigatewaymanagementapi", answer)
    try:
        assert clients.management_poster(ENDPOINT) is client
    finally:
        client.meta.events.unregister("before-send.apigatewaymanagementapi", answer)
    assert isinstance(clients.management_poster(ENDPOINT), DirectPoster)


def test_a_botocore_whose_handlers_cannot_be_read_counts_as_intercepted(caplog):
    client = boto3.client("apigatewaymanagementapi", endpoint_url=ENDPOINT, region_name="eu-west-1")
    with patch.object(client.meta.events, "_emitter", None):
        assert intercepted(client) is True
    assert "Cannot inspect" in caplog.text


@pytest.mark.django_db
def test_a_session_under_stubber_gets_its_scripted_error(websocket_session, settings):
    settings.WEBSOCKETS = {"gone_grace_seconds": 1}
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(
        created_on=websocket_session.created_on.replace(year=2020)
    )
    client = clients.management_client(ENDPOINT)
    with Stubber(client) as stubber:
        stubber.add_client_error("post_to_connection", "GoneException", http_status_code=410)
        report = websocket_session.send_message({"type": "x"})
        stubber.assert_no_pending_responses()
    report.refresh_from_db()
    assert report.gone == 1
    assert WebSocketSession.objects.get(pk=websocket_session.pk).connected is False

"""The helpers we ship for our users' tests."""

from pathlib import Path
from unittest.mock import patch

import pytest
from botocore.stub import Stubber
from django.test import Client
from django.urls import path
from moto import mock_aws

from django_aws_api_gateway_websockets import boto3_factory as factory
from django_aws_api_gateway_websockets import models
from django_aws_api_gateway_websockets.aws import interception
from django_aws_api_gateway_websockets.aws.direct_post import supports
from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import (
    PATCH_TARGET,
    AWSCallRefused,
    OutboxClient,
    SentMessage,
    api_gateway_connect_headers,
    capture_messages,
    connect_headers_for,
    gone_error,
    refuse_aws_calls,
)
from django_aws_api_gateway_websockets.views import WebSocketTokenView, WebSocketView

pytest_plugins = ["pytester"]
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.django_db
def test_outbox_fixture_records_sends(websocket_outbox, websocket_session):
    report = websocket_session.send_message({"type": "hello"})
    (message,) = websocket_outbox
    assert message.connection_id == "connection-1"
    assert message.data == {
        "type": "hello",
        "delivery_id": str(report.pk),
        "$ws": {"id": str(report.pk)},
    }
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


# Fixtures that compose: a logged-in client, its connect headers and a token for its session


class TokenView(WebSocketView):
    USE_WS_TOKEN = True


class CookieView(WebSocketView):
    USE_WS_TOKEN = False


urlpatterns = [
    path("ws/<slug:route>", TokenView.as_view()),
    path("api/ws-token/", WebSocketTokenView.as_view()),
    path("cookie-ws/<slug:route>", CookieView.as_view()),
]


def connect(client, url, headers):
    return client.post(url, data="", content_type="application/json", **headers)


@pytest.mark.urls(__name__)
def test_token_and_connect_header_fixtures_compose(
    client, api_gateway, websocket_user, websocket_token, websocket_connect_headers
):
    response = connect(
        client, f"/ws/connect?ws_token={websocket_token.token}", websocket_connect_headers
    )

    assert response.status_code == 200, response.content
    assert WebSocketSession.objects.get(connection_id="connection-1").user == websocket_user
    # Single use: the same token is refused on the next connect.
    again = connect_headers_for(client, connection_id="connection-2")
    assert connect(client, f"/ws/connect?ws_token={websocket_token.token}", again).status_code == (
        403
    )


@pytest.mark.urls(__name__)
def test_connect_headers_for_a_client_keep_its_login(client, api_gateway, websocket_user):
    client.force_login(websocket_user)

    assert connect(client, "/cookie-ws/connect", connect_headers_for(client)).status_code == 200
    # A cookie given explicitly replaces the client's login, as the guide's own helper does.
    other = api_gateway_connect_headers(connection_id="connection-2", cookie="sessionid=test")
    assert connect(client, "/cookie-ws/connect", other).status_code == 200
    users = dict(WebSocketSession.objects.values_list("connection_id", "user"))
    assert users == {"connection-1": websocket_user.pk, "connection-2": None}


@pytest.mark.urls(__name__)
def test_log_in_get_a_token_and_connect_on_the_same_client(client, api_gateway, websocket_user):
    """The browser's flow with the shipped headers: they keep the client's session cookie."""
    client.force_login(websocket_user)
    token = client.post("/api/ws-token/").json()["token"]

    response = connect(client, f"/ws/connect?ws_token={token}", api_gateway_connect_headers())

    assert response.status_code == 200, response.content
    assert WebSocketSession.objects.get().user == websocket_user


def test_connect_headers_send_a_cookie_only_when_asked():
    assert "HTTP_COOKIE" not in api_gateway_connect_headers()
    assert api_gateway_connect_headers(cookie="a=b")["HTTP_COOKIE"] == "a=b"


def test_connect_headers_for_a_client_without_cookies_send_a_placeholder():
    assert connect_headers_for(Client(), connection_id="c2") == api_gateway_connect_headers(
        connection_id="c2", cookie="sessionid=test"
    )


@pytest.mark.django_db
def test_capturing_a_send_without_eager_celery_says_what_to_do(websocket_session, settings):
    from worker import app as celery_app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    try:
        with pytest.raises(AssertionError, match="CELERY_TASK_ALWAYS_EAGER = True"):  # noqa: SIM117
            with capture_messages():
                websocket_session.send_message({"type": "hello"})
    finally:
        celery_app.conf.task_always_eager = True


@pytest.mark.django_db
def test_capturing_nothing_sent_is_no_error(websocket_session):
    with capture_messages() as outbox:
        pass
    assert outbox == []


def test_websocket_client_is_the_logged_in_client(client, websocket_client, websocket_user):
    assert websocket_client is client
    assert int(client.session["_auth_user_id"]) == websocket_user.pk


# Nothing reaches AWS


def test_loopback_clients_are_left_alone_and_others_are_guarded():
    # The plugin guards every test already: start from the unguarded factory.
    with patch(PATCH_TARGET, factory.get_boto3_client), refuse_aws_calls(["localstack"]):
        loopback = [
            models.get_boto3_client("apigatewaymanagementapi", endpoint_url=url)
            for url in ("http://127.0.0.1:8001/local", "http://localhost:1/s", "http://[::1]:2/s")
        ]
        allowed = models.get_boto3_client(
            "apigatewaymanagementapi", endpoint_url="http://LocalStack:4566/s"
        )
        remote = models.get_boto3_client(
            "apigatewaymanagementapi",
            endpoint_url="https://abc.execute-api.us-east-1.amazonaws.com/s",
        )
    for client in [*loopback, allowed]:
        assert not interception.intercepted(client, "PostToConnection")
        assert supports(client)
    # A guarded client goes through botocore, where the guard (and moto, and Stubber) run.
    assert interception.intercepted(remote, "PostToConnection")
    assert not supports(remote)


def test_a_refused_call_raises_before_it_is_signed(settings):
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = None  # no credentials either
    with patch(PATCH_TARGET, factory.get_boto3_client), refuse_aws_calls() as refused:
        client = models.get_boto3_client("apigatewayv2")
        with pytest.raises(AWSCallRefused, match="websocket_outbox fixture"):
            client.get_apis()
    assert refused == ["apigatewayv2.GetApis to https://apigateway.us-east-1.amazonaws.com"]


GUARDED_TESTS = """
import pytest
from unittest.mock import Mock, patch

from botocore.stub import Stubber
from moto import mock_aws

from django_aws_api_gateway_websockets import models
from django_aws_api_gateway_websockets.testing import capture_messages

pytestmark = pytest.mark.django_db


def test_forgot_to_capture(websocket_session):
    report = websocket_session.send_message({"type": "hello"})
    report.refresh_from_db()
    assert report.failed == 1  # the engine recorded the refusal and carried on


def test_captured(websocket_session):
    with capture_messages() as outbox:
        websocket_session.send_message({"type": "hello"})
    assert outbox.to("connection-1")[0]["type"] == "hello"


def test_outbox_fixture(websocket_outbox, websocket_session):
    websocket_session.send_message({"type": "hello"})
    assert len(websocket_outbox) == 1


def test_patched_client(websocket_session):
    client = Mock()
    with patch("django_aws_api_gateway_websockets.models.get_boto3_client", return_value=client):
        websocket_session.send_message({"type": "hello"})
    client.post_to_connection.assert_called_once()


def test_moto(websocket_session, monkeypatch):
    with mock_aws():
        report = websocket_session.send_message({"type": "hello"})
    report.refresh_from_db()
    assert report.delivered == 1


def test_stubber():
    client = models.get_boto3_client("apigatewayv2")
    with Stubber(client) as stubber:
        stubber.add_response("get_apis", {"Items": []})
        assert client.get_apis()["Items"] == []


def test_unstubbed_provisioning_call():
    models.get_boto3_client("apigatewayv2").get_apis()
"""


def test_the_plugin_fails_tests_that_call_aws_and_names_the_fix(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    monkeypatch.delenv("DATABASE_URL", raising=False)  # never the outer run's test database
    pytester.makepyfile(test_guarded=GUARDED_TESTS)

    result = pytester.runpytest_subprocess(
        "--ds", "tests.settings", "-p", "no:cacheprovider", "-p", "no:celery_docker", "-rf"
    )

    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*This test called AWS (refused, nothing was sent):*",
            "*apigatewaymanagementapi.PostToConnection to https://abc123.execute-api.us-east-1*",
            "*Tests must not reach AWS: record sends with the websocket_outbox fixture or "
            "`with capture_messages():`*websocket_aws_allowed_hosts*",
            "*AWSCallRefused: apigatewayv2.GetApis to https://apigateway.us-east-1.amazonaws.com "
            "would reach AWS. Tests must not reach AWS: record sends with the websocket_outbox*",
            "FAILED test_guarded.py::test_forgot_to_capture*",
            "FAILED test_guarded.py::test_unstubbed_provisioning_call*",
        ],
        consecutive=False,
    )


def test_direct_posting_never_bypasses_moto_or_a_stubber():
    endpoint = "https://abc.execute-api.us-east-1.amazonaws.com/s"

    def client():
        return factory.get_boto3_client("apigatewaymanagementapi", endpoint_url=endpoint)

    plain = client()
    assert supports(plain)
    with Stubber(plain):
        assert not supports(plain)
    assert supports(plain)
    with mock_aws():
        mocked = client()
        assert not supports(mocked)  # moto answers from a hook that only botocore runs
    assert supports(mocked)  # moto's handler stays registered, idle

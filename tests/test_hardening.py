"""Holes found by attacking a deployment made from the docs: each closed, each shown here.

Channel names matched whole; API ids that cannot redirect signed posts; handlers only from
the view's own functions; empty ``__in`` sends; the rate limit counting failures only; the
Origin check comparing origins, with ``CSRF_TRUSTED_ORIGINS`` wildcards.
"""

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.urls import path

from django_aws_api_gateway_websockets.boto3_factory import management_endpoint
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ChannelPermission,
    ConnectionRateLimit,
    WebSocketSession,
)
from django_aws_api_gateway_websockets.testing import capture_messages
from django_aws_api_gateway_websockets.views import WebSocketView
from tests.test_views_security import MAPPED_CONNECT_HEADERS, connect, message

pytestmark = [pytest.mark.urls(__name__)]


class PublicHelpers:
    """A mixin (not a view) whose public methods must never be handlers."""

    def shutdown(self, request, *args, **kwargs):
        return JsonResponse({"called": "shutdown"})

    def greet(self, request, *args, **kwargs):
        return JsonResponse({"called": "mixin greet"})


class CallableThing:
    def __call__(self, request, *args, **kwargs):
        return JsonResponse({"called": "callable object"})


class ChatView(PublicHelpers, WebSocketView):
    USE_WS_TOKEN = False
    ADDITIONAL_ALLOWED_HANDLERS = ["change_channel"]
    helper = CallableThing()
    Nested = type("Nested", (), {})
    limit = 5

    def default(self, request, *args, **kwargs):
        return JsonResponse({"called": "default"})

    def greet(self, request, *args, **kwargs):  # the view's own: it overrides the mixin's
        return JsonResponse({"called": "view greet"})

    def hello(self, request, *args, **kwargs):
        return JsonResponse({"called": "hello"})

    def _private(self, request, *args, **kwargs):
        return JsonResponse({"called": "private"})

    @staticmethod
    def static(request, *args, **kwargs):
        return JsonResponse({"called": "static"})


class SubChatView(ChatView):
    def sub_handler(self, request, *args, **kwargs):
        return JsonResponse({"called": "sub"})


urlpatterns = [
    path("ws/<slug:route>", ChatView.as_view()),
    path("sub-ws/<slug:route>", SubChatView.as_view()),
]


# 15.9: channel names are matched whole


@pytest.mark.parametrize("name", ["staff\n", "staff\r\n", "a\nb", "", "x" * 129, "st aff"])
def test_a_channel_name_with_anything_after_it_is_refused(name):
    assert not ChatView().is_valid_channel_name(name)


@pytest.mark.django_db
def test_connect_and_change_channel_refuse_a_trailing_newline(client, websocket_session):
    ChannelPermission.objects.create(channel_name="staff", access="staff_only")
    url = "/ws/connect?channel=staff%0A"
    assert connect(client, MAPPED_CONNECT_HEADERS, url).status_code == 400
    body = {"action": "change_channel", "channel": "staff\n"}
    assert message(client, _message_headers(), body).json() == {"error": "Invalid channel name."}
    assert not WebSocketSession.objects.filter(channel_name__startswith="staff").exists()


@pytest.mark.django_db
def test_channel_rules_and_gateway_defaults_refuse_a_trailing_newline():
    with pytest.raises(ValidationError):
        ChannelPermission(channel_name="staff\n").full_clean()
    with pytest.raises(ValidationError, match="default_channel_name"):
        ApiGateway.objects.create(api_name="G", default_channel_name="lobby\n")


def test_a_connection_id_with_a_trailing_newline_is_refused(client):
    headers = {**_message_headers(), "HTTP_CONNECTIONID": "connection-1\n"}
    assert message(client, headers).json() == {"error": "Malformed connection id."}


# 15.10: API ids cannot point signed posts at another host


@pytest.mark.parametrize(
    "api_id", ["evil.com#", "attacker.example/x", "a@b", "abc:1", "ABC123", "abcdefghijk", ""]
)
def test_an_api_id_that_could_change_the_endpoint_host_is_refused(api_id, db):
    with pytest.raises(ValidationError, match="api_id"):
        ApiGateway.objects.create(api_name="Crafted", api_id=api_id or " ")
    with pytest.raises(ValueError, match="Invalid API Gateway id"):
        management_endpoint(api_id, "production")


@pytest.mark.django_db
def test_ids_as_api_gateway_makes_them_and_as_the_guide_uses_them_are_accepted():
    for number, api_id in enumerate(["a1b2c3d4e5", "abc123", "x"]):
        ApiGateway.objects.create(api_name=f"G{number}", api_id=api_id)
    assert management_endpoint("a1b2c3d4e5", "production").startswith("https://a1b2c3d4e5.")


@pytest.mark.django_db
def test_a_session_of_a_gateway_with_a_malformed_id_is_failed_not_posted(websocket_session):
    ApiGateway.objects.filter(pk=websocket_session.api_gateway_id).update(api_id="evil.com#")
    with capture_messages() as outbox:
        report = websocket_session.send_message({"type": "x"})
    report.refresh_from_db()
    assert outbox == []
    assert (report.delivered, report.failed) == (0, 1)


def _deploy_warnings():
    return [m for m in run_checks(include_deployment_checks=True) if m.id.endswith("W030")]


def test_check_deploy_warns_when_no_integration_hosts_are_allowed(settings):
    settings.WEBSOCKETS = {}
    (warning,) = _deploy_warnings()
    assert "allowed_integration_hosts" in warning.msg
    settings.WEBSOCKETS = {"allowed_integration_hosts": ["example.com"]}
    assert _deploy_warnings() == []


def test_a_plain_check_does_not_warn_about_integration_hosts(settings):
    settings.WEBSOCKETS = {}
    assert [m for m in run_checks() if m.id.endswith("W030")] == []


# 15.11 / 16.14: handlers are the view's own plain functions


def test_handlers_are_plain_functions_of_the_views_own_classes():
    # The built-in actions every view answers: the heartbeat and the channel actions.
    base = {"default", "change_channel", "ping", "subscribe", "unsubscribe", "presence"}
    assert ChatView.allowed_handlers() == {*base, "hello", "greet"}
    assert SubChatView.allowed_handlers() == {*base, "hello", "greet", "sub_handler"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action", ["shutdown", "helper", "Nested", "limit", "_private", "static", "dispatch"]
)
def test_a_client_cannot_call_what_is_not_a_handler(client, websocket_session, action):
    response = message(client, _message_headers(), {"action": action})
    assert response.json() == {"called": "default"}


@pytest.mark.django_db
def test_a_client_can_call_the_views_own_functions(client, websocket_session):
    assert message(client, _message_headers(), {"action": "hello"}).json() == {"called": "hello"}
    greet = message(client, _message_headers(), {"action": "greet"})
    assert greet.json() == {"called": "view greet"}
    response = message(client, _message_headers(), {"action": "sub_handler"}, url="/sub-ws/default")
    assert response.json() == {"called": "sub"}


# 15.11: successes do not count towards the connect rate limit


@pytest.mark.django_db
def test_many_successful_connects_from_one_address_are_not_limited(client, api_gateway, settings):
    settings.WEBSOCKETS = {"rate_limit_max_attempts": 3}
    statuses = [
        connect(client, {**MAPPED_CONNECT_HEADERS, "HTTP_CONNECTIONID": f"ok{n}"}).status_code
        for n in range(6)
    ]
    assert statuses == [200] * 6
    assert ConnectionRateLimit.check_rate_limit("203.0.113.7", max_attempts=3) == (True, 0)


@pytest.mark.django_db
def test_failed_attempts_still_reach_the_limit():
    for _ in range(3):
        ConnectionRateLimit.record_attempt(ip_address="192.0.2.1", successful=True)
        ConnectionRateLimit.record_attempt(ip_address="192.0.2.1", successful=False)
    assert ConnectionRateLimit.check_rate_limit("192.0.2.1", max_attempts=3) == (False, 3)


# 16.14: the Origin check compares origins


@pytest.mark.parametrize(
    ("origin", "trusted", "allowed"),
    [
        ("http://testserver", [], True),
        ("HTTPS://TestServer", [], True),
        ("https://testserver:443", [], True),
        ("http://testserver:80", [], True),
        ("https://testserver:8443", [], False),
        ("chrome-extension://testserver", [], False),
        ("ws://testserver", [], False),
        ("null", [], False),
        ("http://testserver.evil.com", [], False),
        ("https://app.example.com", ["https://app.example.com"], True),
        ("https://APP.example.com:443", ["https://app.example.com"], True),
        ("http://app.example.com", ["https://app.example.com"], False),
        ("https://eu.example.com", ["https://*.example.com"], True),
        ("https://a.b.example.com", ["https://*.example.com"], True),
        ("https://example.com", ["https://*.example.com"], True),
        ("https://badexample.com", ["https://*.example.com"], False),
        ("http://eu.example.com", ["https://*.example.com"], False),
        ("https://eu.example.com:8443", ["https://*.example.com:8443"], True),
        ("https://eu.example.com:8443", ["https://*.example.com"], False),
        ("https://eu.example.com", ["https://*.EXAMPLE.com:443"], True),
        ("https://example.com.evil.net", ["https://*.example.com"], False),
        ("https://eu.example.com", ["https://*example.com"], False),
    ],
)
@pytest.mark.django_db
def test_the_origin_check_compares_origins(client, api_gateway, settings, origin, trusted, allowed):
    settings.CSRF_TRUSTED_ORIGINS = trusted
    response = connect(client, {**MAPPED_CONNECT_HEADERS, "HTTP_ORIGIN": origin})
    assert response.status_code == (200 if allowed else 403), response.content
    if not allowed:
        assert response.json() == {"error": "Origin not allowed."}


def _message_headers():
    """What a provisioned gateway maps onto a message event of ``connection-1``."""
    return {"HTTP_CONNECTIONID": "connection-1", "HTTP_X_GATEWAY_API_ID": "abc123"}

"""WebSocketView and WebSocketTokenView: dispatch, checks, and every kind of bad input."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.http import JsonResponse
from django.test import Client
from django.urls import path
from django.utils import timezone

from django_aws_api_gateway_websockets.models import (
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
    hash_session_key,
)
from django_aws_api_gateway_websockets.models.credentials import hash_token
from django_aws_api_gateway_websockets.testing import (
    api_gateway_connect_headers,
    api_gateway_headers,
    connect_headers_for,
)
from django_aws_api_gateway_websockets.views import WebSocketTokenView, WebSocketView
from tests.support import admins

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class ChatView(WebSocketView):
    USE_WS_TOKEN = False
    HANDLER_PERMISSIONS = {"moderate": ["websockets.can_use_chat"]}

    def default(self, request, *args, **kwargs):
        return JsonResponse({"handler": "default", "user": str(request.user)})

    def shout(self, request, *args, **kwargs):
        return JsonResponse({"handler": "shout", "body": self.body})

    def moderate(self, request, *args, **kwargs):
        return JsonResponse({"handler": "moderate"})

    def quiet(self, request, *args, **kwargs):
        return None

    def _private(self, request, *args, **kwargs):  # pragma: no cover - must never run
        raise AssertionError("private handler called")

    def broken(self, request, *args, **kwargs):
        raise RuntimeError("handler bug")


class TokenChatView(ChatView):
    USE_WS_TOKEN = True


class AnyPermissionView(ChatView):
    permissions_required = ["websockets.can_use_chat", "auth.add_user"]


class AllPermissionView(ChatView):
    all_permissions_required = ["websockets.can_use_chat", "auth.add_user"]


class ExplicitHandlersView(ChatView):
    ALLOWED_HANDLERS = {"default", "change_channel"}


class PinnedView(ChatView):
    aws_api_gateway_id = "abc123"


class CountingConnectView(ChatView):
    """4.x's documented override: extend ``connect`` and read what ``super()`` answered."""

    def connect(self, request, *args, **kwargs):
        response = super().connect(request, *args, **kwargs)
        if response.status_code == 200:
            WebSocketSession.objects.filter(connection_id=self.connection_id).update(
                request_count=100
            )
        return response


class PrivateRoomView(ChatView):
    def has_channel_access(self, request, channel):
        return channel != "private"

    def _additional_connection_checks(self, request, *args, **kwargs):
        if request.GET.get("banned"):
            return False, "You are banned."
        return True, ""


urlpatterns = [
    path("ws/<slug:route>", ChatView.as_view()),
    path("token-ws/<slug:route>", TokenChatView.as_view()),
    path("any-ws/<slug:route>", AnyPermissionView.as_view()),
    path("all-ws/<slug:route>", AllPermissionView.as_view()),
    path("explicit-ws/<slug:route>", ExplicitHandlersView.as_view()),
    path("pinned-ws/<slug:route>", PinnedView.as_view()),
    path("private-ws/<slug:route>", PrivateRoomView.as_view()),
    path("counting-ws/<slug:route>", CountingConnectView.as_view()),
    path("api/ws-token/", WebSocketTokenView.as_view()),
]


def post(client, url, body=None, headers=None, raw=None):
    data = raw if raw is not None else ("" if body is None else json.dumps(body))
    return client.post(
        url, data=data, content_type="application/json", **(headers or api_gateway_headers())
    )


def connect(client, url="/ws/connect?channel=general", connection_id="connection-2", **extra):
    headers = connect_headers_for(client, connection_id=connection_id)
    headers.update(extra)
    return post(client, url, headers=headers)


# Message dispatch


def test_action_selects_handler(client, websocket_session):
    response = post(client, "/ws/default", {"action": "shout", "text": "hi"})
    assert response.json() == {"handler": "shout", "body": {"action": "shout", "text": "hi"}}


def test_handler_key_wins_over_action(client, websocket_session):
    response = post(client, "/ws/default", {"action": "default", "handler": "shout"})
    assert response.json()["handler"] == "shout"


@pytest.mark.parametrize("name", ["_private", "dispatch", "setup", "connect", "nope", 42])
def test_unknown_or_forbidden_names_fall_back_to_default(client, websocket_session, name):
    response = post(client, "/ws/default", {"action": name})
    assert response.status_code == 200
    assert response.json()["handler"] == "default"


def test_explicit_allowed_handlers_replace_the_automatic_set(client, websocket_session):
    assert post(client, "/explicit-ws/default", {"action": "shout"}).json()["handler"] == "default"
    response = post(client, "/explicit-ws/default", {"action": "change_channel", "channel": "b"})
    assert response.json() == {"type": "channel_changed", "channel": "b"}


def test_handler_returning_none_answers_empty_json(client, websocket_session):
    response = post(client, "/ws/default", {"action": "quiet"})
    assert response.status_code == 200
    assert response.json() == {}


def test_ping_answers_pong(client, websocket_session):
    assert post(client, "/ws/default", {"action": "ping"}).json() == {"type": "pong"}


def test_message_counts_requests(client, websocket_session):
    post(client, "/ws/default", {"action": "default"})
    post(client, "/ws/default", {"action": "default"})
    websocket_session.refresh_from_db()
    assert websocket_session.request_count == 3


def test_a_message_is_an_event_the_presence_probe_counts(client, websocket_session):
    """``updated_on`` is the last event: the probe asks AWS only about idle connections."""
    long_ago = timezone.now() - timedelta(hours=1)
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(updated_on=long_ago)
    post(client, "/ws/default", {"action": "ping"})
    websocket_session.refresh_from_db()
    assert websocket_session.updated_on > long_ago


def test_session_user_is_request_user(client, websocket_session, websocket_user):
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(user=websocket_user)
    assert post(client, "/ws/default", {"action": "default"}).json()["user"] == "websocket-user"


def test_a_connection_without_a_user_acts_as_the_requests_login(
    client, websocket_session, websocket_user
):
    """API Gateway sends no cookie after $connect; a test client's login is honoured."""
    assert post(client, "/ws/default", {"action": "default"}).json()["user"] == "AnonymousUser"
    client.force_login(websocket_user)
    assert post(client, "/ws/default", {"action": "default"}).json()["user"] == "websocket-user"


def test_a_connection_with_a_user_never_acts_as_the_cookies(
    client, websocket_session, websocket_user, django_user_model
):
    owner = django_user_model.objects.create_user(username="owner")
    WebSocketSession.objects.filter(pk=websocket_session.pk).update(user=owner)
    client.force_login(websocket_user)
    assert post(client, "/ws/default", {"action": "default"}).json()["user"] == "owner"


def test_default_message_costs_two_queries(client, websocket_session, django_assert_num_queries):
    # One SELECT of session + gateway + user, one UPDATE of the request count.
    with django_assert_num_queries(2):
        post(client, "/ws/default", {"action": "default"})


def test_handler_exception_is_logged_mailed_and_raised(
    client, websocket_session, mailoutbox, settings
):
    settings.ADMINS = admins("admin@example.com")
    client.raise_request_exception = True
    with pytest.raises(RuntimeError, match="handler bug"):
        post(client, "/ws/default", {"action": "broken"})
    assert mailoutbox[0].subject.endswith("Unexpected Websocket Exception")
    assert mailoutbox[0].to == ["admin@example.com"]


# Permissions


def connected_as(session, user, *codenames):
    """The connection belongs to ``user`` (as after their $connect), with these permissions."""
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    WebSocketSession.objects.filter(pk=session.pk).update(user=user)


def test_per_handler_permission(client, websocket_session, websocket_user):
    connected_as(websocket_session, websocket_user)
    assert post(client, "/ws/default", {"action": "moderate"}).status_code == 403
    assert post(client, "/ws/default", {"action": "shout"}).status_code == 200
    connected_as(websocket_session, websocket_user, "can_use_chat")
    assert post(client, "/ws/default", {"action": "moderate"}).status_code == 200


def test_any_permission(client, websocket_session, websocket_user):
    connected_as(websocket_session, websocket_user)
    assert post(client, "/any-ws/default", {"action": "shout"}).json() == {
        "error": "Permission denied."
    }
    connected_as(websocket_session, websocket_user, "add_user")
    assert post(client, "/any-ws/default", {"action": "shout"}).status_code == 200


def test_all_permissions(client, websocket_session, websocket_user):
    connected_as(websocket_session, websocket_user, "add_user")
    assert post(client, "/all-ws/default", {"action": "shout"}).status_code == 403
    connected_as(websocket_session, websocket_user, "can_use_chat")
    assert post(client, "/all-ws/default", {"action": "shout"}).status_code == 200


def test_anonymous_is_denied_where_permissions_are_required(client, websocket_session):
    assert post(client, "/any-ws/default", {"action": "default"}).status_code == 403


# Channels


def test_change_channel(client, websocket_session):
    before = websocket_session.updated_on
    response = post(client, "/explicit-ws/default", {"action": "change_channel", "channel": "b-2"})
    assert response.status_code == 200
    websocket_session.refresh_from_db()
    assert websocket_session.channel_name == "b-2"
    assert websocket_session.updated_on > before  # as 4.x: the row records its last change


def test_disconnect_marks_the_session_and_when(client, websocket_session):
    before = websocket_session.updated_on
    assert post(client, "/ws/disconnect").status_code == 200
    websocket_session.refresh_from_db()
    assert websocket_session.connected is False
    assert websocket_session.updated_on > before


@pytest.mark.parametrize("channel", ["", "a b", "x" * 129, None, 5, "café"])
def test_change_channel_rejects_bad_names(client, websocket_session, channel):
    response = post(
        client, "/explicit-ws/default", {"action": "change_channel", "channel": channel}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid channel name."}
    websocket_session.refresh_from_db()
    assert websocket_session.channel_name == "general"


def test_channel_access_hook_applies_to_connect_and_change(client, api_gateway):
    assert connect(client, "/private-ws/connect?channel=private").status_code == 403
    assert not WebSocketSession.objects.exists()
    assert connect(client, "/private-ws/connect?channel=lobby").status_code == 200


# Connect


def test_connect_uses_gateway_default_channel(client, api_gateway):
    api_gateway.default_channel_name = "lobby"
    api_gateway.save()
    assert connect(client, "/ws/connect").status_code == 200
    assert WebSocketSession.objects.get().channel_name == "lobby"


def test_connect_answers_a_response_an_override_can_read(client, api_gateway):
    """4.x answered ``JsonResponse({})``; its docs have overrides read ``super().connect()``."""
    response = connect(client, "/counting-ws/connect")
    assert (response.status_code, response.json()) == (200, {})
    assert WebSocketSession.objects.get().request_count == 100


def test_connect_records_successful_attempt(client, api_gateway):
    connect(client)
    attempt = ConnectionRateLimit.objects.get()
    assert (attempt.ip_address, attempt.successful) == ("127.0.0.1", True)


def test_connect_rate_limited_per_ip(client, api_gateway, settings):
    settings.WEBSOCKETS = {"rate_limit_max_attempts": 2}
    # Successful connects do not count; two refused ones reach the limit.
    assert connect(client, connection_id="c1").status_code == 200
    assert connect(client, connection_id="c2", HTTP_ORIGIN="https://evil.test").status_code == 403
    assert connect(client, connection_id="c3", HTTP_ORIGIN="https://evil.test").status_code == 403
    response = connect(client, connection_id="c4")
    assert response.status_code == 429
    assert response.json() == {"error": "Too many connection attempts."}
    assert WebSocketSession.objects.count() == 1


def test_connect_rate_limited_per_user(client, api_gateway, websocket_user, settings):
    settings.WEBSOCKETS = {"rate_limit_max_attempts": 1}
    client.force_login(websocket_user)
    ConnectionRateLimit.record_attempt("10.0.0.9", websocket_user)
    response = connect(client, HTTP_COOKIE=f"sessionid={client.session.session_key}")
    assert response.status_code == 429


def test_connect_additional_checks_refuse_and_count(client, api_gateway):
    response = connect(client, "/private-ws/connect?channel=a&banned=1")
    assert response.json() == {"error": "You are banned."}
    assert ConnectionRateLimit.objects.get().successful is False


def test_duplicate_connection_id_is_refused(client, websocket_session):
    response = connect(client, connection_id="connection-1")
    assert response.status_code == 400
    assert response.json() == {"error": "Connection id already registered."}
    websocket_session.refresh_from_db()
    assert websocket_session.channel_name == "general"


def test_connect_with_token(client, api_gateway, websocket_user):
    client.force_login(websocket_user)
    session_key = client.session.session_key
    token = WebSocketToken.generate_token(websocket_user, session_key)
    cookie = f"sessionid={session_key}"
    url = f"/token-ws/connect?channel=general&ws_token={token.token}"
    assert connect(client, url, HTTP_COOKIE=cookie).status_code == 200
    assert WebSocketSession.objects.get().user == websocket_user
    # Single use: the same token cannot open a second connection.
    response = connect(client, url, connection_id="connection-3", HTTP_COOKIE=cookie)
    assert response.json() == {"error": "Invalid or expired token."}


def test_connect_token_bound_to_the_django_session(client, api_gateway, websocket_user):
    token = WebSocketToken.generate_token(websocket_user, "another-session-key")
    client.force_login(websocket_user)
    url = f"/token-ws/connect?ws_token={token.token}"
    response = connect(client, url, HTTP_COOKIE=f"sessionid={client.session.session_key}")
    assert response.status_code == 403
    assert not WebSocketSession.objects.exists()


def test_connect_without_token_is_refused(client, api_gateway):
    assert connect(client, "/token-ws/connect").status_code == 403


def test_connect_from_a_trusted_origin(client, api_gateway, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    assert connect(client, HTTP_ORIGIN="https://app.example.com").status_code == 200


# Bad input: a 4xx with a short JSON error, nothing stored or changed


BAD_MESSAGES = [
    ("invalid JSON", {"raw": "{not json"}, 400, "Body is not valid JSON."),
    ("JSON array", {"raw": "[1, 2]"}, 400, "Body must be a JSON object."),
    ("JSON string", {"raw": '"hello"'}, 400, "Body must be a JSON object."),
    ("no action", {"body": {"message": "x"}}, 400, "Body needs a 'handler' or 'action' key."),
    ("not UTF-8", {"raw": b"\xff\xfe"}, 400, "Body is not valid UTF-8."),
]


@pytest.mark.parametrize(("case", "kwargs", "status", "message"), BAD_MESSAGES)
def test_bad_bodies(client, websocket_session, case, kwargs, status, message):
    response = post(client, "/ws/default", **kwargs)
    assert (response.status_code, response.json()) == (status, {"error": message})
    websocket_session.refresh_from_db()
    assert websocket_session.request_count == 1


def test_body_over_the_limit(client, websocket_session):
    response = post(client, "/ws/default", {"action": "shout", "text": "x" * 140_000})
    assert response.status_code == 413
    assert response.json() == {"error": "Body larger than 131072 bytes."}


@pytest.mark.parametrize(
    ("header", "named"),
    [("HTTP_CONNECTIONID", "Connectionid"), ("HTTP_X_AMZN_APIGATEWAY_API_ID", "X-Gateway-Api-Id")],
)
def test_missing_headers(client, websocket_session, header, named):
    headers = api_gateway_headers()
    del headers[header]
    response = post(client, "/ws/default", {"action": "shout"}, headers=headers)
    assert (response.status_code, response.json()) == (400, {"error": f"Missing headers: {named}."})


def test_missing_connect_headers_are_named(client, api_gateway):
    headers = api_gateway_connect_headers(connection_id="c9", cookie="sessionid=x")
    del headers["HTTP_ORIGIN"], headers["HTTP_SEC_WEBSOCKET_KEY"]
    response = post(client, "/ws/connect", headers=headers)
    assert response.json() == {"error": "Missing headers: Origin, Sec-Websocket-Key."}
    assert not WebSocketSession.objects.exists()


def test_unknown_gateway_on_connect(client, api_gateway):
    headers = api_gateway_connect_headers(api_id="zzz999", connection_id="c5", cookie="s=x")
    response = post(client, "/ws/connect", headers=headers)
    assert response.json() == {"error": "Unknown API Gateway."}
    assert not WebSocketSession.objects.exists()


def test_message_through_another_gateway_is_refused(client, websocket_session):
    headers = api_gateway_headers(api_id="zzz999")
    response = post(client, "/ws/default", {"action": "shout"}, headers=headers)
    assert response.json() == {"error": "Unknown API Gateway."}


def test_pinned_gateway_id(client, websocket_session):
    headers = api_gateway_headers(api_id="other1")
    response = post(client, "/pinned-ws/default", {"action": "shout"}, headers=headers)
    assert response.json() == {"error": "Unknown API Gateway."}
    assert post(client, "/pinned-ws/default", {"action": "shout"}).status_code == 200


def test_unknown_connection_id(client, websocket_session):
    headers = api_gateway_headers(connection_id="never-connected")
    response = post(client, "/ws/default", {"action": "shout"}, headers=headers)
    assert (response.status_code, response.json()) == (400, {"error": "Unknown connection id."})
    response = post(client, "/ws/disconnect", headers=headers)
    assert response.status_code == 400
    websocket_session.refresh_from_db()
    assert websocket_session.connected is True


@pytest.mark.parametrize("connection_id", ["has space", "semi;colon", "x" * 129, "<script>"])
def test_malformed_connection_id(client, api_gateway, connection_id):
    response = connect(client, connection_id=connection_id)
    assert response.json() == {"error": "Malformed connection id."}
    assert not WebSocketSession.objects.exists()


@pytest.mark.parametrize("channel", ["a%20b", "x" * 129, "caf%C3%A9", "a/b"])
def test_bad_channel_names_on_connect(client, api_gateway, channel):
    response = connect(client, f"/ws/connect?channel={channel}")
    assert response.json() == {"error": "Invalid channel name."}
    assert not WebSocketSession.objects.exists()


def test_foreign_origin_on_connect(client, api_gateway):
    response = connect(client, HTTP_ORIGIN="https://evil.example")
    assert (response.status_code, response.json()) == (403, {"error": "Origin not allowed."})


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_wrong_methods(client, websocket_session, method):
    response = getattr(client, method)("/ws/default", **api_gateway_headers())
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "not allowed" in response.json()["error"]


# Token view


def test_token_requires_login(client):
    response = client.post("/api/ws-token/")
    assert (response.status_code, response.json()) == (403, {"error": "Authentication required."})


def test_token_is_bound_to_the_session_by_a_keyed_hash(client, websocket_user):
    client.force_login(websocket_user)
    token = client.post("/api/ws-token/").json()["token"]
    # The token and the session key are credentials: only their keyed hashes are stored.
    stored = WebSocketToken.objects.get(token=hash_token(token))
    assert not WebSocketToken.objects.filter(token=token).exists()
    assert stored.session_key == hash_session_key(client.session.session_key)
    assert client.session.session_key not in stored.session_key
    assert len(token) == 64


def test_token_rate_limit(client, websocket_user, settings):
    settings.WEBSOCKETS = {"token_rate_limit_per_minute": 2}
    client.force_login(websocket_user)
    assert [client.post("/api/ws-token/").status_code for _ in range(3)] == [200, 200, 429]


def test_token_expiry_setting(client, websocket_user, settings):
    settings.WEBSOCKETS = {"token_expiry_seconds": 30}
    client.force_login(websocket_user)
    assert client.post("/api/ws-token/").json()["expires_in"] == 30


def test_token_view_is_csrf_protected(websocket_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(websocket_user)
    assert client.post("/api/ws-token/").status_code == 403
    assert not WebSocketToken.objects.exists()


def test_token_view_refuses_get(client, websocket_user):
    client.force_login(websocket_user)
    response = client.get("/api/ws-token/")
    assert response.status_code == 405
    assert response.json() == {"error": "Method GET not allowed; use POST."}

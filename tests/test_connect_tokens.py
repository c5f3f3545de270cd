"""Connect tokens: stored as keyed hashes, never shown, and carried in the URL or a subprotocol.

A token in the URL ends up in access logs; the browser can carry it in
``Sec-WebSocket-Protocol`` instead, and an accepted ``$connect`` then answers with the
protocol API Gateway must pass back to the browser.
"""

import pytest
from django.contrib import admin
from django.http import JsonResponse
from django.urls import path

from django_aws_api_gateway_websockets.models import WebSocketSession, WebSocketToken
from django_aws_api_gateway_websockets.models.credentials import hash_token
from django_aws_api_gateway_websockets.views import WebSocketTokenView, WebSocketView
from tests.test_views_security import MAPPED_CONNECT_HEADERS, connect

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class TokenView(WebSocketView):
    def default(self, request, *args, **kwargs):
        return JsonResponse({})


class OwnProtocolView(TokenView):
    def connect(self, request, *args, **kwargs):
        response = super().connect(request, *args, **kwargs) or JsonResponse({})
        response["Sec-WebSocket-Protocol"] = "chat.v2"
        return response


urlpatterns = [
    path("ws/<slug:route>", TokenView.as_view()),
    path("own/<slug:route>", OwnProtocolView.as_view()),
    path("api/ws-token/", WebSocketTokenView.as_view()),
    path("admin/", admin.site.urls),
]


@pytest.fixture
def browser(client, websocket_user):
    """A logged-in browser: its cookie on $connect, and a fresh token."""
    client.force_login(websocket_user)
    headers = {**MAPPED_CONNECT_HEADERS, "HTTP_COOKIE": f"sessionid={client.session.session_key}"}
    token = client.post("/api/ws-token/").json()["token"]
    return headers, token


def protocols(*names):
    return {"HTTP_SEC_WEBSOCKET_PROTOCOL": ", ".join(names)}


def test_the_token_is_stored_as_a_keyed_hash(browser):
    _, token = browser
    (stored,) = WebSocketToken.objects.values_list("token", flat=True)
    assert stored == hash_token(token) and stored != token


def test_the_generated_instance_still_holds_the_clear_token(websocket_user):
    # The testing guide's example, unchanged.
    token = WebSocketToken.generate_token(user=websocket_user, session_key="s")
    assert WebSocketToken.validate_and_consume(token_value=token.token, session_key="s")
    assert WebSocketToken.validate_and_consume(token_value=token.token, session_key="s") is None


def test_the_stored_hash_is_not_a_token(websocket_user):
    WebSocketToken.generate_token(user=websocket_user, session_key="s")
    stored = WebSocketToken.objects.get().token
    assert WebSocketToken.validate_and_consume(token_value=stored, session_key="s") is None


def test_a_token_stored_in_clear_before_the_upgrade_validates_once(websocket_user):
    # As 4.1.0 left it (or a 4.1.0 process wrote it during a mixed rollout).
    legacy = "ab" * 32
    token = WebSocketToken.generate_token(user=websocket_user, session_key="s")
    WebSocketToken.objects.filter(pk=token.pk).update(token=legacy, token_hashed=False)
    assert WebSocketToken.objects.get().fingerprint == "(stored in clear by 4.x)"
    assert WebSocketToken.validate_and_consume(legacy, "s") == websocket_user
    assert WebSocketToken.validate_and_consume(legacy, "s") is None


def test_a_token_in_the_subprotocol_connects_and_the_protocol_is_answered(
    client, api_gateway, browser, websocket_user
):
    headers, token = browser
    offered = protocols("django-gateway-sockets", f"ws_token.{token}")
    response = connect(client, {**headers, **offered}, "/ws/connect?channel=general")
    assert response.status_code == 200
    assert response["Sec-WebSocket-Protocol"] == "django-gateway-sockets"
    assert WebSocketSession.objects.get().user == websocket_user


def test_a_token_in_the_url_still_connects_without_a_subprotocol(client, api_gateway, browser):
    headers, token = browser
    response = connect(client, headers, f"/ws/connect?ws_token={token}")
    assert response.status_code == 200
    assert "Sec-WebSocket-Protocol" not in response


@pytest.mark.parametrize(
    "offered",
    [
        ("django-gateway-sockets", "ws_token.guess"),
        ("django-gateway-sockets",),
        ("django-gateway-sockets", "ws_token."),
    ],
)
def test_a_bad_or_missing_subprotocol_token_is_refused(client, api_gateway, browser, offered):
    headers, _ = browser
    response = connect(client, {**headers, **protocols(*offered)}, "/ws/connect")
    assert (response.status_code, response.json()) == (403, {"error": "Invalid or expired token."})
    assert "Sec-WebSocket-Protocol" not in response
    assert not WebSocketSession.objects.exists()


def test_the_token_protocol_is_never_the_answer(client, api_gateway, browser):
    headers, token = browser
    offered = protocols(f"ws_token.{token}", "django-gateway-sockets")
    response = connect(client, {**headers, **offered}, "/ws/connect")
    assert response["Sec-WebSocket-Protocol"] == "django-gateway-sockets"
    assert token not in str(response.headers) and token not in response.content.decode()


def test_a_protocol_the_view_chose_is_kept(client, api_gateway, browser):
    headers, token = browser
    offered = protocols("chat.v2", "django-gateway-sockets", f"ws_token.{token}")
    response = connect(client, {**headers, **offered}, "/own/connect")
    assert response["Sec-WebSocket-Protocol"] == "chat.v2"


def test_the_admin_shows_neither_the_token_nor_its_hash(admin_client, websocket_user):
    token = WebSocketToken.generate_token(user=websocket_user, session_key="s")
    stored = WebSocketToken.objects.get()
    admin = "/admin/django_aws_api_gateway_websockets/websockettoken/"
    pages = [admin_client.get(admin), admin_client.get(f"{admin}{stored.pk}/change/")]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert token.token not in html and stored.token not in html
    assert stored.fingerprint in pages[0].content.decode()

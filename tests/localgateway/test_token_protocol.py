"""A connect token carried in ``Sec-WebSocket-Protocol`` through the local gateway to Django.

The gateway forwards the browser's offer with ``$connect`` and answers the handshake with
the protocol Django's integration named, as API Gateway does.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.http import JsonResponse
from django.urls import path

from django_aws_api_gateway_websockets.localgateway import GatewayConfig, GatewayThread
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession, WebSocketToken
from django_aws_api_gateway_websockets.views import WebSocketView

from .helpers import connect, only_connection_id, run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]


class TokenView(WebSocketView):
    def default(self, request: Any, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"user": str(request.user)})


urlpatterns = [path("ws/<slug:route>", TokenView.as_view())]


@pytest.fixture
def gateway(live_server: Any) -> Any:
    ApiGateway.objects.create(
        api_name="Live", api_id="live1", stage_name="test", gateway_secret="live-secret"
    )
    config = GatewayConfig(
        api_id="live1",
        stage="test",
        target_base_url=f"{live_server.url}/ws/",
        secret_header="X-Gateway-Secret",
        secret="live-secret",
    )
    thread = GatewayThread(config, shutdown_timeout=2.0)
    thread.start()
    yield thread
    thread.stop()


def test_a_token_in_the_subprotocol_opens_the_socket(
    gateway: GatewayThread, live_server: Any, websocket_user: Any
) -> None:
    browser_session = SessionStore()
    browser_session.create()
    token = WebSocketToken.generate_token(websocket_user, browser_session.session_key).token
    headers = {
        "Cookie": f"sessionid={browser_session.session_key}",
        "Origin": live_server.url,
    }

    async def scenario() -> tuple[str | None, str]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(
                session,
                gateway,
                "?channel=lobby",
                headers=headers,
                protocols=("django-gateway-sockets", f"ws_token.{token}"),
            )
            connection_id = await only_connection_id(gateway)
            protocol = ws.protocol
            await ws.close()
            return protocol, connection_id

    protocol, connection_id = run(scenario())
    assert protocol == "django-gateway-sockets"
    assert WebSocketSession.objects.get(connection_id=connection_id).user == websocket_user


def test_a_wrong_token_in_the_subprotocol_is_refused(gateway: GatewayThread, live_server: Any):
    async def scenario() -> int:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await connect(
                    session,
                    gateway,
                    headers={"Cookie": "sessionid=x", "Origin": live_server.url},
                    protocols=("django-gateway-sockets", "ws_token.guess"),
                )
            return refused.value.status

    assert run(scenario()) == 403
    assert not WebSocketSession.objects.exists()

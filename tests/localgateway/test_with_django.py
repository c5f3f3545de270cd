"""The views behind the strict local gateway: real WebSockets, a live Django, one secret.

The gateway sends only what AWS and the provisioned integrations send, so these pass only
if the views need nothing more.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from django_aws_api_gateway_websockets.localgateway import GatewayConfig, GatewayThread
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
)
from tests.support import wait_until

from .helpers import connect, only_connection_id, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_gateway(live_server: Any) -> Any:
    """A gateway record with its own secret, and a local gateway standing in for it."""

    def start(secret: str) -> GatewayThread:
        ApiGateway.objects.get_or_create(
            api_id="live1",
            defaults={
                "api_name": "Live",
                "stage_name": "test",
                "target_base_endpoint": f"{live_server.url}/ws/",
                "gateway_secret": "live-secret",
            },
        )
        config = GatewayConfig(
            api_id="live1",
            stage="test",
            target_base_url=f"{live_server.url}/ws/",
            secret_header="X-Gateway-Secret",
            secret=secret,
        )
        gateway = GatewayThread(config, shutdown_timeout=2.0)
        started.append(gateway.start())
        return gateway

    started: list[GatewayThread] = []
    yield start
    for gateway in started:
        gateway.stop()


def browser_headers(live_server: Any) -> dict[str, str]:
    return {"Cookie": "csrftoken=x", "Origin": live_server.url, "User-Agent": "Chromium/126"}


def test_a_conversation_through_the_strict_gateway(live_gateway: Any, live_server: Any) -> None:
    gateway = live_gateway("live-secret")

    async def scenario() -> tuple[str, Any]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(
                session, gateway, "?channel=lobby", headers=browser_headers(live_server)
            )
            connection_id = await only_connection_id(gateway)
            await ws.send_json({"action": "default", "message": "hello"})
            reply = await ws.receive_json(timeout=5)
            await ws.close()
            return connection_id, reply

    connection_id, reply = run(scenario())
    assert reply == {"ok": True, "message": "hello"}
    session = WebSocketSession.objects.get(connection_id=connection_id)
    assert session.channel_name == "lobby"
    wait_until(
        lambda: not WebSocketSession.objects.get(pk=session.pk).connected, what="$disconnect"
    )
    # Counted under the address the gateway mapped from the client's TCP connection.
    assert ConnectionRateLimit.objects.get().ip_address == "127.0.0.1"


def test_a_gateway_without_the_secret_cannot_connect(live_gateway: Any, live_server: Any) -> None:
    gateway = live_gateway("not-the-secret")

    async def scenario() -> int:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await connect(session, gateway, headers=browser_headers(live_server))
            return refused.value.status

    assert run(scenario()) == 403
    assert not WebSocketSession.objects.exists()

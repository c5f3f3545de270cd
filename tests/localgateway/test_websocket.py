"""The browser side: handshake via $connect, message routing, timeouts, $disconnect."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import WSMsgType

from django_aws_api_gateway_websockets.localgateway import GatewayThread
from tests.support import free_port, wait_until

from .helpers import (
    API_ID,
    CONNECTION_ID,
    SECRET,
    SECRET_HEADER,
    FakeTarget,
    connect,
    only_connection_id,
    run,
    ws_url,
)


def test_connect_forwards_query_string_browser_headers_and_gateway_headers(
    gateway: GatewayThread, target: FakeTarget
) -> None:
    async def scenario() -> str:
        async with aiohttp.ClientSession() as session:
            ws = await connect(
                session,
                gateway,
                "?ws_token=a%2Bb%3D&channel=general",
                headers={
                    "Cookie": "sessionid=abc; csrftoken=xyz",
                    "Origin": "http://site.test",
                    "User-Agent": "Mozilla/5.0 (pytest-browser)",
                },
                compress=15,  # Makes the client send Sec-WebSocket-Extensions.
            )
            connection_id = await only_connection_id(gateway)
            await ws.close()
            return connection_id

    connection_id = run(scenario())
    [request] = target.wait_for("/ws/connect")
    assert request.method == "POST"
    assert request.raw_query == "ws_token=a%2Bb%3D&channel=general"
    assert request.header("Cookie") == "sessionid=abc; csrftoken=xyz"
    assert request.header("Origin") == "http://site.test"
    assert "permessage-deflate" in (request.header("Sec-WebSocket-Extensions") or "")
    assert request.header("Sec-WebSocket-Key")
    assert request.header("Sec-WebSocket-Version") == "13"
    assert request.header("Connectionid") == connection_id
    assert CONNECTION_ID.fullmatch(connection_id)
    assert request.header("X-Gateway-Api-Id") == API_ID
    assert request.header("X-Source-Ip") == "127.0.0.1"
    # The browser's own User-Agent, as API Gateway forwards it on $connect.
    assert request.header("User-Agent") == "Mozilla/5.0 (pytest-browser)"
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", request.header("X-Amzn-Trace-Id") or "")
    assert request.header("X-Forwarded-For") == "127.0.0.1"
    assert request.header("X-Forwarded-Proto") == "http"
    assert request.header("X-Forwarded-Port") == str(gateway.port)
    assert request.header(SECRET_HEADER) == SECRET
    assert request.header("Host") == target.url("").removeprefix("http://")
    assert request.body == b""


def test_connect_without_stage_in_path_is_accepted(
    gateway: GatewayThread, target: FakeTarget
) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(ws_url(gateway, with_stage=False))
            await only_connection_id(gateway)
            await ws.close()

    run(scenario())
    [request] = target.wait_for("/ws/connect")
    assert request.raw_query == ""


@pytest.mark.parametrize("status", [401, 403, 500, 301])
def test_non_2xx_connect_answer_refuses_the_upgrade(
    gateway: GatewayThread, target: FakeTarget, status: int
) -> None:
    target.answer("/ws/connect", status, b"nope")

    async def scenario() -> int:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as excinfo:
                await connect(session, gateway, "?ws_token=bad")
            return excinfo.value.status

    assert run(scenario()) == 403
    assert gateway.state.snapshot()["open_sockets"] == 0
    assert gateway.state.snapshot()["connects_refused"] == 1
    time.sleep(0.1)
    assert target.requests("/ws/disconnect") == []  # No $disconnect for a refused $connect.


def test_connect_when_django_is_down_answers_502(
    make_gateway: Callable[..., GatewayThread],
) -> None:
    gateway = make_gateway(target_base_url=f"http://127.0.0.1:{free_port()}/ws")

    async def scenario() -> int:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as excinfo:
                await connect(session, gateway)
            return excinfo.value.status

    assert run(scenario()) == 502
    assert gateway.state.snapshot()["open_sockets"] == 0


def test_plain_http_get_is_told_to_upgrade(gateway: GatewayThread, target: FakeTarget) -> None:
    async def scenario() -> int:
        async with aiohttp.ClientSession() as session, session.get(f"{gateway.base_url}/") as r:
            return r.status

    assert run(scenario()) == 426
    assert target.requests() == []


def test_action_selects_additional_route_else_default(
    gateway: GatewayThread, target: FakeTarget
) -> None:
    frames = [
        json.dumps({"action": "chat", "text": "hi"}),
        json.dumps({"action": "unknown", "text": "x"}),
        json.dumps({"action": 5}),
        json.dumps(["chat"]),
        "not json at all",
    ]

    async def scenario() -> str:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway, headers={"Cookie": "sessionid=abc"})
            connection_id = await only_connection_id(gateway)
            for frame in frames:
                await ws.send_str(frame)
            await asyncio.to_thread(target.wait_for, "/ws/default", 4)
            await ws.close()
            return connection_id

    connection_id = run(scenario())
    [chat] = target.wait_for("/routes/chat")
    assert chat.body == frames[0].encode()
    defaults = target.wait_for("/ws/default", 4)
    assert [r.body.decode() for r in defaults] == frames[1:]  # Forwarded in order.
    for request in [chat, *defaults]:
        assert request.method == "POST"
        assert request.header("Content-Type") == "application/json"
        assert request.header("Connectionid") == connection_id
        assert request.header("X-Gateway-Api-Id") == API_ID
        assert request.header(SECRET_HEADER) == SECRET
        assert request.header("Cookie") is None  # API Gateway sends no cookies on messages.
    assert gateway.state.snapshot()["messages_forwarded"] == 5


def test_custom_route_selection_key(
    make_gateway: Callable[..., GatewayThread], target: FakeTarget
) -> None:
    gateway = make_gateway(route_selection_key="type")

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            await ws.send_str(json.dumps({"action": "chat"}))
            await ws.send_str(json.dumps({"type": "chat"}))
            await asyncio.to_thread(target.wait_for, "/routes/chat")
            await ws.close()

    run(scenario())
    assert [r.body for r in target.requests("/ws/default")] == [b'{"action": "chat"}']
    assert [r.body for r in target.requests("/routes/chat")] == [b'{"type": "chat"}']


def test_empty_route_response_sends_nothing(gateway: GatewayThread, target: FakeTarget) -> None:
    target.answer("/routes/chat", 200, b'{"second": true}')

    async def scenario() -> str:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            await ws.send_str("{}")  # $default answers with an empty body...
            await ws.send_str(json.dumps({"action": "chat"}))
            # ...so the first frame the client gets is the chat route's answer.
            reply = await ws.receive_str(timeout=2)
            await ws.close()
            return reply

    assert run(scenario()) == '{"second": true}'


def test_message_forwarding_failure_keeps_the_socket(
    make_gateway: Callable[..., GatewayThread], target: FakeTarget
) -> None:
    # The additional route points at a port nothing listens on.
    gateway = make_gateway(routes={"broken": f"http://127.0.0.1:{free_port()}/broken"})

    async def scenario() -> str:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            await ws.send_str(json.dumps({"action": "broken"}))
            await asyncio.to_thread(_wait_for_stat, gateway, "forward_failures", 1)
            target.answer("/ws/default", 200, b"still here")
            await ws.send_str("{}")
            reply = await ws.receive_str(timeout=2)
            await ws.close()
            return reply

    assert run(scenario()) == "still here"


def _wait_for_stat(gateway: GatewayThread, name: str, value: int, timeout: float = 3.0) -> None:
    wait_until(
        lambda: gateway.state.snapshot()[name] >= value,
        timeout,
        0.01,
        lambda: f"{name} to reach {value}: {gateway.state.snapshot()}",
    )


def test_client_close_sends_one_disconnect(gateway: GatewayThread, target: FakeTarget) -> None:
    async def scenario() -> str:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway, headers={"Cookie": "sessionid=abc"})
            connection_id = await only_connection_id(gateway)
            await ws.close()
            return connection_id

    connection_id = run(scenario())
    [request] = target.wait_for("/ws/disconnect")
    assert request.method == "POST"
    assert request.body == b""
    assert request.header("Connectionid") == connection_id
    assert request.header("X-Gateway-Api-Id") == API_ID
    assert request.header(SECRET_HEADER) == SECRET
    time.sleep(0.1)
    assert len(target.requests("/ws/disconnect")) == 1
    assert gateway.state.snapshot()["open_sockets"] == 0


def test_idle_timeout_closes_with_1001_and_disconnects(
    make_gateway: Callable[..., GatewayThread], target: FakeTarget
) -> None:
    gateway = make_gateway(idle_timeout=0.4)

    async def scenario() -> tuple[float, int | None]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            started = time.monotonic()
            # Frames every 0.2 s keep the socket alive past the 0.4 s idle limit...
            for _ in range(3):
                await asyncio.sleep(0.2)
                await ws.send_str("{}")
            # ...and silence then closes it.
            message = await ws.receive(timeout=3)
            assert message.type is WSMsgType.CLOSE
            return time.monotonic() - started, ws.close_code

    elapsed, code = run(scenario())
    assert code == 1001
    assert elapsed >= 0.8
    assert len(target.wait_for("/ws/default", 3)) == 3
    target.wait_for("/ws/disconnect")


def test_max_lifetime_closes_even_an_active_socket(
    make_gateway: Callable[..., GatewayThread], target: FakeTarget
) -> None:
    gateway = make_gateway(max_lifetime=0.5, idle_timeout=10)

    async def scenario() -> tuple[float, int | None]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            started = time.monotonic()
            while not ws.closed and time.monotonic() - started < 3:
                await ws.send_str("{}")
                try:
                    message = await ws.receive(timeout=0.1)
                except TimeoutError:
                    continue
                if message.type is WSMsgType.CLOSE:
                    break
            return time.monotonic() - started, ws.close_code

    elapsed, code = run(scenario())
    assert code == 1001
    assert 0.4 <= elapsed < 2
    target.wait_for("/ws/disconnect")


def test_binary_frame_closes_with_1003(gateway: GatewayThread, target: FakeTarget) -> None:
    async def scenario() -> int | None:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            await ws.send_bytes(b"\x00\x01")
            message = await ws.receive(timeout=3)
            assert message.type is WSMsgType.CLOSE
            return ws.close_code

    assert run(scenario()) == 1003
    target.wait_for("/ws/disconnect")
    assert target.requests("/ws/default") == []


def test_stopping_the_gateway_closes_sockets_and_sends_disconnect(
    make_gateway: Callable[..., GatewayThread], target: FakeTarget
) -> None:
    gateway = make_gateway()

    async def scenario() -> int | None:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            await only_connection_id(gateway)
            stopping = asyncio.create_task(asyncio.to_thread(gateway.stop))
            message = await ws.receive(timeout=5)
            await stopping
            assert message.type is WSMsgType.CLOSE
            return ws.close_code

    assert run(scenario()) == 1001
    target.wait_for("/ws/disconnect")


def test_subprotocol_chosen_by_the_connect_integration(
    gateway: GatewayThread, target: FakeTarget
) -> None:
    target.answer("/ws/connect", 200, headers={"Sec-WebSocket-Protocol": "chat.v2"})

    async def scenario() -> str | None:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway, protocols=("chat.v1", "chat.v2"))
            protocol = ws.protocol
            await ws.close()
            return protocol

    assert run(scenario()) == "chat.v2"
    [request] = target.wait_for("/ws/connect")
    assert request.header("Sec-WebSocket-Protocol") == "chat.v1,chat.v2"


def test_disconnect_when_django_is_down_is_logged_not_raised(
    gateway: GatewayThread, target: FakeTarget, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            await only_connection_id(gateway)
            assert target.server is not None
            await asyncio.to_thread(target.server.stop)  # Django goes away.
            await ws.send_str("{}")  # Forwarding fails; the socket stays open...
            await asyncio.to_thread(_wait_for_stat, gateway, "forward_failures", 1)
            assert not ws.closed
            await ws.close()  # ...and $disconnect fails too, quietly.

    with caplog.at_level("WARNING", logger="django_aws_api_gateway_websockets.localgateway"):
        run(scenario())
        _wait_for_stat(gateway, "disconnects", 1)
        wait_until(
            lambda: any("disconnect id=" in r.getMessage() for r in caplog.records),
            3,
            0.01,
            lambda: f"the disconnect log line: {caplog.records}",
        )
    assert gateway.state.snapshot()["open_sockets"] == 0

"""The local gateway fails where AWS fails: frame sizes, route responses, headers, signatures.

Each test drives a real gateway over real sockets and checks one AWS behaviour the package
relies on (see the README's "How this maps to AWS").
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import WSMsgType

from django_aws_api_gateway_websockets.localgateway import GatewayThread

from .helpers import (
    API_ID,
    SECRET,
    SECRET_HEADER,
    STAGE,
    FakeTarget,
    connect,
    management_client,
    only_connection_id,
    run,
)

KB = 1024


# A client that sends frames exactly as given (aiohttp's never fragments a message).


def client_frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    """One masked client frame (RFC 6455, section 5.2)."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        header = bytes([first, 0x80 | size])
    elif size < 65536:
        header = bytes([first, 0x80 | 126]) + size.to_bytes(2)
    else:
        header = bytes([first, 0x80 | 127]) + size.to_bytes(8)
    mask = os.urandom(4)
    repeated = (mask * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload) ^ int.from_bytes(repeated)).to_bytes(size) if size else b""
    return header + mask + masked


def fragments(message: bytes, size: int) -> list[bytes]:
    """``message`` as a text frame followed by continuation frames of ``size`` bytes."""
    parts = [message[i : i + size] for i in range(0, len(message), size)]
    return [
        client_frame(part, 0x1 if i == 0 else 0x0, fin=i == len(parts) - 1)
        for i, part in enumerate(parts)
    ]


async def raw_session(gateway: GatewayThread, frames: list[bytes]) -> int | None:
    """Open a WebSocket by hand, send ``frames``; the close code the gateway answers with."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /{STAGE} HTTP/1.1\r\nHost: 127.0.0.1:{gateway.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    handshake = await reader.readuntil(b"\r\n\r\n")
    assert handshake.startswith(b"HTTP/1.1 101"), handshake
    for frame in frames:
        writer.write(frame)
    await writer.drain()
    try:
        return await asyncio.wait_for(_server_close_code(reader), 5)
    finally:
        writer.close()


async def _server_close_code(reader: asyncio.StreamReader) -> int | None:
    while True:
        first, second = await reader.readexactly(2)
        size = second & 0x7F
        if size >= 126:
            size = int.from_bytes(await reader.readexactly(2 if size == 126 else 8))
        payload = await reader.readexactly(size)
        if first & 0x0F == 0x8:
            return int.from_bytes(payload[:2]) if payload else None


def json_string_of(size: int) -> bytes:
    return b'"' + b"x" * (size - 2) + b'"'


# Frames: 32 KB each, messages 128 KB


@pytest.mark.parametrize(
    ("overrides", "at_limit", "over_limit"),
    [
        # A frame over 32 KB, though the message limit is 128 KB.
        ({}, json_string_of(32 * KB).decode(), json_string_of(32 * KB + 1).decode()),
        # A message over the limit: 513 characters but 1026 UTF-8 bytes.
        ({"max_message_bytes": 1024}, json_string_of(1024).decode(), "é" * 513),
    ],
    ids=["frame-over-32-kb", "message-over-the-limit"],
)
def test_an_oversized_frame_closes_the_connection_with_1009(
    make_gateway: Callable[..., GatewayThread],
    target: FakeTarget,
    overrides: dict[str, int],
    at_limit: str,
    over_limit: str,
) -> None:
    gateway = make_gateway(**overrides)

    async def scenario() -> int | None:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            await ws.send_str(at_limit)  # At the limit: forwarded.
            await asyncio.to_thread(target.wait_for, "/ws/default")
            await ws.send_str(over_limit)
            message = await ws.receive(timeout=3)
            assert message.type is WSMsgType.CLOSE
            return ws.close_code

    assert run(scenario()) == 1009
    target.wait_for("/ws/disconnect")
    [forwarded] = target.requests("/ws/default")
    assert forwarded.body == at_limit.encode()


def test_a_message_of_several_frames_may_reach_128_kb(
    gateway: GatewayThread, target: FakeTarget
) -> None:
    message = json_string_of(128 * KB)
    frames = fragments(message, 32 * KB)
    assert len(frames) == 4

    async def scenario() -> int | None:
        return await raw_session(gateway, [*frames, client_frame(b"", 0x8)])

    run(scenario())
    [forwarded] = target.wait_for("/ws/default")
    assert forwarded.body == message


@pytest.mark.parametrize(
    "frames",
    [
        # One fragment over 32 KB, though the message is small enough.
        [client_frame(b'"abc', fin=False), client_frame(b"x" * (32 * KB + 1) + b'"', 0x0)],
        # Every frame at 32 KB, but 160 KB in all.
        fragments(json_string_of(160 * KB), 32 * KB),
    ],
    ids=["fragment-over-32-kb", "message-over-128-kb"],
)
def test_oversized_fragments_or_messages_close_with_1009(
    gateway: GatewayThread, target: FakeTarget, frames: list[bytes]
) -> None:
    assert run(raw_session(gateway, frames)) == 1009
    target.wait_for("/ws/disconnect")
    assert target.requests("/ws/default") == []


# Replies reach the client only through a route response


def test_replies_are_relayed_only_for_routes_with_a_route_response(
    make_gateway: Callable[..., GatewayThread], target: FakeTarget
) -> None:
    gateway = make_gateway(
        routes={"chat": target.url("/routes/chat"), "typing": target.url("/routes/typing")},
        routes_without_response={"typing"},
    )
    target.answer("/ws/connect", 200, b'{"connect": "never sent"}')
    target.answer("/routes/typing", 200, b'{"typing": "dropped"}')
    # Relayed whatever the status, as the integration's answer is the route's reply.
    target.answer("/routes/chat", 400, b'{"chat": "relayed"}')
    target.answer("/ws/default", 200, b'{"default": "relayed"}')

    async def scenario() -> list[str]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            await ws.send_str(json.dumps({"action": "typing"}))
            await asyncio.to_thread(target.wait_for, "/routes/typing")
            await ws.send_str(json.dumps({"action": "chat"}))
            await ws.send_str("{}")
            replies = [await ws.receive_str(timeout=2), await ws.receive_str(timeout=2)]
            await ws.close()
            return replies

    assert run(scenario()) == ['{"chat": "relayed"}', '{"default": "relayed"}']
    target.wait_for("/ws/disconnect")


# Headers: the browser's on $connect; on every event, only what the integrations map


def test_message_and_disconnect_events_carry_only_the_mapped_headers(
    gateway: GatewayThread, target: FakeTarget
) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway, headers={"User-Agent": "browser/1"})
            await ws.send_str("{}")
            await asyncio.to_thread(target.wait_for, "/ws/default")
            await ws.close()

    run(scenario())
    mapped = {"connectionid", "x-gateway-api-id", "x-source-ip", SECRET_HEADER.lower()}
    [message] = target.wait_for("/ws/default")
    assert {name.lower() for name in message.headers} == {
        *mapped,
        "host",
        "content-length",
        "content-type",
    }
    [disconnect] = target.wait_for("/ws/disconnect")
    assert {name.lower() for name in disconnect.headers} == {*mapped, "host", "content-length"}


def test_a_browser_cannot_set_the_mapped_headers(
    gateway: GatewayThread, target: FakeTarget
) -> None:
    forged = {
        "X-Source-Ip": "198.51.100.66",
        "X-Gateway-Api-Id": "someone-else",
        SECRET_HEADER: "guessed",
        "Connectionid": "stolen-id",
        "X-Forwarded-For": "198.51.100.66",
        "X-Custom": "kept",
    }

    async def scenario() -> str:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway, headers=forged)
            connection_id = await only_connection_id(gateway)
            await ws.close()
            return connection_id

    connection_id = run(scenario())
    [request] = target.wait_for("/ws/connect")
    assert request.header("X-Source-Ip") == "127.0.0.1"
    assert request.header("X-Gateway-Api-Id") == API_ID
    assert request.header(SECRET_HEADER) == SECRET
    assert request.header("Connectionid") == connection_id
    # API Gateway appends the address it saw to the client's X-Forwarded-For.
    assert request.header("X-Forwarded-For") == "198.51.100.66, 127.0.0.1"
    assert request.header("X-Custom") == "kept"
    names = [name.lower() for name in request.headers]
    assert len(names) == len(set(names))


def test_header_names_follow_the_config(
    make_gateway: Callable[..., GatewayThread], target: FakeTarget
) -> None:
    gateway = make_gateway(api_id_header="X-Api", source_ip_header="X-Client")

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            await ws.close()

    run(scenario())
    [request] = target.wait_for("/ws/connect")
    assert (request.header("X-Api"), request.header("X-Client")) == (API_ID, "127.0.0.1")
    assert request.header("X-Gateway-Api-Id") is None


# Test controls and unsigned Management API calls: off unless enabled


def http(gateway: GatewayThread, method: str, path: str, body: bytes | None = None):
    request = urllib.request.Request(f"{gateway.base_url}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def test_controls_and_unsigned_calls_are_refused_by_default(gateway: GatewayThread) -> None:
    async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            connection_id = await only_connection_id(gateway)
            path = f"/{STAGE}/@connections/{connection_id}"
            answers = [
                await asyncio.to_thread(http, gateway, "POST", path, b"forged"),
                await asyncio.to_thread(http, gateway, "GET", path),
                await asyncio.to_thread(http, gateway, "DELETE", path),
            ]
            # A signed call (boto3's) is delivered: it is the first frame the client gets.
            client = management_client(gateway)
            await asyncio.to_thread(
                client.post_to_connection, ConnectionId=connection_id, Data=b"ok"
            )
            assert await ws.receive_str(timeout=2) == "ok"
            await ws.close()
            return answers

    for status, headers, body in run(scenario()):
        assert status == 403
        assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
        assert json.loads(body) == {"message": "Missing Authentication Token"}
    for method, path in [("GET", "/@local/stats"), ("POST", "/@local/reset")]:
        assert http(gateway, method, path)[0] == 404
    assert gateway.state.snapshot()["delivered"] == 1


def test_enabled_controls_accept_unsigned_calls(
    make_gateway: Callable[..., GatewayThread],
) -> None:
    gateway = make_gateway(enable_controls=True)
    gateway.state.add_virtual(["v1"])
    assert http(gateway, "POST", f"/{STAGE}/@connections/v1", b"hello")[0] == 200
    status, _, body = http(gateway, "GET", "/@local/deliveries/v1")
    assert (status, json.loads(body)["last_body"]) == (200, "hello")

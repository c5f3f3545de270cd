"""The Management API exercised through real boto3, against live sockets."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import aiohttp
import pytest
from aiohttp import WSMsgType
from botocore.exceptions import ClientError

from django_aws_api_gateway_websockets.localgateway import GatewayThread
from tests.support import wait_until

from .helpers import FakeTarget, connect, management_client, only_connection_id, run


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_post_to_connection_reaches_the_socket(gateway: GatewayThread) -> None:
    client = management_client(gateway)

    async def scenario() -> tuple[str, list[str]]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            connection_id = await only_connection_id(gateway)
            for body in (b'{"n": 1}', b'{"n": 2}'):
                await asyncio.to_thread(
                    client.post_to_connection, ConnectionId=connection_id, Data=body
                )
            received = [await ws.receive_str(timeout=2) for _ in range(2)]
            await ws.close()
            return connection_id, received

    connection_id, received = run(scenario())
    assert received == ['{"n": 1}', '{"n": 2}']
    assert gateway.state.deliveries(connection_id) == 2
    assert gateway.state.last_body(connection_id) == b'{"n": 2}'
    stats = gateway.state.snapshot()
    assert stats["posts_received"] == 2
    assert stats["delivered"] == 2


def test_get_connection_describes_identity_and_activity(gateway: GatewayThread) -> None:
    client = management_client(gateway)

    async def scenario() -> tuple[dict, dict]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway, headers={"User-Agent": "pytest-browser/1.0"})
            connection_id = await only_connection_id(gateway)
            before = await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
            await asyncio.sleep(0.05)
            await ws.send_str("{}")
            await asyncio.sleep(0.1)
            after = await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
            await ws.close()
            return before, after

    before, after = run(scenario())
    assert before["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert before["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "pytest-browser/1.0"}
    assert isinstance(before["ConnectedAt"], datetime)
    assert before["ConnectedAt"].tzinfo is not None
    assert after["ConnectedAt"] == before["ConnectedAt"]
    assert after["LastActiveAt"] > before["LastActiveAt"]


def test_delete_connection_closes_the_socket_and_sends_disconnect(
    gateway: GatewayThread, target: FakeTarget
) -> None:
    client = management_client(gateway)

    async def scenario() -> tuple[str, int, WSMsgType]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            connection_id = await only_connection_id(gateway)
            response = await asyncio.to_thread(client.delete_connection, ConnectionId=connection_id)
            message = await ws.receive(timeout=2)
            return connection_id, response["ResponseMetadata"]["HTTPStatusCode"], message.type

    connection_id, status, message_type = run(scenario())
    assert status == 204
    assert message_type is WSMsgType.CLOSE
    [disconnect] = target.wait_for("/ws/disconnect")
    assert disconnect.header("Connectionid") == connection_id
    with pytest.raises(ClientError) as excinfo:
        client.post_to_connection(ConnectionId=connection_id, Data=b"late")
    assert _error(excinfo) == ("GoneException", 410)
    time.sleep(0.1)
    assert len(target.requests("/ws/disconnect")) == 1


def test_unknown_connection_raises_gone_exception(gateway: GatewayThread) -> None:
    client = management_client(gateway)
    for call in (client.post_to_connection, client.get_connection, client.delete_connection):
        kwargs = {"ConnectionId": "AAAAAAAAAAAAAAA="}
        if call == client.post_to_connection:
            kwargs["Data"] = b"{}"
        with pytest.raises(ClientError) as excinfo:
            call(**kwargs)
        assert _error(excinfo) == ("GoneException", 410)
    assert gateway.state.snapshot()["gone_answers"] == 3


def test_oversized_post_raises_payload_too_large(make_gateway) -> None:
    gateway = make_gateway(max_message_bytes=1000)
    gateway.state.add_virtual(["virtual-id"])
    client = management_client(gateway)
    client.post_to_connection(ConnectionId="virtual-id", Data=b"x" * 1000)
    with pytest.raises(ClientError) as excinfo:
        client.post_to_connection(ConnectionId="virtual-id", Data=b"x" * 1001)
    assert _error(excinfo) == ("PayloadTooLargeException", 413)
    assert excinfo.value.response["Error"]["Message"]
    assert gateway.state.deliveries("virtual-id") == 1
    assert gateway.state.snapshot()["too_large_answers"] == 1


def test_injected_throttling_raises_limit_exceeded(gateway: GatewayThread) -> None:
    gateway.state.add_virtual(["v1", "v2"])
    # No retries, so each injected 429 surfaces instead of being retried away.
    client = management_client(gateway, retries={"total_max_attempts": 1})

    gateway.state.set_faults(throttle_counts={"v1": 2})
    for _ in range(2):
        with pytest.raises(ClientError) as excinfo:
            client.post_to_connection(ConnectionId="v1", Data=b"{}")
        assert _error(excinfo) == ("LimitExceededException", 429)
    client.post_to_connection(ConnectionId="v1", Data=b"{}")  # Count used up.
    client.post_to_connection(ConnectionId="v2", Data=b"{}")  # Other ids unaffected.

    gateway.state.set_faults(throttle_rate=1.0)
    with pytest.raises(ClientError) as excinfo:
        client.post_to_connection(ConnectionId="v2", Data=b"{}")
    assert _error(excinfo) == ("LimitExceededException", 429)
    stats = gateway.state.snapshot()
    assert stats["throttled_answers"] == 3
    assert stats["delivered"] == 2


def test_gone_ids_and_gone_rate(gateway: GatewayThread) -> None:
    gateway.state.add_virtual(["v1", "v2"])
    client = management_client(gateway)
    gateway.state.set_faults(gone_ids=["v1"])
    for call in (client.post_to_connection, client.get_connection):
        kwargs = {"ConnectionId": "v1"}
        if call == client.post_to_connection:
            kwargs["Data"] = b"{}"
        with pytest.raises(ClientError) as excinfo:
            call(**kwargs)
        assert _error(excinfo) == ("GoneException", 410)
    client.post_to_connection(ConnectionId="v2", Data=b"{}")

    gateway.state.set_faults(gone_ids=[], gone_rate=1.0)
    with pytest.raises(ClientError) as excinfo:
        client.post_to_connection(ConnectionId="v2", Data=b"{}")
    assert _error(excinfo) == ("GoneException", 410)
    assert gateway.state.deliveries("v2") == 1


def test_latency_injection_delays_management_calls(gateway: GatewayThread) -> None:
    gateway.state.add_virtual(["v1"])
    client = management_client(gateway)
    client.post_to_connection(ConnectionId="v1", Data=b"{}")  # Warm up the connection.

    def timed() -> float:
        started = time.perf_counter()
        client.post_to_connection(ConnectionId="v1", Data=b"{}")
        return time.perf_counter() - started

    fast = timed()
    gateway.state.set_faults(latency_ms=300)
    slow = timed()
    assert slow >= 0.3
    assert slow > fast + 0.2


def test_post_to_a_socket_closing_under_it_is_gone(gateway: GatewayThread) -> None:
    """A socket the client already closed must not count as delivered."""
    client = management_client(gateway)

    async def scenario() -> str:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            connection_id = await only_connection_id(gateway)
            await ws.close()
            return connection_id

    connection_id = run(scenario())
    wait_until(lambda: not gateway.state.snapshot()["open_sockets"], 2, 0.01, "the socket to close")
    with pytest.raises(ClientError) as excinfo:
        client.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    assert _error(excinfo) == ("GoneException", 410)
    assert gateway.state.deliveries(connection_id) == 0


def test_non_utf8_payload_arrives_as_a_binary_frame(gateway: GatewayThread) -> None:
    client = management_client(gateway)

    async def scenario() -> tuple[WSMsgType, bytes]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            connection_id = await only_connection_id(gateway)
            await asyncio.to_thread(
                client.post_to_connection, ConnectionId=connection_id, Data=b"\xff\xfe"
            )
            message = await ws.receive(timeout=2)
            await ws.close()
            return message.type, message.data

    assert run(scenario()) == (WSMsgType.BINARY, b"\xff\xfe")

"""The local control API, virtual connections and statistics (Management API only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from django_aws_api_gateway_websockets.localgateway import GatewayThread

from .helpers import management_client


def call(gateway: GatewayThread, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    """Send one control API request; return (status, decoded JSON body)."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{gateway.base_url}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def test_virtual_connections_receive_posts_and_are_counted(
    management_gateway: GatewayThread,
) -> None:
    # Real-looking ids end in "=", which boto3 sends as %3D.
    ids = ["L0SM9cOFvHcCIhw=", "b2Xk1aaaaaaaaaa="]
    assert call(management_gateway, "POST", "/@local/virtual-connections", {"ids": ids}) == (
        200,
        {"added": 2, "virtual_connections": 2},
    )
    client = management_client(management_gateway)
    client.post_to_connection(ConnectionId=ids[0], Data=b'{"n": 1}')
    client.post_to_connection(ConnectionId=ids[0], Data=b'{"n": 2}')
    client.post_to_connection(ConnectionId=ids[1], Data=b'{"n": 3}')
    with pytest.raises(ClientError):
        client.post_to_connection(ConnectionId="not-registered", Data=b"{}")

    status, stats = call(management_gateway, "GET", "/@local/stats")
    assert status == 200
    assert stats["posts_received"] == 4
    assert stats["delivered"] == 3
    assert stats["gone_answers"] == 1
    assert stats["throttled_answers"] == 0
    assert stats["open_sockets"] == 0
    assert stats["virtual_connections"] == 2
    assert "deliveries_per_connection" not in stats

    _, detailed = call(management_gateway, "GET", "/@local/stats?detail=1")
    assert detailed["deliveries_per_connection"] == {ids[0]: 2, ids[1]: 1}
    status, one = call(management_gateway, "GET", f"/@local/deliveries/{ids[0]}")
    assert (status, one["deliveries"], one["last_body"]) == (200, 2, '{"n": 2}')


def test_get_and_delete_a_virtual_connection(management_gateway: GatewayThread) -> None:
    management_gateway.state.add_virtual(["virtual-1"])
    client = management_client(management_gateway)
    described = client.get_connection(ConnectionId="virtual-1")
    assert described["Identity"]["SourceIp"] == "127.0.0.1"
    assert described["LastActiveAt"] == described["ConnectedAt"]
    client.delete_connection(ConnectionId="virtual-1")
    with pytest.raises(ClientError) as excinfo:
        client.post_to_connection(ConnectionId="virtual-1", Data=b"{}")
    assert excinfo.value.response["Error"]["Code"] == "GoneException"
    assert management_gateway.state.snapshot()["virtual_connections"] == 0


def test_faults_are_set_over_http(management_gateway: GatewayThread) -> None:
    management_gateway.state.add_virtual(["v1"])
    status, faults = call(
        management_gateway,
        "POST",
        "/@local/faults",
        {
            "throttle_rate": 1.0,
            "gone_ids": ["x"],
            "throttle_counts": {"v1": 3},
            "seed": 7,
            "rate_limit": 1000,
            "rate_burst": 500,
        },
    )
    assert status == 200
    assert faults == {
        "latency_ms": 0.0,
        "throttle_rate": 1.0,
        "gone_rate": 0.0,
        "gone_ids": ["x"],
        "throttle_counts": {"v1": 3},
        "rate_limit": 1000.0,
        "rate_burst": 500.0,
    }
    assert call(management_gateway, "GET", "/@local/faults") == (200, faults)
    client = management_client(management_gateway, retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as excinfo:
        client.post_to_connection(ConnectionId="v1", Data=b"{}")
    assert excinfo.value.response["Error"]["Code"] == "LimitExceededException"
    assert management_gateway.state.faults_snapshot()["throttle_counts"] == {"v1": 2}


@pytest.mark.parametrize(
    "payload",
    [
        {"throttle_rate": 1.5},
        {"gone_rate": -0.1},
        {"latency_ms": -1},
        {"latency_ms": "fast"},
        {"rate_limit": -1},
        {"gone_ids": "abc"},
        {"throttle_counts": {"a": -1}},
        {"throttle_counts": ["a"]},
        {"seed": "x"},
        {"surprise": 1},
        [1, 2],
    ],
)
def test_invalid_fault_updates_are_refused(management_gateway: GatewayThread, payload: Any) -> None:
    status, body = call(management_gateway, "POST", "/@local/faults", payload)
    assert status == 400
    assert body["message"]
    assert management_gateway.state.faults_snapshot()["throttle_rate"] == 0.0


def test_invalid_virtual_connection_payload_is_refused(
    management_gateway: GatewayThread,
) -> None:
    status, _ = call(management_gateway, "POST", "/@local/virtual-connections", {"ids": "abc"})
    assert status == 400
    assert management_gateway.state.snapshot()["virtual_connections"] == 0


def test_reset_clears_stats_faults_and_virtual_connections(
    management_gateway: GatewayThread,
) -> None:
    state = management_gateway.state
    state.add_virtual(["v1"])
    client = management_client(management_gateway)
    client.post_to_connection(ConnectionId="v1", Data=b"{}")
    state.set_faults(latency_ms=5, gone_rate=0.5, gone_ids=["v9"])

    assert call(management_gateway, "POST", "/@local/reset") == (200, {"reset": True})

    stats = state.snapshot(detail=True)
    assert stats["posts_received"] == 0
    assert stats["delivered"] == 0
    assert stats["deliveries_per_connection"] == {}
    assert stats["virtual_connections"] == 0
    assert state.faults_snapshot() == {
        "latency_ms": 0.0,
        "throttle_rate": 0.0,
        "gone_rate": 0.0,
        "gone_ids": [],
        "throttle_counts": {},
        "rate_limit": 0.0,
        "rate_burst": 0.0,
    }
    assert state.last_body("v1") is None


def test_management_routes_work_without_the_stage_prefix(
    management_gateway: GatewayThread,
) -> None:
    management_gateway.state.add_virtual(["v1"])
    request = urllib.request.Request(
        f"{management_gateway.base_url}/@connections/v1", data=b"hello", method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert response.headers["x-amzn-RequestId"]
    assert management_gateway.state.last_body("v1") == b"hello"


def test_gone_answer_has_aws_error_type_header_and_null_message(
    management_gateway: GatewayThread,
) -> None:
    request = urllib.request.Request(
        f"{management_gateway.base_url}/test/@connections/nope%3D", data=b"{}", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=5)
    with excinfo.value as error:
        assert error.code == 410
        assert error.headers["x-amzn-ErrorType"] == "GoneException"
        assert json.loads(error.read()) == {"message": None}


def test_drop_cuts_a_live_socket_and_can_lose_its_disconnect(make_gateway, target) -> None:
    """The control behind tests of crashes: a socket cut, with or without ``$disconnect``."""
    import asyncio

    import aiohttp

    from .helpers import connect, only_connection_id

    gateway = make_gateway(enable_controls=True)

    async def cut(disconnect: bool) -> tuple[tuple[int, Any], Any]:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, gateway)
            connection_id = await only_connection_id(gateway)
            answer = await asyncio.to_thread(
                call,
                gateway,
                "POST",
                f"/@local/connections/{connection_id}/drop",
                {"disconnect": disconnect},
            )
            closed = await ws.receive(timeout=5)
            await asyncio.sleep(0.2)  # time for a $disconnect, if one is coming
            return answer, closed.type

    answer, closed = asyncio.run(cut(disconnect=False))
    assert answer[0] == 200
    assert closed == aiohttp.WSMsgType.CLOSE
    assert target.requests("/ws/disconnect") == []
    answer, closed = asyncio.run(cut(disconnect=True))
    assert answer[0] == 200
    target.wait_for("/ws/disconnect")
    assert call(gateway, "POST", "/@local/connections/nobody/drop", {}) == (
        404,
        {"message": "no live socket nobody"},
    )
    assert call(gateway, "POST", "/@local/connections/nobody/drop", {"disconnect": 1})[0] == 400

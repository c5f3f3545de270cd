"""Running gateways in background threads."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request

import pytest

from django_aws_api_gateway_websockets.localgateway import (
    GatewayConfig,
    GatewayState,
    GatewayThread,
    create_app,
    running_gateway,
)

from .helpers import API_ID, STAGE


def _config() -> GatewayConfig:
    return GatewayConfig(
        api_id=API_ID, stage=STAGE, target_base_url="http://127.0.0.1:9/ws/", enable_controls=True
    )


def test_running_gateway_binds_a_free_port_and_releases_it() -> None:
    with running_gateway(_config()) as gateway:
        assert gateway.port > 0
        assert gateway.base_url == f"http://127.0.0.1:{gateway.port}"
        assert isinstance(gateway.state, GatewayState)
        gateway.state.add_virtual(["v1"])
        with urllib.request.urlopen(f"{gateway.base_url}/@local/stats", timeout=5) as response:
            assert json.loads(response.read())["virtual_connections"] == 1
        port = gateway.port
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_running_gateway_accepts_a_prebuilt_app_and_its_state() -> None:
    state = GatewayState(_config())
    app = create_app(_config(), state)
    with running_gateway(app) as gateway:
        assert gateway.state is state


def test_call_runs_a_coroutine_on_the_gateway_loop() -> None:
    async def loop_id() -> int:
        await asyncio.sleep(0)
        return id(asyncio.get_running_loop())

    with GatewayThread(_config()) as gateway:
        assert gateway.call(loop_id()) == id(gateway.loop)


def test_a_busy_port_fails_at_start() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        gateway = GatewayThread(_config(), port=busy.getsockname()[1])
        with pytest.raises(OSError):
            gateway.start()
    gateway.stop()  # Nothing left running: a no-op, not an error.
    with pytest.raises(RuntimeError):
        gateway.loop  # noqa: B018 - the property raises once the loop is gone.

"""Fixtures: a fake Django integration target and gateways wired to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from django_aws_api_gateway_websockets.localgateway import (
    GatewayConfig,
    GatewayThread,
    ServerThread,
    create_management_app,
)

from .helpers import API_ID, SECRET, SECRET_HEADER, STAGE, FakeTarget


@pytest.fixture
def target() -> Iterator[FakeTarget]:
    fake = FakeTarget()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    with ServerThread(app) as server:
        fake.server = server
        yield fake


@pytest.fixture
def make_gateway(target: FakeTarget) -> Iterator[Callable[..., GatewayThread]]:
    """Start a full gateway pointed at ``target``; keyword arguments override the config."""
    started: list[GatewayThread] = []

    def make(**overrides: Any) -> GatewayThread:
        values: dict[str, Any] = {
            "api_id": API_ID,
            "stage": STAGE,
            "target_base_url": target.base_url,
            "routes": {"chat": target.url("/routes/chat")},
            "secret_header": SECRET_HEADER,
            "secret": SECRET,
        }
        values.update(overrides)
        gateway = GatewayThread(GatewayConfig(**values), shutdown_timeout=2.0)
        gateway.start()
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.stop()


@pytest.fixture
def gateway(make_gateway: Callable[..., GatewayThread]) -> GatewayThread:
    return make_gateway()


@pytest.fixture
def management_gateway() -> Iterator[GatewayThread]:
    """The Management API alone, with the test controls, for virtual-connection tests."""
    config = GatewayConfig(
        api_id=API_ID, stage=STAGE, target_base_url="http://127.0.0.1:9/", enable_controls=True
    )
    with GatewayThread(create_management_app(config)) as gateway:
        yield gateway

"""Small helpers shared by the local gateway tests."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import boto3
from aiohttp import web
from botocore.config import Config

from django_aws_api_gateway_websockets.localgateway import GatewayThread, ServerThread

T = TypeVar("T")

CONNECTION_ID = re.compile(r"[A-Za-z0-9_=-]{16}")

API_ID = "abc123defg"
STAGE = "test"
SECRET_HEADER = "X-Gateway-Secret"
SECRET = "s3cret-value"


@dataclass(frozen=True)
class Recorded:
    """One request the fake target received."""

    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class FakeTarget:
    """Stands in for Django: records every request and answers as configured."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        # path (e.g. "/ws/connect") -> (status, body, headers)
        self.answers: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.server: ServerThread | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url + "/ws/"

    def url(self, path: str) -> str:
        assert self.server is not None
        return self.server.base_url + path

    def answer(
        self, path: str, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        with self._lock:
            self.answers[path] = (status, body, headers or {})

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        record = Recorded(
            method=request.method,
            path=request.path,
            raw_query=request.rel_url.raw_query_string,
            headers=dict(request.headers),
            body=body,
        )
        with self._lock:
            self._requests.append(record)
            status, answer, headers = self.answers.get(request.path, (200, b"", {}))
        return web.Response(status=status, body=answer, headers=headers)

    def requests(self, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 5.0) -> list[Recorded]:
        """Wait until ``count`` requests to ``path`` arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests(path)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} request(s) to {path}, got {self.requests(path)}")


def management_client(gateway: GatewayThread, **config: Any) -> Any:
    """A real boto3 Management API client pointed at ``gateway``."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{gateway.base_url}/{STAGE}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(**config) if config else None,
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a test scenario on a fresh event loop."""
    return asyncio.run(coro)


def ws_url(gateway: GatewayThread, query: str = "", with_stage: bool = True) -> str:
    path = f"/{STAGE}" if with_stage else "/"
    return f"ws://127.0.0.1:{gateway.port}{path}{query}"


async def connect(
    session: aiohttp.ClientSession, gateway: GatewayThread, query: str = "", **kwargs: Any
) -> aiohttp.ClientWebSocketResponse:
    return await session.ws_connect(ws_url(gateway, query), **kwargs)


async def only_connection_id(gateway: GatewayThread, timeout: float = 2.0) -> str:
    """The id of the single open socket (registered just after the handshake)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        ids = gateway.state.connection_ids()
        if len(ids) == 1:
            return ids[0]
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected one open socket, found {gateway.state.connection_ids()}")

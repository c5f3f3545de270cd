"""Forwarding WebSocket events to the Django integration the way API Gateway does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from .config import GatewayConfig
from .connections import ClientInfo
from .ids import new_trace_id

# Browser handshake headers API Gateway passes on to the $connect integration.
# Sec-WebSocket-Protocol is included so an app can negotiate a subprotocol.
CONNECT_PASSTHROUGH_HEADERS = (
    "Cookie",
    "Origin",
    "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
)


class ForwardError(Exception):
    """The integration could not be reached or did not answer in time."""


@dataclass(frozen=True)
class ForwardResult:
    """The integration's answer to one forwarded event."""

    status: int
    body: bytes
    headers: CIMultiDictProxy[str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def gateway_headers(config: GatewayConfig, client: ClientInfo) -> dict[str, str]:
    """Headers API Gateway adds to every request it makes to an HTTP_PROXY integration."""
    headers = {
        "Connectionid": client.connection_id,
        "X-Amzn-Apigateway-Api-Id": config.api_id,
        "User-Agent": f"AmazonAPIGateway_{config.api_id}",
        "X-Amzn-Trace-Id": new_trace_id(),
        "X-Forwarded-For": client.source_ip,
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Port": str(client.gateway_port),
        "X-Real-Ip": client.source_ip,
    }
    if config.secret_header and config.secret:
        headers[config.secret_header] = config.secret
    return headers


class Forwarder:
    """Sends ``$connect``, message and ``$disconnect`` events to the integration.

    Created with the application (which is frozen once it starts), while its
    ClientSession can only be created inside the running loop: hence ``open()``.
    """

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the one ClientSession all forwarding shares."""
        self._session = aiohttp.ClientSession(
            # Cookies Django sets must not leak into other users' events.
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self.config.integration_timeout),
        )

    async def close(self) -> None:
        """Close the session (on application cleanup)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def connect(
        self, client: ClientInfo, browser_headers: Mapping[str, str], raw_query: str
    ) -> ForwardResult:
        """Forward ``$connect`` with the browser's query string and handshake headers."""
        url = self.config.connect_url + (f"?{raw_query}" if raw_query else "")
        headers = gateway_headers(self.config, client)
        for name in CONNECT_PASSTHROUGH_HEADERS:
            value = browser_headers.get(name)
            if value is not None:
                headers[name] = value
        return await self._post(url, headers, None)

    async def message(self, client: ClientInfo, url: str, frame: bytes) -> ForwardResult:
        """Forward one text frame to a route's integration URL.

        API Gateway sends no cookies with message events, only its own headers.
        """
        headers = gateway_headers(self.config, client)
        headers["Content-Type"] = "application/json"
        return await self._post(url, headers, frame)

    async def disconnect(self, client: ClientInfo) -> ForwardResult:
        """Forward ``$disconnect`` with an empty body."""
        headers = gateway_headers(self.config, client)
        return await self._post(self.config.disconnect_url, headers, None)

    async def _post(self, url: str, headers: dict[str, str], body: bytes | None) -> ForwardResult:
        # encoded=True keeps the browser's query string byte for byte; yarl would
        # otherwise re-quote it.
        target = URL(url, encoded=True)
        if self._session is None:
            raise ForwardError("the forwarder is not open (application not started)")
        try:
            # API Gateway does not follow redirects: a 301 from APPEND_SLASH must
            # surface as a failure, exactly as it would in production.
            async with self._session.post(
                target, data=body, headers=headers, allow_redirects=False
            ) as response:
                content = await response.read()
                return ForwardResult(response.status, content, response.headers)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ForwardError(f"POST {url} failed: {exc!r}") from exc

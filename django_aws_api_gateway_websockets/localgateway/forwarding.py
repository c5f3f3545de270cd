"""Forwarding WebSocket events to the Django integration the way API Gateway does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from .config import GatewayConfig
from .connections import ClientInfo
from .ids import new_trace_id

# Hop-by-hop headers of the browser's upgrade request, and those the HTTP client sets
# itself: none of them describe the browser to the integration.
NOT_FORWARDED_ON_CONNECT = frozenset(
    {
        "connection",
        "content-length",
        "host",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Added by the HTTP client unless told not to; API Gateway sends none of them with message
# and $disconnect events, so the integration must not come to rely on them.
CLIENT_DEFAULT_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


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
    """The headers the integrations map onto every event, and nothing else.

    As provisioned: ``context.connectionId``, ``context.apiId``, ``context.identity.sourceIp``
    and the static secret ("Set up data mapping for WebSocket APIs in API Gateway",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-data-mapping.html).
    """
    headers = {
        "Connectionid": client.connection_id,
        config.api_id_header: config.api_id,
        config.source_ip_header: client.source_ip,
    }
    if config.secret_header and config.secret:
        headers[config.secret_header] = config.secret
    return headers


def connect_headers(
    config: GatewayConfig, client: ClientInfo, browser_headers: Mapping[str, str]
) -> dict[str, str]:
    """``$connect``: the browser's own handshake headers, API Gateway's, the mapped ones.

    The browser's headers (its User-Agent, cookies, origin, ``Sec-WebSocket-*``) reach the
    integration, with ``X-Forwarded-*`` and a trace id, as in the example request of
    "Control access to WebSocket APIs with AWS Lambda REQUEST authorizers",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html.
    API Gateway appends the address it saw to any ``X-Forwarded-For`` the browser sent;
    the mapped headers replace any header of the same name the browser sent.
    """
    forwarded_for = browser_headers.get("X-Forwarded-For")
    added = {
        "X-Forwarded-For": f"{forwarded_for}, {client.source_ip}"
        if forwarded_for
        else client.source_ip,
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Port": str(client.gateway_port),
        "X-Amzn-Trace-Id": new_trace_id(),
        **gateway_headers(config, client),
    }
    dropped = NOT_FORWARDED_ON_CONNECT | {name.lower() for name in added}
    browser = {
        name: value for name, value in browser_headers.items() if name.lower() not in dropped
    }
    return {**browser, **added}


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
        headers = connect_headers(self.config, client, browser_headers)
        return await self._post(url, headers, None, skip=CLIENT_DEFAULT_HEADERS)

    async def message(self, client: ClientInfo, url: str, frame: bytes) -> ForwardResult:
        """Forward one text frame to a route's integration URL.

        API Gateway sends no client headers with message events: only what is mapped.
        """
        headers = gateway_headers(self.config, client)
        headers["Content-Type"] = "application/json"
        return await self._post(url, headers, frame, skip=CLIENT_DEFAULT_HEADERS)

    async def disconnect(self, client: ClientInfo) -> ForwardResult:
        """Forward ``$disconnect`` with an empty body and only the mapped headers."""
        headers = gateway_headers(self.config, client)
        return await self._post(
            self.config.disconnect_url, headers, None, skip=CLIENT_DEFAULT_HEADERS
        )

    async def _post(
        self, url: str, headers: dict[str, str], body: bytes | None, skip: Iterable[str]
    ) -> ForwardResult:
        # encoded=True keeps the browser's query string byte for byte; yarl would
        # otherwise re-quote it.
        target = URL(url, encoded=True)
        given = {name.lower() for name in headers}
        if self._session is None:
            raise ForwardError("the forwarder is not open (application not started)")
        try:
            # API Gateway does not follow redirects: a 301 from APPEND_SLASH must
            # surface as a failure, exactly as it would in production.
            async with self._session.post(
                target,
                data=body,
                headers=headers,
                allow_redirects=False,
                # Only headers given here are sent: none of the HTTP client's own.
                skip_auto_headers=[name for name in skip if name.lower() not in given],
            ) as response:
                content = await response.read()
                return ForwardResult(response.status, content, response.headers)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ForwardError(f"POST {url} failed: {exc!r}") from exc

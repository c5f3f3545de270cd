"""The browser-facing WebSocket endpoint: handshake, frames, timeouts, disconnect."""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from .config import GatewayConfig
from .connections import ClientInfo, ConnectionGone, LiveConnection
from .forwarding import Forwarder, ForwardError
from .frames import FrameLimitedWebSocketResponse
from .ids import new_connection_id
from .keys import CONFIG_KEY, FORWARDER_KEY, STATE_KEY
from .state import GatewayState

logger = logging.getLogger(__name__)

# How long close() waits for the browser to acknowledge a close frame.
CLOSE_HANDSHAKE_SECONDS = 5.0


def select_route(config: GatewayConfig, frame: str) -> tuple[str, str]:
    """Return ``(route_key, integration_url)`` for a text frame.

    Mirrors the route selection expression ``$request.body.<key>``: only a JSON object
    whose key holds a string naming an additional route leaves ``$default``.
    """
    try:
        body = json.loads(frame)
    except ValueError:
        body = None
    if isinstance(body, dict):
        key = body.get(config.route_selection_key)
        if isinstance(key, str) and key in config.routes:
            return key, config.routes[key]
    return "$default", config.default_url


def _client_info(request: web.Request, state: GatewayState) -> ClientInfo:
    connection_id = new_connection_id()
    while connection_id in state.connections:  # Astronomically rare, but cheap to rule out.
        connection_id = new_connection_id()
    sockname = request.get_extra_info("sockname")
    port = sockname[1] if isinstance(sockname, tuple) else state.config.port
    return ClientInfo(
        connection_id=connection_id,
        source_ip=request.remote or "127.0.0.1",
        user_agent=request.headers.get("User-Agent", ""),
        gateway_port=port,
    )


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """Authorise the upgrade through ``$connect``, then relay frames until the socket ends."""
    config = request.app[CONFIG_KEY]
    state = request.app[STATE_KEY]
    forwarder = request.app[FORWARDER_KEY]

    if not web.WebSocketResponse().can_prepare(request).ok:
        return web.Response(
            status=426, text="Expected a WebSocket upgrade\n", headers={"Upgrade": "websocket"}
        )

    client = _client_info(request, state)
    try:
        answer = await forwarder.connect(client, request.headers, request.rel_url.raw_query_string)
    except ForwardError as exc:
        state.count("connects_refused")
        logger.warning("connect id=%s failed: %s", client.connection_id, exc)
        return web.Response(status=502, text="Bad Gateway: the $connect integration failed\n")
    if not answer.ok:
        state.count("connects_refused")
        logger.info("connect id=%s refused status=%s", client.connection_id, answer.status)
        return web.Response(status=403, text="Forbidden\n")

    # The integration picks the subprotocol, as with API Gateway.
    protocol = answer.headers.get("Sec-WebSocket-Protocol")
    ws = FrameLimitedWebSocketResponse(
        max_frame_bytes=config.max_frame_bytes,
        timeout=CLOSE_HANDSHAKE_SECONDS,
        protocols=(protocol,) if protocol else (),
        # API Gateway does not negotiate permessage-deflate.
        compress=False,
        # Leave headroom over our own limit so we, not aiohttp, decide 1009 for messages
        # slightly too big; far bigger ones get 1009 from aiohttp before buffering them.
        max_msg_size=config.max_message_bytes * 2 + 65536,
    )
    await ws.prepare(request)
    connection = LiveConnection(client=client, ws=ws)
    state.register(connection)
    state.count("connects")
    logger.info("connect id=%s ip=%s", client.connection_id, client.source_ip)
    try:
        await _relay(connection, config, state, forwarder)
    finally:
        state.unregister(client.connection_id)
        try:
            if not ws.closed:
                await ws.close()
        finally:
            # Whatever happened to the socket, Django must hear about it exactly once
            # (unless a test dropped it with its $disconnect lost, as AWS may).
            if not connection.lose_disconnect:
                await _send_disconnect(client, state, forwarder)
    return ws


async def _relay(
    connection: LiveConnection, config: GatewayConfig, state: GatewayState, forwarder: Forwarder
) -> None:
    """Read frames in order until the client leaves or a limit closes the socket."""
    ws = connection.ws
    connection_id = connection.connection_id
    while True:
        remaining = connection.seconds_left(config.idle_timeout, config.max_lifetime)
        if remaining <= 0:
            # API Gateway ends idle and over-age connections with "going away".
            state.unregister(connection_id)
            logger.info("timeout id=%s closing", connection_id)
            await connection.close(WSCloseCode.GOING_AWAY, "Going away")
            return
        try:
            message = await ws.receive(timeout=remaining)
        except TimeoutError:
            continue  # The loop head decides which limit expired.

        if message.type is WSMsgType.TEXT:
            connection.touch()
            frame = message.data.encode("utf-8")
            if len(frame) > config.max_message_bytes:
                state.unregister(connection_id)
                logger.info("message id=%s too big (%d bytes)", connection_id, len(frame))
                await connection.close(WSCloseCode.MESSAGE_TOO_BIG, "Message too big")
                return
            await _forward_message(connection, frame, message.data, config, state, forwarder)
        elif message.type is WSMsgType.BINARY:
            # API Gateway rejects binary frames by closing with 1003.
            state.unregister(connection_id)
            logger.info("message id=%s binary frame rejected", connection_id)
            await connection.close(WSCloseCode.UNSUPPORTED_DATA, "Binary frames not supported")
            return
        else:
            # CLOSE, CLOSING, CLOSED or ERROR: the socket is finished.
            return


async def _forward_message(
    connection: LiveConnection,
    frame: bytes,
    text: str,
    config: GatewayConfig,
    state: GatewayState,
    forwarder: Forwarder,
) -> None:
    """Forward one message; send the reply back only if the route has a route response."""
    connection_id = connection.connection_id
    route_key, url = select_route(config, text)
    try:
        answer = await forwarder.message(connection.client, url, frame)
    except ForwardError as exc:
        # API Gateway keeps the socket when an integration fails; so do we.
        state.count("forward_failures")
        logger.warning("message id=%s route=%s failed: %s", connection_id, route_key, exc)
        return
    state.count("messages_forwarded")
    logger.info(
        "message id=%s route=%s status=%s bytes=%d",
        connection_id,
        route_key,
        answer.status,
        len(frame),
    )
    if answer.body and config.relays_reply(route_key):
        try:
            await connection.send(answer.body)
        except ConnectionGone:
            logger.info("message id=%s route response dropped: socket closed", connection_id)


async def _send_disconnect(client: ClientInfo, state: GatewayState, forwarder: Forwarder) -> None:
    """Forward ``$disconnect`` exactly once, when the handler that owns the socket ends."""
    state.count("disconnects")
    try:
        answer = await forwarder.disconnect(client)
    except ForwardError as exc:
        logger.warning("disconnect id=%s failed: %s", client.connection_id, exc)
        return
    logger.info("disconnect id=%s status=%s", client.connection_id, answer.status)


async def close_all_sockets(app: web.Application) -> None:
    """On shutdown, close every socket so each handler still sends its ``$disconnect``."""
    state = app[STATE_KEY]
    connections = [state.unregister(i) for i in state.connection_ids()]
    await asyncio.gather(
        *(c.close(WSCloseCode.GOING_AWAY, "Server shutting down") for c in connections if c),
        return_exceptions=True,
    )

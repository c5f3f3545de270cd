"""Assembling the aiohttp applications that make up the local gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from .config import GatewayConfig
from .control import add_control_routes
from .forwarding import Forwarder
from .keys import CONFIG_KEY, FORWARDER_KEY, STATE_KEY
from .management_api import add_management_routes
from .state import GatewayState
from .websocket import close_all_sockets, websocket_handler

# aiohttp's default request cap is 1 MiB; the Management API must at least be able to
# read a body a little over the message limit to answer it with AWS's 413.
_MIN_CLIENT_MAX_SIZE = 1024 * 1024


def create_management_app(
    config: GatewayConfig, state: GatewayState | None = None
) -> web.Application:
    """The Management API (and the control API, if enabled) without WebSockets or forwarding.

    Enough for delivery benchmarks that post to virtual connections.
    """
    app = web.Application(client_max_size=max(_MIN_CLIENT_MAX_SIZE, config.max_message_bytes * 2))
    app[CONFIG_KEY] = config
    app[STATE_KEY] = state if state is not None else GatewayState(config)
    if config.enable_controls:
        add_control_routes(app)
    add_management_routes(app, config.stage)
    return app


def create_app(config: GatewayConfig, state: GatewayState | None = None) -> web.Application:
    """The full gateway: WebSocket endpoint plus Management and control APIs on one port."""
    app = create_management_app(config, state)
    app[FORWARDER_KEY] = Forwarder(config)
    app.router.add_get("/", websocket_handler, allow_head=False)
    app.router.add_get(f"/{config.stage}", websocket_handler, allow_head=False)
    app.cleanup_ctx.append(_forwarder_context)
    # on_shutdown runs before the server waits for handlers, so each closed socket
    # can still send its $disconnect through the open client session.
    app.on_shutdown.append(close_all_sockets)
    return app


async def _forwarder_context(app: web.Application) -> AsyncIterator[None]:
    """Open the forwarder's shared ClientSession for the application's lifetime."""
    forwarder = app[FORWARDER_KEY]
    await forwarder.open()
    try:
        yield
    finally:
        await forwarder.close()

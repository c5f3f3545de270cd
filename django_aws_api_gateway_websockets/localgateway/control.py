"""Local-only control API under ``/@local/`` for tests and benchmarks (not part of AWS)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSCloseCode, web

from .connections import LiveConnection
from .keys import STATE_KEY


def _bad_request(message: str) -> web.Response:
    return web.json_response({"message": message}, status=400)


async def _json_object(request: web.Request) -> dict[str, Any]:
    """Parse the body as a JSON object (an empty body counts as ``{}``)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    payload = json.loads(raw)
    if not isinstance(payload, dict):
        raise ValueError("body must be a JSON object")
    return payload


async def set_faults(request: web.Request) -> web.Response:
    """``POST /@local/faults``: change any of the injected faults; answer them all."""
    try:
        payload = await _json_object(request)
        faults = request.app[STATE_KEY].set_faults(**payload)
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response(faults)


async def get_faults(request: web.Request) -> web.Response:
    """``GET /@local/faults``: the injected faults currently in force."""
    return web.json_response(request.app[STATE_KEY].faults_snapshot())


async def add_virtual_connections(request: web.Request) -> web.Response:
    """``POST /@local/virtual-connections`` with ``{"ids": [...]}``: register more ids."""
    try:
        payload = await _json_object(request)
    except ValueError as exc:
        return _bad_request(str(exc))
    ids = payload.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        return _bad_request("ids must be a list of non-empty strings")
    state = request.app[STATE_KEY]
    added = state.add_virtual(ids)
    return web.json_response({"added": added, "virtual_connections": len(state.virtual)})


async def get_stats(request: web.Request) -> web.Response:
    """``GET /@local/stats``; ``?detail=1`` adds deliveries per connection id."""
    detail = request.query.get("detail", "") not in ("", "0", "false")
    return web.json_response(request.app[STATE_KEY].snapshot(detail=detail))


async def get_deliveries(request: web.Request) -> web.Response:
    """``GET /@local/deliveries/{id}``: delivery count and last body for one id."""
    state = request.app[STATE_KEY]
    connection_id = request.match_info["connection_id"]
    body = state.last_body(connection_id)
    return web.json_response(
        {
            "connection_id": connection_id,
            "deliveries": state.deliveries(connection_id),
            "last_delivered_at": state.last_delivered_at(connection_id),
            "last_body": None if body is None else body.decode("utf-8", "replace"),
        }
    )


async def drop_connection(request: web.Request) -> web.Response:
    """``POST /@local/connections/{id}/drop``: close a live socket ("going away"), as a
    network change ends it; ``{"disconnect": false}`` also loses its ``$disconnect``, which
    AWS delivers only best-effort (see the README's "How this maps to AWS")."""
    try:
        payload = await _json_object(request)
    except ValueError as exc:
        return _bad_request(str(exc))
    disconnect = payload.get("disconnect", True)
    if not isinstance(disconnect, bool):
        return _bad_request("disconnect must be true or false")
    connection_id = request.match_info["connection_id"]
    connection = request.app[STATE_KEY].lookup(connection_id)
    if not isinstance(connection, LiveConnection):
        return web.json_response({"message": f"no live socket {connection_id}"}, status=404)
    connection.lose_disconnect = not disconnect
    await connection.close(WSCloseCode.GOING_AWAY, "Going away")
    return web.json_response({"dropped": connection_id, "disconnect": disconnect})


async def reset(request: web.Request) -> web.Response:
    """``POST /@local/reset``: clear statistics, faults and virtual connections."""
    request.app[STATE_KEY].reset()
    return web.json_response({"reset": True})


def add_control_routes(app: web.Application) -> None:
    """Register the control API on ``app``."""
    app.router.add_post("/@local/faults", set_faults)
    app.router.add_get("/@local/faults", get_faults)
    app.router.add_post("/@local/virtual-connections", add_virtual_connections)
    app.router.add_get("/@local/stats", get_stats)
    app.router.add_get("/@local/deliveries/{connection_id}", get_deliveries)
    app.router.add_post("/@local/connections/{connection_id}/drop", drop_connection)
    app.router.add_post("/@local/reset", reset)

"""The API Gateway Management API: ``/@connections/{id}`` for POST, GET and DELETE.

AWS refuses a request without a valid SigV4 signature ("Use @connections commands in your
backend service", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html:
the calls are signed with IAM); so does this gateway unless its controls are enabled. The
signature is verified against the gateway's keys (``GatewayConfig.access_key_id`` and
``secret_access_key``): a wrong key, a wrong signature or a stale date is answered 403 as
AWS answers it (``sigv4.verify``), so nobody who can reach the port without the keys can
post to, read or close a connection.
"""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any
from urllib.parse import unquote

from aiohttp import WSCloseCode, web
from aiohttp.typedefs import Handler

from .. import sigv4
from .connections import ConnectionGone, LiveConnection, VirtualConnection
from .faults import Fault
from .ids import iso8601
from .keys import CONFIG_KEY, STATE_KEY
from .state import GatewayState

logger = logging.getLogger(__name__)


def _request_id_headers() -> dict[str, str]:
    # Every AWS answer carries a request id; boto3 copies it into ResponseMetadata.
    return {"x-amzn-RequestId": str(uuid.uuid4())}


def aws_error(status: int, error_type: str, message: str | None) -> web.Response:
    """An error answer botocore turns into ``ClientError`` with Error.Code ``error_type``."""
    headers = _request_id_headers()
    headers["x-amzn-ErrorType"] = error_type
    return web.json_response({"message": message}, status=status, headers=headers)


def _gone(request: web.Request, connection_id: str) -> web.Response:
    request.app[STATE_KEY].count("gone_answers")
    _log(request, connection_id, 410)
    return aws_error(410, "GoneException", None)


def _log(request: web.Request, connection_id: str, status: int) -> None:
    logger.info("management %s id=%s status=%s", request.method, connection_id, status)


def connection_id_from(request: web.Request) -> str:
    """The connection id from the URL; boto3 sends the trailing ``=`` as ``%3D``."""
    return unquote(request.match_info["connection_id"])


async def post_to_connection(request: web.Request) -> web.Response:
    """Deliver the request body to a connection as one frame."""
    state = request.app[STATE_KEY]
    limit = request.app[CONFIG_KEY].max_message_bytes
    connection_id = connection_id_from(request)
    await state.apply_latency()
    # Read first so the HTTP connection stays reusable whatever the answer.
    body = await _read_limited(request, limit)
    state.count("posts_received")

    fault = state.decide_fault(connection_id)
    if fault is Fault.GONE:
        return _gone(request, connection_id)
    if fault is Fault.THROTTLED:
        state.count("throttled_answers")
        _log(request, connection_id, 429)
        return aws_error(429, "LimitExceededException", "Rate exceeded")
    if body is None:
        state.count("too_large_answers")
        _log(request, connection_id, 413)
        return aws_error(413, "PayloadTooLargeException", f"Message payload exceeds {limit} bytes")

    target = state.lookup(connection_id)
    if target is None:
        return _gone(request, connection_id)
    if isinstance(target, LiveConnection):
        try:
            await target.send(body)
        except ConnectionGone:
            return _gone(request, connection_id)
    state.record_delivery(connection_id, body)
    _log(request, connection_id, 200)
    return web.Response(status=200, headers=_request_id_headers())


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """Return the body, or None if it is over ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        # A chunked body past aiohttp's own cap; still the same AWS answer.
        return None
    return body if len(body) <= limit else None


async def _find_target(
    request: web.Request,
) -> tuple[GatewayState, str, LiveConnection | VirtualConnection | None]:
    """After the injected latency: the state, the connection id, and its live target."""
    state = request.app[STATE_KEY]
    connection_id = connection_id_from(request)
    await state.apply_latency()
    target = None if state.is_gone_id(connection_id) else state.lookup(connection_id)
    return state, connection_id, target


async def get_connection(request: web.Request) -> web.Response:
    """Describe a connection like ``GetConnection``."""
    _, connection_id, target = await _find_target(request)
    if target is None:
        return _gone(request, connection_id)
    # The wire format is camelCase, as AWS sends it; boto3 maps it to ConnectedAt,
    # Identity.SourceIp and so on.
    data: dict[str, Any]
    if isinstance(target, LiveConnection):
        data = {
            "connectedAt": iso8601(target.connected_at),
            "identity": {
                "sourceIp": target.client.source_ip,
                "userAgent": target.client.user_agent,
            },
            "lastActiveAt": iso8601(target.last_active_at),
        }
    else:
        data = {
            "connectedAt": iso8601(target.connected_at),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "localgateway-virtual"},
            "lastActiveAt": iso8601(target.connected_at),
        }
    _log(request, connection_id, 200)
    return web.json_response(data, headers=_request_id_headers())


async def delete_connection(request: web.Request) -> web.Response:
    """Close a connection like ``DeleteConnection``; its handler then sends ``$disconnect``."""
    state, connection_id, target = await _find_target(request)
    if target is None:
        return _gone(request, connection_id)
    if isinstance(target, LiveConnection):
        # Unregister first so POSTs racing the close are answered 410, as on AWS.
        state.unregister(connection_id)
        await target.close(WSCloseCode.OK, "Connection deleted")
    else:
        state.remove_virtual(connection_id)
    _log(request, connection_id, 204)
    return web.Response(status=204, headers=_request_id_headers())


# The service name the Management API's calls are signed for (botocore's signing name of
# apigatewaymanagementapi).
SERVICE = "execute-api"


def signed(handler: Handler) -> Handler:
    """``handler``, answering a call not signed with the gateway's keys as AWS does (403)."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        config = request.app[CONFIG_KEY]
        if config.enable_controls:
            return await handler(request)
        try:
            # The whole body (read once; the handler gets it again): the signature covers it.
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            _log(request, connection_id_from(request), 413)
            return aws_error(413, "PayloadTooLargeException", "Request body too large")
        refusal = sigv4.verify(
            method=request.method,
            path=request.rel_url.raw_path,
            query=request.rel_url.raw_query_string,
            header=lambda name: ",".join(request.headers.getall(name, [])) or None,
            body=body,
            secret_for=config.secret_for,
            service=SERVICE,
        )
        if refusal is None:
            return await handler(request)
        _log(request, connection_id_from(request), 403)
        return aws_error(403, refusal.error_type, refusal.message)

    return checked


def add_management_routes(app: web.Application, stage: str) -> None:
    """Serve the Management API with and without the stage prefix.

    boto3 is pointed at ``http://host:port/{stage}``, so the prefixed form is what
    Django uses; the bare form matches how some tools build the URL.
    """
    for prefix in ("", f"/{stage}"):
        path = f"{prefix}/@connections/{{connection_id}}"
        app.router.add_post(path, signed(post_to_connection))
        app.router.add_get(path, signed(get_connection), allow_head=False)
        app.router.add_delete(path, signed(delete_connection))

"""One Management API client, and what posts through it, per endpoint and process."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import ClientError

from . import models
from .conf import app_settings
from .direct import DirectPoster, supports
from .errors import Outcome, classify

if TYPE_CHECKING:
    from .models import WebSocketSession

_lock = threading.Lock()
_clients: dict[tuple[str, int], Any] = {}
_posters: dict[tuple[str, int], Any] = {}
_factory: Any = None


def _forget() -> None:
    """A forked child must not share its parent's sockets."""
    global _lock
    _lock = threading.Lock()
    _clients.clear()
    _posters.clear()


os.register_at_fork(after_in_child=_forget)


def management_client(endpoint: str) -> Any:
    """A cached ``apigatewaymanagementapi`` client for ``endpoint``.

    The cache is dropped whenever ``models.get_boto3_client`` is replaced (as tests do with
    ``patch``), so every call still goes through whatever that name holds.
    """
    global _factory
    factory = models.get_boto3_client
    concurrency = app_settings.DELIVERY_CONCURRENCY
    with _lock:
        if factory is not _factory:
            _clients.clear()
            _posters.clear()
            _factory = factory
        client = _clients.get((endpoint, concurrency))
        if client is None:
            timeout = app_settings.DELIVERY_TIMEOUT_SECONDS
            config = Config(
                max_pool_connections=concurrency,
                connect_timeout=timeout,
                read_timeout=timeout,
                # Retries are ours: per recipient, with backoff, across tasks.
                retries={"total_max_attempts": 1},
                parameter_validation=False,
            )
            client = factory("apigatewaymanagementapi", endpoint_url=endpoint, config=config)
            _clients[(endpoint, concurrency)] = client
    return client


def management_poster(endpoint: str) -> Any:
    """What delivery calls ``post_to_connection`` on for ``endpoint``.

    With ``WEBSOCKETS["delivery_transport"] = "direct"`` (the default) that is a
    ``DirectPoster`` built from the endpoint's boto3 client, as long as the client comes from
    the app's own ``get_boto3_client``; a replaced factory (a test's patch, a project's own)
    is honoured call for call, and so is ``"boto3"``.
    """
    client = management_client(endpoint)
    if app_settings.DELIVERY_TRANSPORT != "direct" or _factory is not models.default_client_factory:
        return client
    key = (endpoint, app_settings.DELIVERY_CONCURRENCY)
    with _lock:
        poster = _posters.get(key)
        if poster is None:
            poster = (
                DirectPoster(client, app_settings.DELIVERY_TIMEOUT_SECONDS)
                if supports(client)
                else client
            )
            _posters[key] = poster
    return poster


def delete_connection(session: WebSocketSession) -> None:
    """Close a connection through its gateway; one that is already gone is fine."""
    gateway = session.api_gateway
    if gateway is None:
        return
    try:
        management_client(gateway.management_endpoint).delete_connection(
            ConnectionId=session.connection_id
        )
    except ClientError as exc:
        if classify(exc) is not Outcome.GONE:
            raise

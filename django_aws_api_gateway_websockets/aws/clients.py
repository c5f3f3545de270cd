"""Where every AWS client of the app comes from, and the Management API clients per endpoint."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import ClientError
from django.apps import apps

from ..conf import app_settings
from .direct_post import DirectPoster, supports
from .interception import has_moto, moto_active
from .outcomes import Outcome, classify

if TYPE_CHECKING:
    from ..models import WebSocketSession

APP_LABEL = "django_aws_api_gateway_websockets"

_lock = threading.Lock()
# (endpoint, concurrency) -> client or poster, made by ``_factory``
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


def boto3_client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
    """A client from ``models.get_boto3_client``, looked up now, for every AWS call of the app.

    Looking the name up on the models module at call time is the 4.x contract that lets
    ``patch("django_aws_api_gateway_websockets.models.get_boto3_client")`` intercept every
    call; going through the app registry keeps this layer from importing the models.
    """
    return current_factory()(service, **kwargs)


def current_factory() -> Any:
    models: Any = apps.get_app_config(APP_LABEL).models_module  # set once the app is ready
    return models.get_boto3_client


def management_client(endpoint: str) -> Any:
    """A cached ``apigatewaymanagementapi`` client for ``endpoint``.

    The cache holds the clients of one factory: a replaced ``get_boto3_client`` (a test's
    ``patch``, a project's own) empties it, so every client comes from what that name holds.
    """
    global _factory
    factory = current_factory()
    key = (endpoint, app_settings.delivery_concurrency)
    with _lock:
        if factory is not _factory:
            _clients.clear()
            _posters.clear()
            _factory = factory
        client = _clients.get(key)
        if client is not None and moto_active() and not has_moto(client):
            # Made before the mock started: moto would never see its requests.
            client = None
            _posters.pop(key, None)
        if client is None:
            timeout = app_settings.delivery_timeout_seconds
            config = Config(
                max_pool_connections=key[1],
                connect_timeout=timeout,
                read_timeout=timeout,
                # Retries are ours: per recipient, with backoff, across tasks.
                retries={"total_max_attempts": 1},
                parameter_validation=False,
            )
            client = factory("apigatewaymanagementapi", endpoint_url=endpoint, config=config)
            _clients[key] = client
    return client


def management_poster(endpoint: str) -> Any:
    """What delivery calls ``post_to_connection`` on for ``endpoint``.

    With ``WEBSOCKETS["delivery_transport"] = "direct"`` (the default) that is a
    ``DirectPoster`` built from the endpoint's boto3 client whenever it can stand in for the
    client (``direct_post.supports``: no proxy, other signer or event hook, such as moto's or a
    ``Stubber``); otherwise, and with ``"boto3"``, the client itself. Checked on every call,
    as a mock may start at any time.
    """
    client = management_client(endpoint)
    if app_settings.delivery_transport != "direct" or not supports(client):
        return client
    key = (endpoint, app_settings.delivery_concurrency)
    with _lock:
        poster = _posters.get(key)
        if poster is None:
            poster = DirectPoster(client, app_settings.delivery_timeout_seconds)
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

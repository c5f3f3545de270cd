"""Helpers for testing code that uses this app: API Gateway headers and a message outbox.

The outbox records every message that would have been posted to API Gateway, as Django's
``mail.outbox`` records email, so tests can assert on sends without mocking boto3::

    with capture_messages() as outbox:
        session.send_message({"type": "hello"})
    assert outbox[0].data["type"] == "hello"

Sends are delivered by Celery tasks, so run them eagerly in tests
(``CELERY_TASK_ALWAYS_EAGER = True``). ``refuse_aws_calls`` makes a test that forgot to
capture or mock them fail instead of reaching AWS (the pytest plugin applies it to every test).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial, wraps
from typing import TYPE_CHECKING, Any
from unittest.mock import patch
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from .aws import interception
from .boto3_factory import is_loopback

if TYPE_CHECKING:
    from django.test import Client

__all__ = [
    "AWSCallRefused",
    "OutboxClient",
    "SentMessage",
    "api_gateway_connect_headers",
    "api_gateway_headers",
    "capture_messages",
    "connect_headers_for",
    "gone_error",
    "refuse_aws_calls",
]

PATCH_TARGET = "django_aws_api_gateway_websockets.models.get_boto3_client"


def api_gateway_headers(
    api_id: str = "abc123", connection_id: str = "connection-1"
) -> dict[str, str]:
    """The headers API Gateway adds to every event it forwards, as Django test client kwargs."""
    return {
        "HTTP_HOST": "testserver",
        "HTTP_X_FORWARDED_FOR": "127.0.0.1",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_CONNECTIONID": connection_id,
        "HTTP_USER_AGENT": f"AmazonAPIGateway_{api_id}",
        "HTTP_X_AMZN_APIGATEWAY_API_ID": api_id,
        "HTTP_X_AMZN_TRACE_ID": "Root=1-test",
        "HTTP_X_FORWARDED_PORT": "443",
        "HTTP_X_REAL_IP": "127.0.0.1",
    }


# A cookie for a ``$connect`` from a client that has none: the view requires the header.
PLACEHOLDER_COOKIE = "sessionid=test"


def api_gateway_connect_headers(
    api_id: str = "abc123", connection_id: str = "connection-1", *, cookie: str | None = None
) -> dict[str, str]:
    """``api_gateway_headers`` plus the browser handshake headers of a ``$connect``.

    No ``Cookie`` unless ``cookie`` is given: the test client then sends its own cookies, so a
    client that logged in (and asked the token view for a token) connects as that login. A
    client without cookies needs one (``cookie="sessionid=test"``, as the testing guide's own
    helper sends), or use ``connect_headers_for(client)``, which picks for you.
    """
    headers = api_gateway_headers(api_id=api_id, connection_id=connection_id)
    headers.update(
        {
            "HTTP_ORIGIN": "https://testserver",
            "HTTP_SEC_WEBSOCKET_EXTENSIONS": "permessage-deflate",
            "HTTP_SEC_WEBSOCKET_KEY": "test-key",
            "HTTP_SEC_WEBSOCKET_VERSION": "13",
        }
    )
    if cookie is not None:
        headers["HTTP_COOKIE"] = cookie
    return headers


def connect_headers_for(
    client: Client, api_id: str = "abc123", connection_id: str = "connection-1"
) -> dict[str, str]:
    """``api_gateway_connect_headers`` for ``client``: its own cookies, so its login is kept;
    a client without cookies sends ``PLACEHOLDER_COOKIE``."""
    cookie = None if client.cookies else PLACEHOLDER_COOKIE
    return api_gateway_connect_headers(api_id=api_id, connection_id=connection_id, cookie=cookie)


def gone_error() -> ClientError:
    """The error the Management API raises for a connection that has gone away."""
    return ClientError(
        {
            "Error": {"Code": "GoneException", "Message": "Gone"},
            "ResponseMetadata": {
                "RequestId": "",
                "HostId": "",
                "HTTPStatusCode": 410,
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        },
        "PostToConnection",
    )


@dataclass(frozen=True)
class SentMessage:
    """One message posted to one connection."""

    connection_id: str
    endpoint: str
    payload: str

    @property
    def data(self) -> Any:
        return json.loads(self.payload)

    @property
    def delivery_id(self) -> str | None:
        data = self.data
        return data.get("delivery_id") if isinstance(data, dict) else None


@dataclass
class OutboxClient:
    """A stand-in Management API client that records posts instead of sending them.

    Connection ids in ``gone`` answer as AWS does for a closed connection.
    """

    outbox: list[SentMessage]
    endpoint: str = ""
    gone: set[str] = field(default_factory=set)

    def post_to_connection(self, *, Data: bytes | str, ConnectionId: str) -> dict[str, Any]:
        if ConnectionId in self.gone:
            raise gone_error()
        payload = Data.decode("utf-8") if isinstance(Data, bytes) else Data
        self.outbox.append(SentMessage(ConnectionId, self.endpoint, payload))
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:
        self.gone.add(ConnectionId)
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}


class Outbox(list[SentMessage]):
    """The recorded messages, plus the ids to answer as gone."""

    def __init__(self) -> None:
        super().__init__()
        self.gone: set[str] = set()

    def to(self, connection_id: str) -> list[Any]:
        """The data of every message sent to ``connection_id``, in order."""
        return [m.data for m in self if m.connection_id == connection_id]


NOT_EAGER = (
    "{count} send(s) were made inside capture_messages() but nothing was posted: Celery is "
    "not running tasks eagerly, so they wait in the queue for a worker. Set "
    "CELERY_TASK_ALWAYS_EAGER = True in your test settings (with your Celery app, configured "
    "from Django settings, loaded), or run a worker and wait for the delivery report."
)


@contextmanager
def capture_messages() -> Iterator[Outbox]:
    """Record every Management API post made inside the block instead of sending it.

    Sends are delivered by Celery tasks: when sends were made in the block but Celery does not
    run tasks eagerly (``CELERY_TASK_ALWAYS_EAGER``), nothing could be posted, and leaving the
    block raises ``AssertionError`` saying so rather than leaving an empty outbox unexplained.
    """
    from django.db.models.signals import post_save

    from .models import DeliveryReport
    from .sending import delivers_eagerly

    outbox = Outbox()
    sends: list[Any] = []

    def factory(service: str = "apigatewayv2", **kwargs: Any) -> OutboxClient:
        return OutboxClient(outbox, endpoint=kwargs.get("endpoint_url", ""), gone=outbox.gone)

    def noted(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
        if created:
            sends.append(instance.pk)

    post_save.connect(noted, sender=DeliveryReport, weak=False, dispatch_uid=id(sends))
    try:
        with patch(PATCH_TARGET, factory):
            yield outbox
    finally:
        post_save.disconnect(sender=DeliveryReport, dispatch_uid=id(sends))
    if sends and not outbox and not delivers_eagerly():
        raise AssertionError(NOT_EAGER.format(count=len(sends)))


class AWSCallRefused(RuntimeError):
    """An AWS call a test made without capturing or mocking it; it never left the machine."""


FIX = (
    "Tests must not reach AWS: record sends with the websocket_outbox fixture or "
    "`with capture_messages():` (django_aws_api_gateway_websockets.testing), patch "
    "django_aws_api_gateway_websockets.models.get_boto3_client, or use moto's mock_aws or "
    "botocore's Stubber. Loopback endpoints (the local gateway) are allowed."
)


@contextmanager
def refuse_aws_calls(allowed_hosts: Iterable[str] = ()) -> Iterator[list[str]]:
    """Refuse AWS calls made through ``models.get_boto3_client`` inside the block.

    A call to an endpoint that is not loopback (nor in ``allowed_hosts``) raises
    ``AWSCallRefused`` before it is signed or sent, and is listed in the yielded list, unless
    something answers it instead of AWS: ``capture_messages`` or any other patch of
    ``get_boto3_client`` (they replace the guarded factory), botocore's ``Stubber`` (it answers
    before the guard runs), moto's ``mock_aws`` or another ``before-send`` hook.
    """
    refused: list[str] = []
    allowed = {host.lower() for host in allowed_hosts}

    def guard(client: Any, model: Any, **kwargs: Any) -> None:
        if interception.send_hooks(client, model.name):
            return  # moto's mock_aws (or a project's hook) answers this call
        call = f"{model.service_model.service_name}.{model.name} to {client.meta.endpoint_url}"
        refused.append(call)
        raise AWSCallRefused(f"{call} would reach AWS. {FIX}")

    def guarded(factory: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(factory)
        def get_boto3_client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
            client = factory(service, **kwargs)
            host = (urlsplit(client.meta.endpoint_url).hostname or "").lower()
            if not (is_loopback(client.meta.endpoint_url) or host in allowed):
                # Last, so that a Stubber's handler answers first.
                client.meta.events.register_last("before-call", partial(guard, client))
            return client

        return get_boto3_client

    from . import models  # the pytest plugin imports this module before Django is set up

    with patch(PATCH_TARGET, guarded(models.get_boto3_client)):
        yield refused

"""Helpers for testing code that uses this app: API Gateway headers and a message outbox.

The outbox records every message that would have been posted to API Gateway, as Django's
``mail.outbox`` records email, so tests can assert on sends without mocking boto3::

    with capture_messages() as outbox:
        session.send_message({"type": "hello"})
    assert outbox[0].data["type"] == "hello"

Sends are delivered by Celery tasks, so run them eagerly in tests
(``CELERY_TASK_ALWAYS_EAGER = True``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

from botocore.exceptions import ClientError

__all__ = [
    "OutboxClient",
    "SentMessage",
    "api_gateway_connect_headers",
    "api_gateway_headers",
    "capture_messages",
    "gone_error",
]


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


def api_gateway_connect_headers(
    api_id: str = "abc123", connection_id: str = "connection-1"
) -> dict[str, str]:
    """``api_gateway_headers`` plus the browser handshake headers of a ``$connect``."""
    headers = api_gateway_headers(api_id=api_id, connection_id=connection_id)
    headers.update(
        {
            "HTTP_COOKIE": "sessionid=test",
            "HTTP_ORIGIN": "https://testserver",
            "HTTP_SEC_WEBSOCKET_EXTENSIONS": "permessage-deflate",
            "HTTP_SEC_WEBSOCKET_KEY": "test-key",
            "HTTP_SEC_WEBSOCKET_VERSION": "13",
        }
    )
    return headers


def gone_error() -> ClientError:
    """The error the Management API raises for a connection that has gone away."""
    return ClientError(
        {
            "Error": {"Code": "GoneException", "Message": "Gone"},
            "ResponseMetadata": {"HTTPStatusCode": 410},
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


@contextmanager
def capture_messages() -> Iterator[Outbox]:
    """Record every Management API post made inside the block instead of sending it."""
    outbox = Outbox()

    def factory(service: str = "apigatewayv2", **kwargs: Any) -> OutboxClient:
        return OutboxClient(outbox, endpoint=kwargs.get("endpoint_url", ""), gone=outbox.gone)

    with patch("django_aws_api_gateway_websockets.models.get_boto3_client", factory):
        yield outbox

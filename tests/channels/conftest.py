"""Fixtures for the channel tests: a clean Redis database for history, sessions, events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings

from django_aws_api_gateway_websockets import signals
from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import api_gateway_headers


@pytest.fixture(autouse=True)
def clean_history() -> Iterator[None]:
    """History lives in the shared Redis (the broker's): this run's database, emptied."""
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    for key in client.scan_iter("ws:*"):
        client.delete(key)
    yield


@pytest.fixture
def make_session(api_gateway: Any) -> Callable[..., WebSocketSession]:
    counter = iter(range(1, 10_000))

    def make(user: Any = None, channel: str = "", connected: bool = True) -> WebSocketSession:
        return WebSocketSession.objects.create(
            connection_id=f"c-{next(counter)}",
            api_gateway=api_gateway,
            user=user,
            channel_name=channel,
            connected=connected,
        )

    return make


@pytest.fixture
def event(client: Any) -> Callable[..., Any]:
    """Post a message event for ``connection_id`` to the guide's view (``tests/urls.py``)."""

    def post(body: dict[str, Any], connection_id: str = "connection-1") -> Any:
        return client.post(
            "/ws/default",
            json.dumps(body),
            content_type="application/json",
            **api_gateway_headers(connection_id=connection_id),
        )

    return post


class Recorder:
    """Every lifecycle signal received, as (name, kwargs)."""

    NAMES = (
        "connected",
        "disconnected",
        "connection_gone",
        "subscribed",
        "unsubscribed",
        "message_received",
        "delivery_finished",
    )

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._receivers = {name: self._receiver(name) for name in self.NAMES}

    def _receiver(self, name: str) -> Callable[..., None]:
        def receive(sender: Any, **kwargs: Any) -> None:
            kwargs.pop("signal", None)
            self.events.append((name, {"sender": sender, **kwargs}))

        return receive

    def connect(self) -> None:
        for name, receiver in self._receivers.items():
            getattr(signals, name).connect(receiver, weak=False)

    def disconnect(self) -> None:
        for name, receiver in self._receivers.items():
            getattr(signals, name).disconnect(receiver)

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    found = Recorder()
    found.connect()
    yield found
    found.disconnect()

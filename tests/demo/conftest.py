"""Fixtures for the demo's chat: users with and without the chat permission, and events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import api_gateway_headers


def make_user(django_user_model: Any, username: str, *, can_chat: bool = True) -> Any:
    user = django_user_model.objects.create_user(username=username, password="password")
    if can_chat:
        user.user_permissions.add(Permission.objects.get(codename="can_use_chat"))
    return user


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return make_user(django_user_model, "alice")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return make_user(django_user_model, "bob")


@pytest.fixture
def mallory(django_user_model: Any) -> Any:
    """Signed in, but without ``websockets.can_use_chat``."""
    return make_user(django_user_model, "mallory", can_chat=False)


@pytest.fixture
def join(api_gateway: Any) -> Callable[..., WebSocketSession]:
    """Register a connected session of ``user`` in ``room`` (as a $connect would)."""

    def join(connection_id: str, user: Any = None, room: str = "general") -> WebSocketSession:
        return WebSocketSession.objects.create(
            connection_id=connection_id, api_gateway=api_gateway, channel_name=room, user=user
        )

    return join


@pytest.fixture
def event(client: Client) -> Callable[..., Any]:
    """POST a message event for ``connection_id`` to the chat view, as API Gateway does."""

    def post(connection_id: str, body: Any, route: str = "default") -> Any:
        return client.post(
            f"/ws/{route}",
            data=body if isinstance(body, str) else json.dumps(body),
            content_type="application/json",
            **api_gateway_headers(connection_id=connection_id),
        )

    return post

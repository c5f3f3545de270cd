"""pytest fixtures for projects that use this app (loaded automatically once installed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .testing import Outbox, api_gateway_connect_headers, api_gateway_headers, capture_messages


@pytest.fixture
def api_gateway(db: Any) -> Any:
    """An ``ApiGateway`` with api id ``abc123``, as the testing guide's headers expect."""
    from .models import ApiGateway

    return ApiGateway.objects.create(
        api_name="Test API",
        target_base_endpoint="https://testserver/ws/",
        api_id="abc123",
        api_created=True,
        stage_name="test",
    )


@pytest.fixture
def websocket_session(api_gateway: Any) -> Any:
    """A connected session ``connection-1`` in channel ``general`` on ``api_gateway``."""
    from .models import WebSocketSession

    return WebSocketSession.objects.create(
        connection_id="connection-1", api_gateway=api_gateway, channel_name="general"
    )


@pytest.fixture
def websocket_headers() -> dict[str, str]:
    """``api_gateway_headers()`` for ``connection-1``."""
    return api_gateway_headers()


@pytest.fixture
def websocket_connect_headers() -> dict[str, str]:
    """``api_gateway_connect_headers()`` for ``connection-1``."""
    return api_gateway_connect_headers()


@pytest.fixture
def websocket_user(django_user_model: Any) -> Any:
    """A user to log in with or attach to sessions."""
    return django_user_model.objects.create_user(username="websocket-user", password="password")


@pytest.fixture
def websocket_token(websocket_user: Any) -> Any:
    """A fresh connect token for ``websocket_user`` bound to session key ``test-session``."""
    from .models import WebSocketToken

    return WebSocketToken.generate_token(user=websocket_user, session_key="test-session")


@pytest.fixture
def websocket_outbox() -> Iterator[Outbox]:
    """Messages that would have been posted to API Gateway during the test."""
    with capture_messages() as outbox:
        yield outbox

"""The testing guide's token and rate-limit examples, unchanged."""

import pytest
from django.test import Client

from django_aws_api_gateway_websockets.models import ConnectionRateLimit, WebSocketToken


@pytest.mark.django_db
def test_authenticated_user_can_request_websocket_token(django_user_model):
    user = django_user_model.objects.create_user(
        username="alice",
        password="password",
    )

    client = Client(enforce_csrf_checks=False)
    client.force_login(user)

    response = client.post("/api/ws-token/")

    assert response.status_code == 200
    assert "token" in response.json()
    assert response.json()["expires_in"] == 60


@pytest.mark.django_db
def test_websocket_token_is_single_use(django_user_model):
    user = django_user_model.objects.create_user(username="alice")
    session_key = "test-session"

    token = WebSocketToken.generate_token(
        user=user,
        session_key=session_key,
    )

    first_user = WebSocketToken.validate_and_consume(
        token_value=token.token,
        session_key=session_key,
    )

    second_user = WebSocketToken.validate_and_consume(
        token_value=token.token,
        session_key=session_key,
    )

    assert first_user == user
    assert second_user is None


@pytest.mark.django_db
def test_connection_rate_limit_blocks_excess_attempts():
    ip_address = "127.0.0.1"

    for _ in range(20):
        ConnectionRateLimit.record_attempt(
            ip_address=ip_address,
            successful=False,
        )

    allowed, attempt_count = ConnectionRateLimit.check_rate_limit(
        ip_address=ip_address,
        max_attempts=20,
        window_minutes=5,
    )

    assert allowed is False
    assert attempt_count == 20

"""pytest fixtures for projects that use this app (loaded automatically once installed).

Every test also runs inside ``testing.refuse_aws_calls``: an AWS call that nothing captures
or mocks fails the test, with the fix in the message, instead of reaching AWS.

For the test session, ``WEBSOCKETS["allow_unsigned_events"]`` defaults to True: the testing
guide's examples post events without any secret to gateways made with
``ApiGateway.objects.create(...)``, whose secret AWS never received. A test that sets the key
itself gets what it sets; gateways with a current ``gateway_secret`` still need it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps

from .testing import (
    FIX,
    AWSCallRefused,
    Outbox,
    api_gateway_headers,
    capture_messages,
    connect_headers_for,
    refuse_aws_calls,
)

ALLOWED_HOSTS_INI = "websocket_aws_allowed_hosts"
refused_calls = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        ALLOWED_HOSTS_INI,
        type="linelist",
        default=[],
        help="Hosts besides loopback that tests may call AWS APIs at (a LocalStack container).",
    )


@pytest.fixture(autouse=True, scope="session")
def _allow_unsigned_events() -> Iterator[None]:
    """The default of ``allow_unsigned_events`` is True while the session runs (see above)."""
    from .conf import AppSettings

    AppSettings.default_overrides["allow_unsigned_events"] = True
    yield
    AppSettings.default_overrides.pop("allow_unsigned_events", None)


@pytest.fixture(autouse=True)
def _refuse_aws_calls(request: pytest.FixtureRequest) -> Iterator[None]:
    if not apps.ready:  # not a Django test run: nothing of ours can call AWS
        yield
        return
    with refuse_aws_calls(request.config.getini(ALLOWED_HOSTS_INI)) as refused:
        request.node.stash[refused_calls] = refused
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Fail a test whose AWS calls were refused, even if the code under test swallowed them.

    Delivery records a failed post and carries on, so the refusal is reported here.
    """
    try:
        result = yield
    except AWSCallRefused:
        raise  # its own message names the fix
    except Exception:
        fail_if_refused(item)
        raise
    fail_if_refused(item)
    return result


def fail_if_refused(item: pytest.Item) -> None:
    refused = item.stash.get(refused_calls, [])
    if refused:
        calls = "\n  ".join(dict.fromkeys(refused))
        pytest.fail(
            f"This test called AWS (refused, nothing was sent):\n  {calls}\n{FIX} "
            f"`{ALLOWED_HOSTS_INI}` in the pytest ini lists more hosts that may be called.",
            pytrace=False,
        )


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
def websocket_user(django_user_model: Any) -> Any:
    """A user to log in with or attach to sessions."""
    return django_user_model.objects.create_user(username="websocket-user", password="password")


@pytest.fixture
def websocket_client(client: Any, websocket_user: Any) -> Any:
    """pytest-django's ``client``, logged in as ``websocket_user`` (the same object)."""
    client.force_login(websocket_user)
    return client


@pytest.fixture
def websocket_connect_headers(websocket_client: Any) -> dict[str, str]:
    """``$connect`` headers for ``connection-1`` that carry ``websocket_client``'s session."""
    return connect_headers_for(websocket_client)


@pytest.fixture
def websocket_token(websocket_client: Any, websocket_user: Any) -> Any:
    """A fresh connect token for ``websocket_user``, bound to ``websocket_client``'s session.

    It is accepted by a ``$connect`` sent with ``websocket_connect_headers``.
    """
    from .models import WebSocketToken

    return WebSocketToken.generate_token(
        user=websocket_user, session_key=websocket_client.session.session_key
    )


@pytest.fixture
def websocket_outbox() -> Iterator[Outbox]:
    """Messages that would have been posted to API Gateway during the test."""
    with capture_messages() as outbox:
        yield outbox

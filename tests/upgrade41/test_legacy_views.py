"""A view written for 4.1.0 (tests/upgrade41/views.py) behaves here as it did there."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.http import JsonResponse
from django.test import RequestFactory

from django_aws_api_gateway_websockets.models import (
    ChannelPermission,
    WebSocketSession,
    hash_session_key,
)
from django_aws_api_gateway_websockets.testing import (
    api_gateway_connect_headers,
    api_gateway_headers,
)
from django_aws_api_gateway_websockets.views import WebSocketView
from tests.support import admins

from .inventory import public_names
from .legacy import legacy_package_dir
from .views import EchoView, GuardedView

pytestmark = [pytest.mark.urls("tests.upgrade41.urls"), pytest.mark.django_db]
REFUSED = {"type": "error", "reason": "not for you"}


def connect(client, channel, connection_id="connection-2", path="/guarded/connect"):
    """A ``$connect`` carrying the client's session cookie (so its logged-in user)."""
    headers = api_gateway_connect_headers(connection_id=connection_id)
    headers["HTTP_COOKIE"] = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    response = client.post(
        f"{path}?channel={channel}", "", content_type="application/json", **headers
    )
    return response.status_code, response.json()


def message(client, body, path="/guarded/default", connection_id="connection-1"):
    response = client.post(
        path,
        json.dumps(body),
        content_type="application/json",
        **api_gateway_headers(connection_id=connection_id),
    )
    return response.status_code, response.json()


@pytest.fixture
def member(websocket_user):
    websocket_user.user_permissions.add(Permission.objects.get(codename="view_user"))
    return websocket_user


def test_connect_needs_the_views_permissions_and_answers_with_its_refusal(
    client, api_gateway, websocket_user
):
    client.force_login(websocket_user)  # logged in, but without auth.view_user
    ChannelPermission.objects.create(channel_name="general")
    assert connect(client, "general") == (403, REFUSED)
    assert not WebSocketSession.objects.filter(connection_id="connection-2").exists()


def test_its_can_join_channel_decides_who_joins(client, api_gateway, member):
    client.force_login(member)
    assert connect(client, "vip-lounge") == (403, REFUSED)
    member.is_staff = True
    member.save()
    client.force_login(member)
    assert connect(client, "vip-lounge") == (200, {})


def test_unlisted_channels_follow_allow_unlisted_channels(client, api_gateway, member):
    client.force_login(member)
    assert connect(client, "general") == (403, REFUSED)  # GuardedView refuses unlisted ones
    ChannelPermission.objects.create(channel_name="general")  # allow_all
    assert connect(client, "general") == (200, {})


def test_channel_rules_from_the_admin_apply_to_a_plain_4_1_0_view(
    client, api_gateway, websocket_user, settings
):
    EchoView.USE_WS_TOKEN = False
    try:
        client.force_login(websocket_user)
        ChannelPermission.objects.create(channel_name="staff", access="staff_only")
        assert connect(client, "staff", path="/ws/connect") == (
            403,
            {"error": "Permission denied."},
        )
        assert connect(client, "open", path="/ws/connect") == (200, {})
    finally:
        EchoView.USE_WS_TOKEN = True


def test_change_channel_asks_can_join_channel(client, websocket_session):
    class Rooms(GuardedView):
        ALLOWED_HANDLERS = {"default", "change_channel"}
        ALLOW_UNLISTED_CHANNELS = True
        permissions_required = []

    request = RequestFactory().post(
        "/",
        json.dumps({"action": "change_channel", "channel": "vip-room"}),
        content_type="application/json",
        **api_gateway_headers(),
    )
    response = Rooms.as_view()(request, route="default")
    assert (response.status_code, json.loads(response.content)) == (403, REFUSED)
    request = RequestFactory().post(
        "/",
        json.dumps({"action": "change_channel", "channel": "room-2"}),
        content_type="application/json",
        **api_gateway_headers(),
    )
    assert Rooms.as_view()(request, route="default").status_code == 200
    websocket_session.refresh_from_db()
    assert websocket_session.channel_name == "room-2"


def test_its_handlers_and_refusals_answer_messages(client, websocket_session, member):
    websocket_session.user = member
    websocket_session.save()
    assert message(client, {"action": "shout", "text": "hi"}) == (200, {"shout": "HI"})
    member.user_permissions.clear()
    assert message(client, {"action": "shout"}) == (403, REFUSED)


def legacy_view_names() -> set[str]:
    prefix = "views.WebSocketView."
    return {
        name.removeprefix(prefix)
        for name in public_names(legacy_package_dir())
        if name.startswith(prefix)
    }


def redefined(names):
    """A subclass body that redefines ``names``: methods as methods, attributes as values."""

    def method(name):
        return lambda self, request, *args, **kwargs: JsonResponse({"called": name})

    body = {}
    for name in names:
        inherited = getattr(WebSocketView, name, method)
        body[name] = method(name) if callable(inherited) else inherited
    return body


def test_no_4_1_0_hook_or_attribute_is_ever_a_handler(rf, websocket_session):
    names = (legacy_view_names() | set(dir(WebSocketView))) - WebSocketView.BASE_HANDLERS
    names = {name for name in names if not name.startswith("__")}
    assert {"can_join_channel", "permission_denied", "connect", "ALLOW_UNLISTED_CHANNELS"} <= names

    # Defined on a subclass, listed in ALLOWED_HANDLERS or not: never a handler.
    exposing = type("Exposing", (WebSocketView,), redefined(names))
    listing = type("Listing", (exposing,), {"ALLOWED_HANDLERS": names | {"default"}})
    # (the selection of the base view: the subclasses redefine ``allowed_handlers`` too)
    allowed_handlers = WebSocketView.allowed_handlers.__func__
    assert allowed_handlers(exposing) & names == set()
    assert allowed_handlers(listing) & names == set()

    # A message naming one gets ``default``: run the selection itself with every other
    # name redefined (the selection's own methods must stay to be run).
    selection = {"select_handler", "allowed_handlers", "has_permissions"}
    pipeline = {"as_view", "setup", "dispatch"}
    selecting = type(
        "Selecting",
        (WebSocketView,),
        {**redefined(names - selection - pipeline), "ALLOWED_HANDLERS": names | {"default"}},
    )
    for name in sorted(names):
        view = selecting()
        view.body = {"action": name}
        view.websocket_session = websocket_session
        request = rf.post("/")
        request.user = websocket_session.user
        handler = view.select_handler(request)
        assert handler == view.default, name


def test_exception_mails_are_rate_limited_per_view_and_exception(websocket_session, settings):
    settings.ADMINS = admins("admin@example.com")

    class Failing(WebSocketView):
        EXCEPTION_MAIL_INTERVAL = 60

        def default(self, request, *args, **kwargs):
            raise RuntimeError("boom")

    class FailingEveryTime(Failing):
        EXCEPTION_MAIL_INTERVAL = 0

    def fail(view):
        request = RequestFactory().post(
            "/", b'{"action": "x"}', content_type="application/json", **api_gateway_headers()
        )
        with pytest.raises(RuntimeError):
            view.as_view()(request, route="default")

    fail(Failing)
    fail(Failing)
    assert len(mail.outbox) == 1
    fail(FailingEveryTime)
    fail(FailingEveryTime)
    assert len(mail.outbox) == 3


def test_logout_closes_the_sockets_of_that_browser_session(client, api_gateway, websocket_user):
    client.force_login(websocket_user)
    key = client.session.session_key
    mine = WebSocketSession.objects.create(
        connection_id="mine",
        user=websocket_user,
        api_gateway=api_gateway,
        session_key_hash=hash_session_key(key),
    )
    other = WebSocketSession.objects.create(
        connection_id="other",
        user=websocket_user,
        api_gateway=api_gateway,
        session_key_hash=hash_session_key("another-browser"),
    )
    client.post("/accounts/logout/")
    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.connected, other.connected) == (False, True)
    assert message(client, {"action": "echo"}, "/ws/default", "mine") == (
        410,
        {"error": "Connection is closed."},
    )


@pytest.mark.parametrize("change", ["password", "deactivation"])
def test_a_changed_login_closes_the_socket_on_its_next_message(
    client, api_gateway, websocket_user, change
):
    client.force_login(websocket_user)
    EchoView.USE_WS_TOKEN = False
    try:
        assert connect(client, "", "conn-a", "/ws/connect")[0] == 200
    finally:
        EchoView.USE_WS_TOKEN = True
    assert message(client, {"action": "echo", "text": "1"}, "/ws/default", "conn-a")[0] == 200
    if change == "password":
        websocket_user.set_password("a new one")
    else:
        websocket_user.is_active = False
    websocket_user.save()
    assert message(client, {"action": "echo"}, "/ws/default", "conn-a") == (
        410,
        {"error": "Connection is closed."},
    )
    assert not WebSocketSession.objects.get(connection_id="conn-a").connected


def test_4_1_0_helpers_a_subclass_may_call(rf, websocket_user):
    view = GuardedView()
    request = rf.post("/")
    request.user = websocket_user
    assert GuardedView.CHANNEL_NAME_PATTERN.match("room-1")
    assert not view.has_any_permission(request)  # needs auth.view_user
    assert EchoView().has_any_permission(request)  # nothing required: allowed, as in 4.1.0
    assert EchoView().has_all_permission(request)
    assert view.get_channel_permission("nowhere") is None
    assert view.route_selection_key_missing(request).status_code == 400

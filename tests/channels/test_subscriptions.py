"""Subscriptions: the Python API, the built-in actions, one delivery per channel member."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path

from django_aws_api_gateway_websockets import channels
from django_aws_api_gateway_websockets.models import (
    ChannelPermission,
    ChannelSubscription,
    WebSocketSession,
)
from django_aws_api_gateway_websockets.models.channels import is_valid_channel_name
from django_aws_api_gateway_websockets.testing import capture_messages
from tests.channels.urls import RoomsView

pytestmark = pytest.mark.django_db


def test_a_connection_holds_many_channels_and_its_connect_time_one_first(make_session):
    session = make_session(channel="lobby")
    assert channels.subscribe(session, "room-1") == 1
    assert channels.subscribe(session, "room-2") == 1
    assert channels.subscribe(session, "room-2") == 0  # already in it
    assert channels.subscribe(session, "lobby") == 0  # its connect-time channel
    assert channels.channels_of(session) == {"lobby", "room-1", "room-2"}
    assert ChannelSubscription.objects.filter(session=session).count() == 2


def test_send_to_channel_reaches_each_member_once_whatever_the_path(make_session):
    both = make_session(channel="room-1")
    channels.subscribe(both, "room-1")  # no second path for the connect-time channel ...
    ChannelSubscription.objects.create(session=both, channel="room-1")  # ... but force one
    by_row = make_session(channel="lobby")
    channels.subscribe(by_row, "room-1")
    outsider = make_session(channel="lobby")
    with capture_messages() as outbox:
        report = WebSocketSession.objects.send_to_channel("room-1", {"type": "hi"})
    report.refresh_from_db()
    assert report.recipients == 2
    assert sorted(m.connection_id for m in outbox) == sorted(
        [both.connection_id, by_row.connection_id]
    )
    assert outbox.to(outsider.connection_id) == []


def test_send_to_channel_keeps_its_4x_payload_and_exclude(make_session):
    sender, listener = make_session(channel="general"), make_session(channel="general")
    with capture_messages() as outbox:
        report = WebSocketSession.objects.send_to_channel(
            "general", {"type": "news"}, exclude=sender.connection_id
        )
    rid = str(report.pk)
    assert outbox.to(listener.connection_id) == [
        {"type": "news", "delivery_id": rid, "$ws": {"id": rid}}
    ]
    assert outbox.to(sender.connection_id) == []


def test_every_connection_of_a_user(make_session, django_user_model, websocket_outbox):
    user = django_user_model.objects.create_user("ann")
    first, second = make_session(user=user), make_session(user=user)
    make_session(user=user, connected=False)
    assert channels.subscribe(user, "room-1") == 2
    assert {s.pk for s in channels.members("room-1")} == {first.pk, second.pk}
    assert channels.unsubscribe(user, "room-1") == 2
    assert not channels.members("room-1").exists()


def test_unsubscribing_the_connect_time_channel_clears_it(make_session, websocket_outbox):
    session = make_session(channel="lobby")
    assert channels.unsubscribe(session, "lobby") == 1
    session.refresh_from_db()
    assert session.channel_name == ""
    assert channels.channels_of(session) == set()


def test_the_same_access_rule_for_server_code(make_session, django_user_model):
    ChannelPermission.objects.create(
        channel_name="staff", access=ChannelPermission.Access.STAFF_ONLY
    )
    plain = make_session(user=django_user_model.objects.create_user("bob"))
    with pytest.raises(PermissionDenied):
        channels.subscribe(plain, "staff")
    assert channels.subscribe(plain, "staff", check_access=False) == 1


@pytest.mark.parametrize("name", ["", "a b", "room-1\n", "x" * 129, None, 3, "é"])
def test_one_channel_name_rule(name, make_session):
    assert not is_valid_channel_name(name)
    with pytest.raises(ValueError, match="Invalid channel name"):
        channels.subscribe(make_session(), name)


# The built-in actions


def test_subscribe_action_answers_with_the_channel_position(websocket_session, event):
    reply = event({"action": "subscribe", "channel": "room-1"})
    assert reply.status_code == 200
    assert reply.json() == {
        "$ws": {
            "kind": "subscribed",
            "channel": "room-1",
            "epoch": channels.position("room-1")[1],
            "offset": 0,
            "recovered": None,
        }
    }
    assert "room-1" in channels.channels_of(websocket_session)
    assert event({"action": "unsubscribe", "channel": "room-1"}).json() == {
        "$ws": {"kind": "unsubscribed", "channel": "room-1"}
    }
    assert "room-1" not in channels.channels_of(websocket_session)


def test_channel_actions_refuse_bad_names_and_denied_channels(websocket_session, event):
    ChannelPermission.objects.create(
        channel_name="staff", access=ChannelPermission.Access.STAFF_ONLY
    )
    bad = event({"action": "subscribe", "channel": "no spaces"})
    assert bad.status_code == 400
    assert bad.json() == {
        "$ws": {"kind": "error", "action": "subscribe", "channel": "no spaces"},
        "error": "Invalid channel name.",
    }
    denied = event({"action": "presence", "channel": "staff"})
    assert denied.status_code == 403
    assert denied.json()["$ws"] == {"kind": "error", "action": "presence", "channel": "staff"}
    recover = event({"action": "subscribe", "channel": "room-1", "recover": {"offset": "1"}})
    assert recover.status_code == 400
    assert "recover" in recover.json()["error"]
    assert channels.channels_of(websocket_session) == {"general"}


@pytest.mark.urls("tests.channels.urls")
def test_change_channel_still_moves_the_connect_time_channel(websocket_session, event):
    channels.subscribe(websocket_session, "room-9")
    reply = event({"action": "change_channel", "channel": "room-2"})
    assert reply.json() == {"type": "channel_changed", "channel": "room-2"}
    assert channels.channels_of(websocket_session) == {"room-2", "room-9"}


class DottedView(RoomsView):
    CHANNEL_NAME_PATTERN = r"^[a-z.]+$"


@pytest.mark.urls(__name__)
def test_a_views_own_name_pattern_is_the_rule_for_its_actions(websocket_session, event):
    reply = event({"action": "subscribe", "channel": "team.one"})
    assert reply.status_code == 200
    assert "team.one" in channels.channels_of(websocket_session)
    assert event({"action": "subscribe", "channel": "room-1"}).status_code == 400


urlpatterns = [path("ws/<slug:route>", DottedView.as_view())]


def test_the_admin_shows_subscriptions_read_only(admin_client, websocket_session):
    channels.subscribe(websocket_session, "room-7")
    listing = admin_client.get("/admin/django_aws_api_gateway_websockets/channelsubscription/")
    assert listing.status_code == 200
    assert b"room-7" in listing.content
    add = admin_client.get("/admin/django_aws_api_gateway_websockets/channelsubscription/add/")
    assert add.status_code == 403


def test_a_client_may_hold_only_so_many_subscriptions(settings, websocket_session, event):
    settings.WEBSOCKETS = {"max_channels_per_connection": 2}
    assert event({"action": "subscribe", "channel": "a"}).status_code == 200
    assert event({"action": "subscribe", "channel": "b"}).status_code == 200
    assert event({"action": "subscribe", "channel": "b"}).status_code == 200  # held already
    refused = event({"action": "subscribe", "channel": "c"})
    assert refused.status_code == 429
    assert refused.json()["error"] == "Too many subscriptions: at most 2 per connection."
    assert channels.channels_of(websocket_session) == {"general", "a", "b"}
    assert channels.subscribe(websocket_session, "c") == 1  # server code decides for itself


def test_server_side_unsubscribe_tells_the_connection(make_session, django_user_model):
    user = django_user_model.objects.create_user("kim")
    tabs = [make_session(user=user, channel="room-1"), make_session(user=user)]
    channels.subscribe(tabs[1], "room-1")
    with capture_messages() as outbox:
        assert channels.unsubscribe(user, "room-1") == 2
    frame = {"$ws": {"kind": "unsubscribed", "channel": "room-1"}}
    assert [outbox.to(t.connection_id) for t in tabs] == [[frame], [frame]]


def test_the_unsubscribe_action_only_replies(websocket_session, event):
    with capture_messages() as outbox:
        reply = event({"action": "unsubscribe", "channel": "general"})
    assert reply.json() == {"$ws": {"kind": "unsubscribed", "channel": "general"}}
    assert list(outbox) == []

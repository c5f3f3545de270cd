"""Presence, its events, the lifecycle signals, and the one way a connection goes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.signals import user_logged_out
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from django_aws_api_gateway_websockets import channels, signals
from django_aws_api_gateway_websockets.cleanup import delete_stale_sessions
from django_aws_api_gateway_websockets.models import WebSocketSession, mark_gone
from django_aws_api_gateway_websockets.testing import capture_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann")


def test_presence_counts_users_connections_and_anonymous(make_session, ann, django_user_model):
    bob = django_user_model.objects.create_user("bob")
    make_session(user=ann, channel="room-1")
    channels.subscribe(make_session(user=ann), "room-1")
    channels.subscribe(make_session(user=bob), "room-1")
    make_session(channel="room-1")
    make_session(user=bob, channel="room-1", connected=False)
    make_session(user=bob, channel="elsewhere")
    found = channels.presence("room-1")
    assert found.users == [
        {"id": ann.pk, "name": "ann", "connections": 2},
        {"id": bob.pk, "name": "bob", "connections": 1},
    ]
    assert (found.anonymous, found.connections, found.truncated) == (1, 4, False)
    capped = channels.presence("room-1", cap=1)
    assert capped.users == found.users[:1]
    assert capped.truncated is True


def test_presence_leaves_out_connections_past_the_connection_limit(make_session, ann):
    old = make_session(user=ann, channel="room-1")
    WebSocketSession.objects.filter(pk=old.pk).update(
        created_on=timezone.now() - timedelta(hours=3)
    )
    assert channels.presence("room-1").connections == 0


def test_the_presence_action(websocket_session, event, make_session, ann):
    make_session(user=ann, channel="general")
    reply = event({"action": "presence", "channel": "general"})
    assert reply.json() == {
        "$ws": {"kind": "presence", "channel": "general"},
        "users": [{"id": ann.pk, "name": "ann", "connections": 1}],
        "anonymous": 1,
        "connections": 2,
        "truncated": False,
    }


def test_join_and_leave_events_for_opted_in_channels(settings, make_session, ann):
    settings.WEBSOCKETS = {"presence_channels": ["room-*"]}
    watcher = make_session(channel="room-1")
    joining = make_session(user=ann)
    with capture_messages() as outbox:
        channels.subscribe(joining, "room-1")
        channels.subscribe(joining, "lobby")  # not opted in: no event
        channels.unsubscribe(joining, "room-1")
    user = {"id": ann.pk, "name": "ann"}
    assert outbox.to(watcher.connection_id) == [
        {
            "$ws": {"kind": "join", "channel": "room-1"},
            "user": user,
            "connections": 1,
            "total": 2,
            "anonymous": 1,
        },
        {
            "$ws": {"kind": "leave", "channel": "room-1"},
            "user": user,
            "connections": 0,
            "total": 1,
            "anonymous": 1,
        },
    ]


def test_beyond_the_member_cap_only_counts(settings, make_session):
    settings.WEBSOCKETS = {"presence_channels": ["room-*"], "presence_member_cap": 2}
    members = [make_session(channel="room-1") for _ in range(2)]
    with capture_messages() as outbox:
        channels.subscribe(make_session(), "room-1")  # sent at once
        channels.subscribe(make_session(), "room-1")  # within the interval: at its end
        channels.subscribe(make_session(), "room-1")  # already pending: not again
    counts = [(m["$ws"]["kind"], m["total"]) for m in outbox.to(members[0].connection_id)]
    # Eager tasks run at once; a worker runs the trailing count when the interval ends.
    assert counts == [("presence_count", 3), ("presence_count", 4)]


def test_a_connection_that_goes_leaves_presence_and_its_channels_hear_it(
    settings, make_session, ann
):
    settings.WEBSOCKETS = {"presence_channels": ["room-*"]}
    watcher = make_session(channel="room-1")
    leaving = make_session(user=ann, channel="room-1")
    with capture_messages():
        channels.subscribe(leaving, "room-2")
    with capture_messages() as outbox:
        assert mark_gone(WebSocketSession.objects.filter(pk=leaving.pk), signals.REASON_GONE) == 1
        assert mark_gone(WebSocketSession.objects.filter(pk=leaving.pk), signals.REASON_GONE) == 0
    assert channels.presence("room-1").connections == 1
    assert [m["$ws"] for m in outbox.to(watcher.connection_id)] == [
        {"kind": "leave", "channel": "room-1"}
    ]


# Signals, sent after commit


def test_signals_wait_for_the_commit(make_session, recorder, django_capture_on_commit_callbacks):
    session = make_session()
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        channels.subscribe(session, "room-1")
    assert recorder.names() == []
    for callback in callbacks:
        callback()
    assert recorder.events == [
        ("subscribed", {"sender": WebSocketSession, "session": session, "channel": "room-1"})
    ]


def test_the_connection_lifecycle_sends_each_signal(
    client, api_gateway, recorder, django_capture_on_commit_callbacks
):
    from django_aws_api_gateway_websockets.testing import (
        api_gateway_headers,
        connect_headers_for,
    )

    with django_capture_on_commit_callbacks(execute=True):
        connected = client.post(
            "/ws/connect?channel=lobby", **connect_headers_for(client, connection_id="life-1")
        )
    assert connected.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/ws/default",
            '{"action": "subscribe", "channel": "room-1"}',
            content_type="application/json",
            **api_gateway_headers(connection_id="life-1"),
        )
        client.post(
            "/ws/default",
            '{"action": "unsubscribe", "channel": "room-1"}',
            content_type="application/json",
            **api_gateway_headers(connection_id="life-1"),
        )
        client.post("/ws/disconnect", **api_gateway_headers(connection_id="life-1"))
    names = recorder.names()
    assert names == [
        "connected",
        "subscribed",  # the connect-time channel
        "message_received",
        "subscribed",
        "message_received",
        "unsubscribed",
        "disconnected",
    ]
    assert recorder.events[1][1]["channel"] == "lobby"
    assert recorder.events[2][1]["body"] == {"action": "subscribe", "channel": "room-1"}
    assert recorder.events[2][1]["handler"] == "subscribe"
    assert recorder.events[-1][1]["reason"] == signals.REASON_DISCONNECT
    assert recorder.events[-1][1]["session"].connected is False


def test_delivery_finished(make_session, recorder):
    make_session(channel="room-1")
    with capture_messages():
        report = WebSocketSession.objects.send_to_channel("room-1", {})
    assert [e for e in recorder.events if e[0] == "delivery_finished"] == [
        ("delivery_finished", {"sender": type(report), "report_id": report.pk})
    ]


# One way to mark a connection gone, for every path


@pytest.mark.django_db(transaction=True)  # recorded inside the worker's transaction
def test_a_410_marks_the_session_gone_with_connection_gone(make_session, recorder):
    session = make_session(channel="room-1")
    WebSocketSession.objects.filter(pk=session.pk).update(
        created_on=timezone.now() - timedelta(minutes=1)
    )
    with capture_messages() as outbox:
        outbox.gone.add(session.connection_id)
        report = WebSocketSession.objects.send_to_channel("room-1", {})
    report.refresh_from_db()
    assert report.gone == 1
    session.refresh_from_db()
    assert session.connected is False
    gone = [
        (n, kw["reason"]) for n, kw in recorder.events if n in ("disconnected", "connection_gone")
    ]
    assert gone == [("disconnected", "gone"), ("connection_gone", "gone")]


@pytest.mark.django_db(transaction=True)  # some paths mark inside a transaction
@pytest.mark.parametrize(
    "end, reason",
    [
        ("disconnect_method", signals.REASON_CLOSED),
        ("logout", signals.REASON_LOGIN_ENDED),
        ("gateway_deleted", signals.REASON_GATEWAY_DELETED),
        ("expired", signals.REASON_EXPIRED),
    ],
)
def test_every_path_goes_through_mark_gone(end, reason, make_session, recorder, rf, api_gateway):
    from django_aws_api_gateway_websockets.models import hash_session_key

    session = make_session(channel="room-1")
    WebSocketSession.objects.filter(pk=session.pk).update(session_key_hash=hash_session_key("k"))
    if end == "disconnect_method":
        with capture_messages():
            session.disconnect()
    elif end == "logout":
        request = rf.get("/")
        request.session = type("S", (), {"session_key": "k"})()
        user_logged_out.send(sender=None, request=request, user=None)
    elif end == "gateway_deleted":
        api_gateway.delete()
    else:
        WebSocketSession.objects.filter(pk=session.pk).update(
            created_on=timezone.now() - timedelta(hours=3)
        )
        delete_stale_sessions()
    gone = [
        (n, kw["reason"]) for n, kw in recorder.events if n in ("disconnected", "connection_gone")
    ]
    expected = [("disconnected", reason)]
    if reason in signals.UNANNOUNCED:
        expected.append(("connection_gone", reason))
    assert gone == expected
    assert not channels.members("room-1").exists()


def test_cleanup_command_runs_the_same_code(make_session, recorder):
    session = make_session()
    WebSocketSession.objects.filter(pk=session.pk).update(
        created_on=timezone.now() - timedelta(hours=3)
    )
    call_command("clearWebSocketSessions", verbosity=0)
    assert ("connection_gone") in recorder.names()

"""The chat's WebSocket events: connect with a token, rooms as channels, presence, permissions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from django_aws_api_gateway_websockets import channels
from django_aws_api_gateway_websockets.models import DeliveryReport, WebSocketSession
from django_aws_api_gateway_websockets.testing import (
    api_gateway_connect_headers,
    capture_messages,
)
from project import settings as project_settings
from websockets.models import ChatMessage
from websockets.views import HISTORY_LENGTH, MAX_MESSAGE_LENGTH, ROOMS, ChatView

pytestmark = [pytest.mark.urls("project.urls"), pytest.mark.django_db]


@pytest.fixture(autouse=True)
def project_channels(settings: Any) -> Iterator[None]:
    """The project's channel settings (history, presence events), on an empty history."""
    settings.WEBSOCKETS = {
        key: project_settings.WEBSOCKETS[key] for key in ("channel_history", "presence_channels")
    }
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    for key in client.scan_iter("ws:*"):
        client.delete(key)
    yield


def connect(client: Client, user: Any, room: str, connection_id: str) -> Any:
    """The browser's whole connect flow: a token from the page's session, then $connect."""
    client.force_login(user)
    token = client.post("/api/ws-token/").json()["token"]
    headers = api_gateway_connect_headers(connection_id=connection_id)  # the client's cookie
    return client.post(
        f"/ws/connect?channel={room}&ws_token={token}",
        data="",
        content_type="application/json",
        **headers,
    )


def kinds(messages: list[Any]) -> list[str]:
    return [m["$ws"]["kind"] for m in messages]


# Connecting and leaving: presence is the library's


def test_connect_joins_the_room_and_the_room_is_told(api_gateway, join, alice, bob):
    join("alice-1", alice, "general")
    join("carol-elsewhere", None, "random")
    with capture_messages() as outbox:
        response = connect(Client(), bob, "general", "bob-1")

    assert response.status_code == 200
    session = WebSocketSession.objects.get(connection_id="bob-1")
    assert (session.channel_name, session.user, session.connected) == ("general", bob, True)
    for connection_id in ("alice-1", "bob-1"):
        [event] = outbox.to(connection_id)
        assert event == {
            "$ws": {"kind": "join", "channel": "general"},
            "user": {"id": bob.pk, "name": "bob"},
            "connections": 1,
            "total": 2,
            "anonymous": 0,
        }
    assert outbox.to("carol-elsewhere") == []


@pytest.mark.parametrize("room", ["lobby", "", "general!"])
def test_connect_refuses_rooms_that_are_not_the_demos(api_gateway, alice, room):
    with capture_messages() as outbox:
        response = connect(Client(), alice, room, "alice-1")

    assert response.status_code in (400, 403)
    assert "error" in response.json()
    assert not WebSocketSession.objects.exists()
    assert outbox == []


def test_connect_needs_a_token(api_gateway, client):
    headers = api_gateway_connect_headers(connection_id="anon-1", cookie="sessionid=none")
    response = client.post(
        "/ws/connect?channel=general", data="", content_type="application/json", **headers
    )

    assert response.status_code == 403
    assert response.json() == {"error": "Invalid or expired token."}
    assert not WebSocketSession.objects.exists()


def test_disconnect_leaves_every_room_of_the_connection(api_gateway, join, event, alice, bob):
    join("alice-1", alice)
    bob_1 = join("bob-1", bob)
    join("alice-random", alice, "random")
    with capture_messages():
        channels.subscribe(bob_1, "random")
    with capture_messages() as outbox:
        response = event("bob-1", "", route="disconnect")

    assert response.status_code == 200
    assert WebSocketSession.objects.get(connection_id="bob-1").connected is False
    for connection_id, room in (("alice-1", "general"), ("alice-random", "random")):
        [left] = outbox.to(connection_id)
        assert left["$ws"] == {"kind": "leave", "channel": room}
        assert (left["user"]["name"], left["connections"], left["total"]) == ("bob", 0, 1)
    assert outbox.to("bob-1") == []


# Rooms: one connection holds several


def test_a_connection_subscribes_to_more_rooms_and_receives_each(join, event, alice, bob):
    join("alice-1", alice)
    join("bob-1", bob, "random")
    with capture_messages() as outbox:
        reply = event("alice-1", {"action": "subscribe", "channel": "random"}).json()
        event("bob-1", {"action": "chat_message", "room": "random", "message": "hi random"})

    assert reply["$ws"]["kind"] == "subscribed"
    assert (reply["$ws"]["channel"], reply["$ws"]["recovered"]) == ("random", None)
    [publication] = [m for m in outbox.to("alice-1") if m["$ws"]["kind"] == "publication"]
    assert publication["$ws"]["channel"] == "random"
    assert publication["data"]["message"] == "hi random"
    assert channels.channels_of(WebSocketSession.objects.get(connection_id="alice-1")) == {
        "general",
        "random",
    }


@pytest.mark.parametrize("room", ["lobby", "general!"])
def test_subscribe_refuses_rooms_that_are_not_the_demos(join, event, alice, room):
    join("alice-1", alice)
    response = event("alice-1", {"action": "subscribe", "channel": room})

    assert response.status_code in (400, 403)
    assert response.json()["$ws"] == {"kind": "error", "action": "subscribe", "channel": room}


def test_presence_lists_each_connected_user_with_their_connections(join, event, alice, bob):
    join("alice-1", alice)
    join("alice-2", alice)  # A second tab.
    join("bob-1", bob)
    join("anon-1", None)
    gone = join("bob-2", bob)
    WebSocketSession.objects.filter(pk=gone.pk).update(connected=False)

    reply = event("alice-1", {"action": "presence", "channel": "general"}).json()

    assert reply["$ws"] == {"kind": "presence", "channel": "general"}
    users = {u["name"]: u["connections"] for u in reply["users"]}
    assert users == {"alice": 2, "bob": 1}
    assert (reply["anonymous"], reply["connections"], reply["truncated"]) == (1, 4, False)


def test_a_reconnected_connection_recovers_what_it_missed(join, event, alice, bob):
    join("alice-1", alice)
    join("bob-1", bob)
    with capture_messages() as outbox:
        event("bob-1", {"action": "chat_message", "room": "general", "message": "seen"})
    [seen] = [m for m in outbox.to("alice-1") if m["$ws"]["kind"] == "publication"]
    position = {"offset": seen["$ws"]["offset"], "epoch": seen["$ws"]["epoch"]}
    WebSocketSession.objects.filter(connection_id="alice-1").update(connected=False)
    with capture_messages():
        for text in ("missed 1", "missed 2"):
            event("bob-1", {"action": "chat_message", "room": "general", "message": text})

    join("alice-2", alice, "")  # The new connection, as AWS gives one after a cut.
    with capture_messages() as outbox:
        reply = event(
            "alice-2", {"action": "subscribe", "channel": "general", "recover": position}
        ).json()

    assert reply["$ws"]["recovered"] is True
    recovered = reply.get("publications", []) + [
        m for m in outbox.to("alice-2") if m["$ws"]["kind"] == "publication"
    ]
    texts = {p["$ws"]["offset"]: p["data"]["message"] for p in recovered}
    assert [texts[o] for o in sorted(texts)] == ["missed 1", "missed 2"]


# chat_message


def test_chat_message_is_stored_and_published_to_the_room_including_the_sender(
    join, event, alice, bob
):
    join("alice-1", alice)
    join("bob-1", bob)
    join("bob-2", bob, "random")
    with capture_messages() as outbox:
        response = event(
            "alice-1", {"action": "chat_message", "room": "general", "message": "  Hello!  "}
        )

    assert response.status_code == 200
    reply = response.json()
    assert (reply["type"], reply["room"]) == ("sent", "general")
    message = ChatMessage.objects.get()
    assert (message.user, message.channel_name, message.text) == (alice, "general", "Hello!")
    assert str(message.delivery_report_id) == reply["delivery_id"]

    frames = {connection_id: outbox.to(connection_id) for connection_id in ("alice-1", "bob-1")}
    assert frames["alice-1"] == frames["bob-1"]
    [publication] = frames["alice-1"]
    assert publication["$ws"]["kind"] == "publication"
    assert (publication["$ws"]["channel"], publication["$ws"]["offset"]) == ("general", 1)
    assert publication["data"] == {
        "type": "chat_message",
        "room": "general",
        "id": message.pk,
        "message": "Hello!",
        "user": "alice",
        "sent_at": message.created_on.isoformat(),
    }
    assert outbox.to("bob-2") == []
    report = DeliveryReport.objects.get(pk=reply["delivery_id"])
    assert (report.recipients, report.delivered, report.progress) == (2, 2, 1.0)


def test_chat_message_in_a_second_room_of_the_connection(join, event, alice, bob):
    alice_1 = join("alice-1", alice)
    join("bob-1", bob, "support")
    with capture_messages():
        channels.subscribe(alice_1, "support")
    with capture_messages() as outbox:
        response = event("alice-1", {"action": "chat_message", "room": "support", "message": "?"})

    assert response.json()["room"] == "support"
    assert [p["data"]["message"] for p in outbox.to("bob-1")] == ["?"]
    assert ChatMessage.objects.get().channel_name == "support"


def test_chat_message_needs_the_room_to_be_joined(join, event, alice, bob):
    join("alice-1", alice)
    join("bob-1", bob, "random")
    with capture_messages() as outbox:
        response = event("alice-1", {"action": "chat_message", "room": "random", "message": "hi"})

    assert response.status_code == 403
    assert response.json() == {"error": "Join #random before posting in it."}
    assert not ChatMessage.objects.exists()
    assert outbox == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"message": "hi"}, f"room must be one of: {', '.join(ROOMS)}."),
        ({"room": "lobby", "message": "hi"}, f"room must be one of: {', '.join(ROOMS)}."),
        ({"room": "general"}, "message must be a non-empty string."),
        ({"room": "general", "message": ""}, "message must be a non-empty string."),
        ({"room": "general", "message": " \n\t "}, "message must be a non-empty string."),
        ({"room": "general", "message": 42}, "message must be a non-empty string."),
        ({"room": "general", "message": ["hi"]}, "message must be a non-empty string."),
        (
            {"room": "general", "message": "x" * (MAX_MESSAGE_LENGTH + 1)},
            f"message must be at most {MAX_MESSAGE_LENGTH} characters.",
        ),
    ],
)
def test_chat_message_refuses_invalid_messages(join, event, alice, body, error):
    join("alice-1", alice)
    with capture_messages() as outbox:
        response = event("alice-1", {"action": "chat_message", **body})

    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not ChatMessage.objects.exists()
    assert not DeliveryReport.objects.exists()
    assert outbox == []


def test_chat_message_of_the_longest_allowed_length_is_sent(join, event, alice):
    join("alice-1", alice)
    text = "é" * MAX_MESSAGE_LENGTH
    with capture_messages() as outbox:
        response = event("alice-1", {"action": "chat_message", "room": "general", "message": text})

    assert response.status_code == 200
    assert outbox.to("alice-1")[0]["data"]["message"] == text


def test_chat_message_needs_the_chat_permission(join, event, mallory, bob):
    join("mallory-1", mallory)
    join("bob-1", bob)
    with capture_messages() as outbox:
        response = event(
            "mallory-1", {"action": "chat_message", "room": "general", "message": "let me in"}
        )

    assert response.status_code == 403
    assert response.json() == {"error": "Permission denied."}
    assert not ChatMessage.objects.exists()
    assert outbox == []


def test_anonymous_connections_cannot_post(join, event):
    join("anon-1", None)
    response = event("anon-1", {"action": "chat_message", "room": "general", "message": "hi"})

    assert response.status_code == 403


def test_handler_key_selects_chat_message_too(join, event, alice):
    join("alice-1", alice)
    with capture_messages():
        response = event(
            "alice-1", {"handler": "chat_message", "room": "general", "message": "by handler"}
        )

    assert response.json()["type"] == "sent"


# fetch_history


def test_fetch_history_returns_the_last_messages_of_the_room_oldest_first(join, event, alice, bob):
    join("alice-1", alice)
    start = timezone.now() - timedelta(hours=1)
    for index in range(HISTORY_LENGTH + 5):
        message = ChatMessage.objects.create(
            channel_name="general", user=alice if index % 2 else bob, text=f"message {index}"
        )
        ChatMessage.objects.filter(pk=message.pk).update(
            created_on=start + timedelta(seconds=index)
        )
    ChatMessage.objects.create(channel_name="random", user=bob, text="elsewhere")

    response = event("alice-1", {"action": "fetch_history", "room": "general"})

    assert response.status_code == 200
    data = response.json()
    assert (data["type"], data["room"]) == ("history", "general")
    assert len(data["messages"]) == HISTORY_LENGTH
    assert [m["message"] for m in data["messages"]] == [
        f"message {index}" for index in range(5, HISTORY_LENGTH + 5)
    ]
    first = ChatMessage.objects.get(text="message 5")
    assert data["messages"][0] == {
        "id": first.pk,
        "message": "message 5",
        "user": "alice",
        "sent_at": (start + timedelta(seconds=5)).isoformat(),
    }


def test_fetch_history_of_an_empty_room(join, event, alice):
    join("alice-1", alice)
    response = event("alice-1", {"action": "fetch_history", "room": "support"})

    assert response.json() == {"type": "history", "room": "support", "messages": []}


def test_fetch_history_needs_a_room_of_the_demo(join, event, alice):
    join("alice-1", alice)
    response = event("alice-1", {"action": "fetch_history", "room": "lobby"})

    assert response.status_code == 400
    assert response.json() == {"error": f"room must be one of: {', '.join(ROOMS)}."}


# Everything else


@pytest.mark.parametrize(
    "body",
    [
        {"action": "unknown"},
        {"action": "who_is_here"},  # Presence is the library's presence action now.
        {"action": "room_users"},
        {"action": "broadcast_presence"},
    ],
)
def test_other_actions_get_an_error(join, event, alice, body):
    join("alice-1", alice)
    with capture_messages() as outbox:
        response = event("alice-1", body)

    assert response.status_code == 400
    assert response.json() == {"error": "Unknown action."}
    assert WebSocketSession.objects.get(connection_id="alice-1").channel_name == "general"
    assert outbox == []


def test_ping_is_answered(join, event, alice):
    join("alice-1", alice)
    assert event("alice-1", {"action": "ping"}).json() == {"type": "pong"}


def test_events_of_unknown_connections_are_refused(api_gateway, event):
    response = event("nobody", {"action": "fetch_history", "room": "general"})

    assert response.status_code == 400


def test_allowed_handlers_are_the_chats_and_the_librarys():
    assert ChatView.allowed_handlers() == {
        "default",
        "chat_message",
        "fetch_history",
        "ping",
        "subscribe",
        "unsubscribe",
        "presence",
    }

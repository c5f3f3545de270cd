"""The chat's WebSocket events: connect with a token, handlers, presence, permissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from django_aws_api_gateway_websockets.models import DeliveryReport, WebSocketSession
from django_aws_api_gateway_websockets.testing import (
    api_gateway_connect_headers,
    capture_messages,
)
from websockets.models import ChatMessage
from websockets.views import HISTORY_LENGTH, MAX_MESSAGE_LENGTH, ChatView

pytestmark = [pytest.mark.urls("project.urls"), pytest.mark.django_db]


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


# Connecting and leaving


def test_connect_joins_the_room_and_tells_it(api_gateway, join, alice, bob):
    join("alice-1", alice, "general")
    join("carol-elsewhere", None, "random")
    with capture_messages() as outbox:
        response = connect(Client(), bob, "general", "bob-1")

    assert response.status_code == 200
    session = WebSocketSession.objects.get(connection_id="bob-1")
    assert (session.channel_name, session.user, session.connected) == ("general", bob, True)
    presence = {"type": "presence", "room": "general", "users": ["alice", "bob"]}
    for connection_id in ("alice-1", "bob-1"):
        [message] = outbox.to(connection_id)
        assert {k: message[k] for k in presence} == presence
        assert message["delivery_id"]
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


def test_disconnect_tells_the_room_who_is_left(api_gateway, join, event, alice, bob):
    join("alice-1", alice)
    join("bob-1", bob)
    with capture_messages() as outbox:
        response = event("bob-1", "", route="disconnect")

    assert response.status_code == 200
    assert WebSocketSession.objects.get(connection_id="bob-1").connected is False
    [message] = outbox.to("alice-1")
    assert (message["type"], message["users"]) == ("presence", ["alice"])
    assert outbox.to("bob-1") == []


# chat_message


def test_chat_message_is_stored_and_fanned_out_to_the_room_including_the_sender(
    join, event, alice, bob
):
    join("alice-1", alice)
    join("bob-1", bob)
    join("bob-2", bob, "random")
    with capture_messages() as outbox:
        response = event("alice-1", {"action": "chat_message", "message": "  Hello, room!  "})

    assert response.status_code == 200
    reply = response.json()
    assert reply["type"] == "sent"
    assert reply["room"] == "general"
    message = ChatMessage.objects.get()
    assert (message.user, message.channel_name, message.text) == (alice, "general", "Hello, room!")
    assert str(message.delivery_report_id) == reply["report_id"]

    for connection_id in ("alice-1", "bob-1"):
        [data] = outbox.to(connection_id)
        assert data == {
            "type": "chat_message",
            "room": "general",
            "message": "Hello, room!",
            "user": "alice",
            "sent_at": message.created_on.isoformat(),
            "delivery_id": reply["report_id"],
        }
    assert outbox.to("bob-2") == []
    report = DeliveryReport.objects.get(pk=reply["report_id"])
    assert (report.recipients, report.delivered, report.progress) == (2, 2, 1.0)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"action": "chat_message"}, "message must be a non-empty string."),
        ({"action": "chat_message", "message": ""}, "message must be a non-empty string."),
        ({"action": "chat_message", "message": " \n\t "}, "message must be a non-empty string."),
        ({"action": "chat_message", "message": 42}, "message must be a non-empty string."),
        ({"action": "chat_message", "message": ["hi"]}, "message must be a non-empty string."),
        (
            {"action": "chat_message", "message": "x" * (MAX_MESSAGE_LENGTH + 1)},
            f"message must be at most {MAX_MESSAGE_LENGTH} characters.",
        ),
    ],
)
def test_chat_message_refuses_invalid_messages(join, event, alice, body, error):
    join("alice-1", alice)
    with capture_messages() as outbox:
        response = event("alice-1", body)

    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert not ChatMessage.objects.exists()
    assert not DeliveryReport.objects.exists()
    assert outbox == []


def test_chat_message_of_the_longest_allowed_length_is_sent(join, event, alice):
    join("alice-1", alice)
    text = "é" * MAX_MESSAGE_LENGTH
    with capture_messages() as outbox:
        response = event("alice-1", {"action": "chat_message", "message": text})

    assert response.status_code == 200
    assert outbox.to("alice-1")[0]["message"] == text


def test_chat_message_needs_the_chat_permission(join, event, mallory, bob):
    join("mallory-1", mallory)
    join("bob-1", bob)
    with capture_messages() as outbox:
        response = event("mallory-1", {"action": "chat_message", "message": "let me in"})

    assert response.status_code == 403
    assert response.json() == {"error": "Permission denied."}
    assert not ChatMessage.objects.exists()
    assert outbox == []


def test_anonymous_connections_cannot_post(join, event):
    join("anon-1", None)
    response = event("anon-1", {"action": "chat_message", "message": "hi"})

    assert response.status_code == 403


def test_handler_key_selects_chat_message_too(join, event, alice):
    join("alice-1", alice)
    with capture_messages():
        response = event("alice-1", {"handler": "chat_message", "message": "by handler"})

    assert response.json()["type"] == "sent"


# fetch_history and who_is_here


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

    response = event("alice-1", {"action": "fetch_history"})

    assert response.status_code == 200
    data = response.json()
    assert (data["type"], data["room"]) == ("history", "general")
    assert len(data["messages"]) == HISTORY_LENGTH
    assert [m["message"] for m in data["messages"]] == [
        f"message {index}" for index in range(5, HISTORY_LENGTH + 5)
    ]
    assert data["messages"][0] == {
        "message": "message 5",
        "user": "alice",
        "sent_at": (start + timedelta(seconds=5)).isoformat(),
    }


def test_fetch_history_of_an_empty_room(join, event, alice):
    join("alice-1", alice, "support")
    response = event("alice-1", {"action": "fetch_history"})

    assert response.json() == {"type": "history", "room": "support", "messages": []}


def test_who_is_here_lists_each_connected_user_once(join, event, alice, bob, mallory):
    join("alice-1", alice)
    join("alice-2", alice)  # A second tab.
    join("bob-1", bob)
    join("anon-1", None)
    join("mallory-1", mallory, "random")
    gone = join("mallory-2", mallory)
    WebSocketSession.objects.filter(pk=gone.pk).update(connected=False)

    response = event("alice-1", {"action": "who_is_here"})

    assert response.json() == {"type": "presence", "room": "general", "users": ["alice", "bob"]}


# Everything else


@pytest.mark.parametrize(
    "body",
    [
        {"action": "unknown"},
        {"action": "change_channel", "channel": "random"},  # Rooms change by reconnecting.
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
    response = event("nobody", {"action": "fetch_history"})

    assert response.status_code == 400


def test_allowed_handlers_are_exactly_the_chats():
    assert ChatView.allowed_handlers() == {
        "default",
        "chat_message",
        "fetch_history",
        "who_is_here",
        "ping",
    }

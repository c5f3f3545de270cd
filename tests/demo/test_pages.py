"""The demo page, the login page, the delivery-report API and the admin."""

from __future__ import annotations

import importlib
import json
import uuid

import pytest
from django.urls import clear_url_caches

from django_aws_api_gateway_websockets.models import DeliveryReport, WebSocketSession
from django_aws_api_gateway_websockets.testing import capture_messages
from websockets import views
from websockets.models import ChatMessage

pytestmark = [pytest.mark.urls("project.urls"), pytest.mark.django_db]


def page_config(response):
    return response.context["chat_config"]


# The chat page


def test_chat_page_needs_a_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_chat_page_configures_the_client(client, alice, settings, monkeypatch):
    monkeypatch.delenv("WEBSOCKETS_PUBLIC_URL", raising=False)
    settings.WEBSOCKETS_PUBLIC_URL = "wss://ws.example.com/production"
    client.force_login(alice)

    response = client.get("/?room=support")

    assert response.status_code == 200
    assert "csrftoken" in response.cookies  # The client sends it with its token request.
    config = page_config(response)
    assert config == {
        "wsUrl": "wss://ws.example.com/production",
        "tokenUrl": "/api/ws-token/",
        "deliveriesUrl": "/api/deliveries/",
        "whoamiUrl": "/api/whoami/",
        "rooms": ["general", "random", "support"],
        "room": "support",
        "username": "alice",
        "canChat": True,
        "maxLength": 2000,
    }
    html = response.content.decode()
    assert '<script id="chat-config" type="application/json">' in html
    assert "/static/django_aws_api_gateway_websockets/websocket-client.js" in html
    assert "/static/websockets/chat.js" in html
    assert 'data-room="random"' in html


def test_chat_page_reads_the_public_url_from_the_environment(client, alice, settings, monkeypatch):
    if hasattr(settings, "WEBSOCKETS_PUBLIC_URL"):
        del settings.WEBSOCKETS_PUBLIC_URL
    monkeypatch.setenv("WEBSOCKETS_PUBLIC_URL", "ws://127.0.0.1:9001/local")
    client.force_login(alice)

    assert page_config(client.get("/"))["wsUrl"] == "ws://127.0.0.1:9001/local"
    monkeypatch.delenv("WEBSOCKETS_PUBLIC_URL")
    assert page_config(client.get("/"))["wsUrl"] == "ws://127.0.0.1:8001/"


def test_chat_page_falls_back_to_the_first_room(client, alice):
    client.force_login(alice)

    assert page_config(client.get("/?room=lobby"))["room"] == "general"


def test_chat_page_for_a_user_who_may_only_read(client, mallory):
    client.force_login(mallory)

    response = client.get("/")

    assert page_config(response)["canChat"] is False
    assert "You may read but not post" in response.content.decode()


def test_chat_page_only_answers_get(client, alice):
    client.force_login(alice)

    assert client.post("/").status_code == 405


def test_login_page_renders_and_logs_in(client, alice):
    page = client.get("/accounts/login/?next=/%3Froom%3Drandom")
    assert page.status_code == 200
    assert "registration/login.html" in [t.name for t in page.templates]
    assert 'name="next" value="/?room=random"' in page.content.decode()

    bad = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert "did not match" in bad.content.decode()

    good = client.post(
        "/accounts/login/", {"username": "alice", "password": "password", "next": "/"}
    )
    assert good.status_code == 302
    assert client.get("/").status_code == 200


def test_sign_out(client, alice):
    client.force_login(alice)

    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


# Delivery reports


def send_as(user, text, room="general"):
    """What ChatView.chat_message records: the message and its send's report."""
    with capture_messages():
        report = WebSocketSession.objects.send_to_channel(room, {"type": "chat_message"})
    ChatMessage.objects.create(user=user, channel_name=room, text=text, delivery_report=report)
    return report


def test_delivery_detail_shows_the_users_own_report(client, join, alice):
    join("alice-1", alice)
    report = send_as(alice, "hello")
    client.force_login(alice)

    response = client.get(f"/api/deliveries/{report.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == str(report.pk)
    assert {k: data[k] for k in ("recipients", "delivered", "gone", "failed", "retried")} == {
        "recipients": 1,
        "delivered": 1,
        "gone": 0,
        "failed": 0,
        "retried": 0,
    }
    assert data["progress"] == 1.0
    assert data["started"] is not None
    assert data["finished"] is not None


def test_delivery_detail_of_a_queued_send(client, alice):
    report = DeliveryReport.objects.create(payload="{}", selection={})
    ChatMessage.objects.create(
        user=alice, channel_name="general", text="hi", delivery_report=report
    )
    client.force_login(alice)

    data = client.get(f"/api/deliveries/{report.pk}/").json()

    assert (data["progress"], data["started"], data["finished"]) == (None, None, None)


def test_delivery_detail_hides_other_users_reports(client, alice, bob):
    report = send_as(bob, "bob's")
    client.force_login(alice)

    assert client.get(f"/api/deliveries/{report.pk}/").status_code == 404
    assert client.get(f"/api/deliveries/{uuid.uuid4()}/").json() == {
        "error": "No such delivery report."
    }
    # Reports of sends no chat message made (announcements) are nobody's.
    with capture_messages():
        announcement = WebSocketSession.objects.send_to_all({"type": "announcement"})
    assert client.get(f"/api/deliveries/{announcement.pk}/").status_code == 404


def test_whoami_reads_the_login_of_this_request_not_of_the_page(client, alice, bob):
    client.force_login(alice)
    assert client.get("/api/whoami/").json() == {"username": "alice"}
    # Another window of the same browser signs in as bob: the cookie now names bob.
    client.force_login(bob)
    assert client.get("/api/whoami/").json() == {"username": "bob"}
    client.logout()
    assert client.get("/api/whoami/").status_code == 403


def test_delivery_api_needs_a_login(client):
    for url in ("/api/deliveries/", f"/api/deliveries/{uuid.uuid4()}/"):
        response = client.get(url)
        assert response.status_code == 403
        assert response.json() == {"error": "Authentication required."}


def test_delivery_list_shows_the_users_latest_sends_newest_first(client, alice, bob):
    for index in range(views.RECENT_DELIVERIES + 2):
        send_as(alice, f"alice {index}", room="random")
    send_as(bob, "bob's")
    ChatMessage.objects.create(user=alice, channel_name="general", text="report pruned")
    client.force_login(alice)

    deliveries = client.get("/api/deliveries/").json()["deliveries"]

    assert [d["message"] for d in deliveries] == [
        f"alice {index}" for index in reversed(range(2, views.RECENT_DELIVERIES + 2))
    ]
    assert deliveries[0]["room"] == "random"
    assert set(deliveries[0]) >= {"id", "recipients", "delivered", "progress", "finished"}


def test_delivery_api_only_answers_get(client, alice):
    client.force_login(alice)

    assert client.post("/api/deliveries/").status_code == 405


# Admin and static files


def test_chat_messages_in_the_admin(admin_client, alice):
    ChatMessage.objects.create(user=alice, channel_name="general", text="short")
    ChatMessage.objects.create(user=alice, channel_name="general", text="long " * 40)

    response = admin_client.get("/admin/websockets/chatmessage/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "short" in html
    assert "…" in html


def test_static_files_are_served_by_django_only_when_asked(client, monkeypatch, settings):
    settings.STATIC_ROOT = str(
        importlib.import_module("websockets").__path__[0]
    )  # Any folder holding a file.
    try:
        monkeypatch.setenv("DJANGO_SERVE_STATIC", "1")
        importlib.reload(importlib.import_module("websockets.urls"))
        importlib.reload(importlib.import_module("project.urls"))
        clear_url_caches()
        assert client.get("/static/static/websockets/chat.css").status_code == 200
    finally:
        monkeypatch.delenv("DJANGO_SERVE_STATIC")
        importlib.reload(importlib.import_module("websockets.urls"))
        importlib.reload(importlib.import_module("project.urls"))
        clear_url_caches()
    assert client.get("/static/static/websockets/chat.css").status_code == 404


def test_history_payload_is_json_serialisable(alice):
    message = ChatMessage.objects.create(user=alice, channel_name="general", text="hi")

    assert json.loads(json.dumps(views.serialize_message(message)))["user"] == "alice"

"""The chat demo end to end: Chromium ⇄ local gateway ⇄ Django ⇄ Celery worker ⇄ gateway."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.support import wait_until

from .conftest import DemoStack, screenshot


def message_texts(page: Any) -> list[str]:
    return page.locator("#messages .message .text").all_inner_texts()


def send(page: Any, text: str) -> None:
    page.fill("#message-input", text)
    page.click("#send-button")


def expect_message(page: Any, text: str, timeout: float = 15.0) -> None:
    wait_until(lambda: text in message_texts(page), timeout, what=f"{text!r} to arrive")


def users_shown(page: Any) -> list[str]:
    return page.locator("#users li").all_inner_texts()


def last_report(page: Any) -> dict[str, Any]:
    """The newest entry of the page's delivery report panel, as numbers and state."""
    item = page.locator("#deliveries .delivery").first
    values: dict[str, Any] = {"id": item.get_attribute("data-report-id")}
    for name in ("recipients", "delivered", "gone", "failed", "retried"):
        values[name] = int(item.locator(f'[data-count="{name}"] b').inner_text())
    values["state"] = item.locator(".state").inner_text()
    return values


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


def test_two_users_exchange_messages(demo_stack: DemoStack, open_chat: Any) -> None:
    alice = open_chat("alice", "general")
    bob = open_chat("bob", "general")
    wait_until(lambda: users_shown(alice) == ["alice", "bob"], what="alice to see bob")
    wait_until(lambda: users_shown(bob) == ["alice", "bob"], what="bob to see alice")

    hello = unique("Hello Bob, this is Alice.")
    send(alice, hello)
    expect_message(bob, hello)
    expect_message(alice, hello)  # The sender gets the fan-out too.

    reply = unique("Hi Alice! Bob here.")
    send(bob, reply)
    expect_message(alice, reply)
    expect_message(bob, reply)

    # Alice's panel follows her send's report to the end: two recipients, both delivered.
    wait_until(lambda: last_report(alice)["state"] == "done", what="alice's report to finish")
    report = last_report(alice)
    assert report["recipients"] == 2
    assert report["delivered"] == 2
    assert demo_stack.report(report["id"])["delivered"] == 2
    # Bob's panel lists only Bob's own send.
    wait_until(lambda: last_report(bob)["state"] == "done", what="bob's report to finish")
    assert bob.locator("#deliveries .delivery").count() == 1

    # A fresh page shows the room's history, oldest first.
    alice.reload()
    alice.wait_for_selector("#status[data-state=open]")
    wait_until(lambda: message_texts(alice)[-2:] == [hello, reply], what="history")

    screenshot(alice, "01-alice-chat")
    screenshot(bob, "02-bob-chat")


def test_login_page_refuses_a_wrong_password(demo_stack: DemoStack, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{demo_stack.web_url}/")
        assert "/accounts/login/" in page.url
        page.fill("#id_username", "alice")
        page.fill("#id_password", "not-the-password")
        page.click("button[type=submit]")
        page.wait_for_selector(".form-error")
        screenshot(page, "00-login-refused")
    finally:
        context.close()


def test_closed_tab_is_marked_gone_by_the_next_broadcast(
    demo_stack: DemoStack, open_chat: Any
) -> None:
    alice = open_chat("alice", "random")
    bob = open_chat("bob", "random")
    wait_until(lambda: "bob" in users_shown(alice), what="alice to see bob")
    [bob_connection] = demo_stack.live_connections("bob", "random")

    bob.context.close()
    # The gateway forwards $disconnect for the closed tab...
    wait_until(lambda: not demo_stack.is_connected(bob_connection), what="$disconnect")
    wait_until(lambda: users_shown(alice) == ["alice"], what="alice to see bob leave")
    # ...but API Gateway only tries its best to; play the case where it never arrived.
    demo_stack.execute(
        "UPDATE django_aws_api_gateway_websockets_websocketsession SET connected = 1 "
        "WHERE connection_id = ?",
        (bob_connection,),
    )

    text = unique("Anyone still here?")
    send(alice, text)
    expect_message(alice, text)
    # The gateway answers 410 for Bob's closed connection: the worker marks it gone.
    wait_until(
        lambda: not demo_stack.is_connected(bob_connection),
        timeout=20,
        what="the broadcast to mark bob's session gone",
    )
    wait_until(lambda: last_report(alice)["state"] == "done", what="alice's report to finish")
    report = last_report(alice)
    assert (report["recipients"], report["delivered"], report["gone"]) == (2, 1, 1)
    screenshot(alice, "03-alice-after-bob-left")


def test_room_change_stops_messages_of_the_old_room(demo_stack: DemoStack, open_chat: Any) -> None:
    alice = open_chat("alice", "support")
    bob = open_chat("bob", "support")
    wait_until(lambda: "bob" in users_shown(alice), what="alice to see bob")

    bob.click("button[data-room=general]")
    bob.wait_for_selector("#room-title:has-text('#general')")
    bob.wait_for_selector("#status[data-state=open]")
    wait_until(lambda: users_shown(alice) == ["alice"], what="bob to leave #support")
    assert demo_stack.live_connections("bob", "support") == []
    assert len(demo_stack.live_connections("bob", "general")) == 1

    in_support = unique("Only for #support")
    send(alice, in_support)
    expect_message(alice, in_support)
    wait_until(lambda: last_report(alice)["state"] == "done", what="alice's report to finish")
    assert last_report(alice)["recipients"] == 1
    time.sleep(0.5)
    assert in_support not in message_texts(bob)

    alice.click("button[data-room=general]")
    alice.wait_for_selector("#room-title:has-text('#general')")
    alice.wait_for_selector("#status[data-state=open]")
    in_general = unique("Followed you to #general")
    send(alice, in_general)
    expect_message(bob, in_general)
    assert in_support not in message_texts(bob)
    assert "room=general" in bob.url
    screenshot(bob, "04-bob-after-room-change")


def test_client_reconnects_after_the_gateway_drops_it(
    demo_stack: DemoStack, open_chat: Any
) -> None:
    alice = open_chat("alice", "general")
    bob = open_chat("bob", "general")
    [old_connection] = demo_stack.live_connections("alice", "general")
    tokens_before = demo_stack.used_tokens("alice")

    # What AWS does when an app calls DeleteConnection (or a connection hits its limits).
    response = demo_stack.management_client().delete_connection(ConnectionId=old_connection)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204

    wait_until(lambda: not demo_stack.is_connected(old_connection), what="$disconnect")
    new_connections = wait_until(
        lambda: demo_stack.live_connections("alice", "general"), what="alice to reconnect"
    )
    assert old_connection not in new_connections
    assert demo_stack.used_tokens("alice") == tokens_before + 1  # A fresh single-use token.
    alice.wait_for_selector("#status[data-state=open]")

    text = unique("Welcome back, Alice.")
    send(bob, text)
    expect_message(alice, text)
    screenshot(alice, "05-alice-after-reconnect")

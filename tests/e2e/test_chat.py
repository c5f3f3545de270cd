"""The chat demo end to end: Chromium ⇄ local gateway ⇄ Django ⇄ Celery worker ⇄ gateway.

One connection per page holds several rooms (channel subscriptions), who is in a room comes
from the library's presence, and a page whose socket is cut gets what it missed when it
reconnects (the channels' history), without reloading the room.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import wait_until

from .conftest import REPORTS_TABLE, DemoStack, screenshot


def message_texts(page: Any) -> list[str]:
    return page.locator("#messages .message .text").all_inner_texts()


def send(page: Any, text: str) -> None:
    page.fill("#message-input", text)
    page.click("#send-button")


def expect_message(page: Any, text: str, timeout: float = 15.0) -> None:
    wait_until(lambda: text in message_texts(page), timeout, what=f"{text!r} to arrive")


def users_shown(page: Any) -> list[str]:
    return page.locator("#users li").all_inner_texts()


def unread(page: Any, room: str) -> str:
    return page.locator(f"button[data-room={room}] .unread").inner_text()


def history_fetches(page: Any) -> dict[str, int]:
    """How often the page read each room's history (on joining, or when recovery failed)."""
    return page.evaluate("() => ({...window.chatDemo.stats.historyFetches})")


def block_token_requests(page: Any) -> Callable[[], int]:
    """Make the page's token requests fail (503) until unrouted: it cannot reconnect.

    Returns a function that counts the refused requests. Playwright's sync API runs a route
    handler only while Python is inside one of its calls, so the count first lets the page's
    pending requests through to the handler (a bare poll of a list would never see them).
    """
    refused: list[int] = []

    def refuse(route: Any) -> None:
        refused.append(1)
        route.fulfill(status=503, content_type="application/json", body='{"error": "down"}')

    def count() -> int:
        page.wait_for_timeout(50)
        return len(refused)

    page.route("**/api/ws-token/", refuse)
    return count


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
    # ...but API Gateway only tries its best to; play the case where it never arrived, once
    # no earlier send (a presence event) is still posting to bob, whose 410 would tell.
    wait_until(
        lambda: not demo_stack.query(f"SELECT 1 FROM {REPORTS_TABLE} WHERE finished IS NULL"),
        what="every earlier send to finish",
    )
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


def test_one_connection_holds_several_rooms(demo_stack: DemoStack, open_chat: Any) -> None:
    alice = open_chat("alice", "general")
    bob = open_chat("bob", "random")
    [alice_connection] = demo_stack.live_connections("alice")
    [bob_connection] = demo_stack.live_connections("bob")
    rooms = {"general", "random", "support"}
    wait_until(lambda: demo_stack.channels_of(alice_connection) == rooms, what="alice's rooms")
    wait_until(lambda: demo_stack.channels_of(bob_connection) == rooms, what="bob's rooms")
    tokens = demo_stack.used_tokens("alice")

    # A message in a room alice holds but does not show: counted unread, shown when she
    # selects the room, which changes nothing on the wire.
    in_random = unique("Over in #random")
    send(bob, in_random)
    wait_until(lambda: unread(alice, "random") == "1", what="an unread message in #random")
    assert in_random not in message_texts(alice)
    alice.click("button[data-room=random]")
    alice.wait_for_selector("#room-title:has-text('#random')")
    expect_message(alice, in_random)
    assert unread(alice, "random") == ""
    wait_until(lambda: users_shown(alice) == ["alice", "bob"], what="who is in #random")

    # Bob leaves #support: alice sees him go, and #support's sends no longer reach him.
    alice.click("button[data-room=support]")
    bob.click("button[data-room=support]")
    wait_until(lambda: users_shown(alice) == ["alice", "bob"], what="bob in #support")
    bob.click("#membership")
    bob.wait_for_selector("#membership:has-text('Join')")
    wait_until(lambda: users_shown(alice) == ["alice"], what="bob to leave #support")
    wait_until(
        lambda: demo_stack.channels_of(bob_connection) == {"general", "random"},
        what="bob's subscription to #support to end",
    )
    in_support = unique("Only for #support")
    send(alice, in_support)
    expect_message(alice, in_support)
    wait_until(lambda: last_report(alice)["state"] == "done", what="alice's report to finish")
    assert last_report(alice)["recipients"] == 1
    time.sleep(0.5)
    assert in_support not in message_texts(bob)

    # He joins again, on the same connection, and reads the room's history.
    bob.click("#membership")
    bob.wait_for_selector("#membership:has-text('Leave')")
    expect_message(bob, in_support)
    wait_until(lambda: users_shown(alice) == ["alice", "bob"], what="bob back in #support")

    assert demo_stack.live_connections("alice") == [alice_connection]
    assert demo_stack.live_connections("bob") == [bob_connection]
    assert demo_stack.used_tokens("alice") == tokens, "no reconnect to change rooms"
    assert "room=support" in alice.url
    screenshot(alice, "04-alice-in-several-rooms")


def test_presence_is_the_librarys_with_each_users_connections(
    demo_stack: DemoStack, open_chat: Any
) -> None:
    bob = open_chat("bob", "general")
    open_chat("alice", "general")
    second_tab = open_chat("alice", "general")

    def alice_as_bob_sees_her() -> str | None:
        item = bob.locator("#users li", has_text="alice")
        return item.get_attribute("title") if item.count() else None

    wait_until(lambda: alice_as_bob_sees_her() == "2 connections", what="alice's two tabs")
    assert users_shown(bob) == ["alice", "bob"]
    # The same figures as the library's presence() in Python gives: ask the page's client.
    answer = bob.evaluate("() => window.chatDemo.client.presence('general')")
    assert {u["name"]: u["connections"] for u in answer["users"]} == {"alice": 2, "bob": 1}
    assert (answer["connections"], answer["anonymous"]) == (3, 0)

    second_tab.close()
    wait_until(lambda: alice_as_bob_sees_her() == "1 connection", what="alice's tab to close")
    assert users_shown(bob) == ["alice", "bob"]


def test_a_sender_sees_every_one_of_its_own_messages(demo_stack: DemoStack, open_chat: Any) -> None:
    alice = open_chat("alice", "general")
    bob = open_chat("bob", "general")
    texts = [unique(f"Own message {n}") for n in range(1, 11)]
    for text in texts:
        send(alice, text)
    # The reply of each send carries its delivery_id, as the quickstart's view does; the
    # client dedupes by the library's own id only, so none of the fan-out is dropped.
    wait_until(lambda: set(texts) <= set(message_texts(alice)), what="alice's 10 messages")
    wait_until(lambda: set(texts) <= set(message_texts(bob)), what="bob to see the 10")
    assert [t for t in message_texts(alice) if t in texts] == texts, "in the order sent"
    wait_until(
        lambda: alice.locator("#deliveries .delivery").count() == 10, what="10 delivery cards"
    )
    screenshot(alice, "06-alice-ten-of-ten")


@pytest.mark.parametrize("cut", ["delete_connection", "network", "network_no_disconnect"])
def test_client_reconnects_after_its_socket_is_cut_and_recovers_what_it_missed(
    demo_stack: DemoStack, open_chat: Any, cut: str
) -> None:
    alice = open_chat("alice", "general")
    bob = open_chat("bob", "general")
    [old_connection] = demo_stack.live_connections("alice", "general")
    before = unique("Before the cut")
    send(bob, before)
    expect_message(alice, before)
    fetched = history_fetches(alice)
    tokens_before = demo_stack.used_tokens("alice")

    # The page cannot get a token for a while (its network is down) and its socket is cut:
    # by the gateway, as AWS does when an app calls DeleteConnection or a connection hits a
    # limit; or by a network change, with or without the $disconnect AWS sends best-effort.
    refused = block_token_requests(alice)
    if cut == "delete_connection":
        response = demo_stack.management_client().delete_connection(ConnectionId=old_connection)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    else:
        demo_stack.drop(old_connection, disconnect=cut == "network")
    alice.wait_for_selector("#status[data-state=connecting]")
    if cut != "network_no_disconnect":
        wait_until(lambda: not demo_stack.is_connected(old_connection), what="$disconnect")

    missed = [unique(f"Missed {n}") for n in range(1, 4)]
    elsewhere = unique("Missed in #random")
    for text in missed:
        send(bob, text)
    bob.click("button[data-room=random]")
    send(bob, elsewhere)
    expect_message(bob, elsewhere)
    wait_until(refused, what="the page to try (and fail) to reconnect")
    assert not set(missed) & set(message_texts(alice))

    alice.unroute("**/api/ws-token/")
    # (Without $disconnect the old connection may still count as live for a while.)
    wait_until(
        lambda: set(demo_stack.live_connections("alice", "general")) - {old_connection},
        timeout=30,
        what="alice to reconnect",
    )
    assert demo_stack.used_tokens("alice") == tokens_before + 1  # A fresh single-use token.
    alice.wait_for_selector("#status[data-state=open]")

    # What was published meanwhile arrives once each, in order, through the subscriptions'
    # recovery: the page did not read the rooms' history again.
    wait_until(lambda: message_texts(alice)[-4:] == [before, *missed], what="the missed messages")
    wait_until(lambda: unread(alice, "random") == "1", what="the one missed in #random")
    assert history_fetches(alice) == fetched
    assert message_texts(alice).count(missed[0]) == 1
    # Without $disconnect, the sends' 410 for the old connection told Django it is gone.
    wait_until(lambda: not demo_stack.is_connected(old_connection), what="the old one gone")

    text = unique("Welcome back, Alice.")
    send(bob, text)
    alice.click("button[data-room=random]")
    expect_message(alice, elsewhere)
    expect_message(alice, text)
    screenshot(alice, f"05-alice-after-reconnect-{cut}")


def test_a_page_whose_room_history_was_lost_reloads_the_room(
    demo_stack: DemoStack, open_chat: Any
) -> None:
    import redis

    from tests.e2e.conftest import BROKER_URL

    alice = open_chat("alice", "general")
    bob = open_chat("bob", "general")
    before = unique("Before the loss")
    send(bob, before)
    expect_message(alice, before)
    fetched = history_fetches(alice)["general"]

    block_token_requests(alice)
    [connection] = demo_stack.live_connections("alice", "general")
    demo_stack.management_client().delete_connection(ConnectionId=connection)
    wait_until(lambda: not demo_stack.is_connected(connection), what="$disconnect")
    # Redis loses #general's stream (a restart without persistence, an eviction): the next
    # publish starts a new epoch, and alice's position belongs to the old one.
    client = redis.Redis.from_url(BROKER_URL)
    client.delete("ws:channel:{general}:meta", "ws:channel:{general}:log")
    after = unique("After the loss")
    send(bob, after)
    expect_message(bob, after)

    alice.unroute("**/api/ws-token/")
    wait_until(
        lambda: demo_stack.live_connections("alice", "general"), timeout=30, what="a reconnect"
    )
    # The client says recovery failed (epoch_changed); the page reads the room again.
    alice.wait_for_selector("#notice:has-text('could not be recovered')")
    assert "#general" in alice.locator("#notice").inner_text()
    assert "epoch_changed" in alice.locator("#notice").inner_text()
    wait_until(lambda: history_fetches(alice)["general"] == fetched + 1, what="a history read")
    expect_message(alice, after)
    assert message_texts(alice).count(after) == 1
    assert message_texts(alice).index(before) < message_texts(alice).index(after)
    screenshot(alice, "07-alice-after-history-loss")

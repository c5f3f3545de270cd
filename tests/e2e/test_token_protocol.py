"""Chromium carries the connect token in Sec-WebSocket-Protocol, through the local gateway.

A browser refuses a handshake whose answer names none of the protocols it offered: this
passes only if Django answers ``django-gateway-sockets`` and the gateway relays it, as API
Gateway does. The token then appears in no URL the gateway or Django saw.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support import wait_until

from .conftest import DemoStack

# Runs in the chat page (logged in, the client's import map loaded): the browser client
# with tokenInProtocol, opening a second socket of its own in the page's room.
OPEN_WITH_PROTOCOL = """
async () => {
  const { WebSocketClient } = await import("websocket-client");
  const config = JSON.parse(document.getElementById("chat-config").textContent);
  const opened = [];
  class Recording extends WebSocket {
    constructor(url, protocols) { super(url, protocols); opened.push(this); }
  }
  const client = new WebSocketClient({
    url: config.wsUrl, tokenUrl: config.tokenUrl, channel: config.room,
    tokenInProtocol: true, reconnect: false, heartbeatIntervalMs: 0, WebSocket: Recording,
  });
  await client.connect();
  const socket = opened.at(-1);
  const result = { url: socket.url, protocol: socket.protocol, state: client.state };
  client.close();
  return JSON.stringify(result);
}
"""


def test_the_browser_client_connects_with_the_token_in_the_subprotocol(
    demo_stack: DemoStack, open_chat: Any
) -> None:
    page = open_chat("alice", "general")
    before = len(demo_stack.live_connections("alice"))
    used = demo_stack.used_tokens("alice")
    result = json.loads(page.evaluate(OPEN_WITH_PROTOCOL))
    assert result["state"] == "open"
    assert result["protocol"] == "django-gateway-sockets"
    assert "ws_token" not in result["url"]
    # The token was spent by that connect, and the socket was recorded for alice.
    assert demo_stack.used_tokens("alice") == used + 1
    wait_until(
        lambda: len(demo_stack.live_connections("alice")) <= before,
        what="the second socket to close again",
    )

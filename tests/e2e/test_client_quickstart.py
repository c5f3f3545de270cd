"""The browser client in Chromium, fed the quickstart's frames as the library encodes them.

The quickstart's view answers a send with ``{"type": "sent", "delivery_id": <report id>}`` and
its broadcast reaches the sender too, carrying the same ``delivery_id`` (``payload`` adds it,
with the library's own ``"$ws": {"id": ...}``). A client that deduplicated on ``delivery_id``
dropped every one of the sender's own messages (0 of 10 in Chromium); this one dedupes on
``$ws.id`` only. A small aiohttp server stands in for the gateway and the view, so that the
frames are exactly the ones ``payload.encode_message`` produces, in the order a browser gets
them (the route's reply first, then the fan-out).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from django_aws_api_gateway_websockets.payload import encode_message
from tests.support import free_port, wait_until

CLIENT = (
    Path(__file__).resolve().parents[2]
    / "django_aws_api_gateway_websockets/static/django_aws_api_gateway_websockets"
    / "websocket-client.js"
)

PAGE = """<!doctype html><meta charset="utf-8"><title>quickstart</title>
<script type="module">
  import { WebSocketClient } from "/client.js";
  const url = "ws://" + location.host + "/ws";
  const client = new WebSocketClient({ url, heartbeatIntervalMs: 0 });
  window.seen = { sent: [], own: [] };
  client.on("sent", (m) => window.seen.sent.push(m.delivery_id));
  client.on("chat_message", (m) => window.seen.own.push(m.message));
  await client.connect();
  for (let n = 1; n <= 10; n += 1) client.send("chat_message", { message: `own ${n}` });
</script>"""


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


async def client_module(request: web.Request) -> web.Response:
    return web.Response(text=CLIENT.read_text(), content_type="application/javascript")


async def token(request: web.Request) -> web.Response:
    return web.json_response({"token": uuid.uuid4().hex})


async def socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type != WSMsgType.TEXT:
            continue
        body = json.loads(message.data)
        report_id = str(uuid.uuid4())
        # The quickstart's ChatView.chat_message: its reply, then the send to the channel.
        await ws.send_str(json.dumps({"type": "sent", "delivery_id": report_id}))
        data = {"type": "chat_message", "message": body["message"], "user": "alice"}
        await ws.send_str(encode_message(data, report_id))
    return ws


@pytest.fixture(scope="module")
def quickstart_server() -> Iterator[str]:
    app = web.Application()
    app.add_routes(
        [
            web.get("/", page),
            web.get("/client.js", client_module),
            web.post("/api/ws-token/", token),
            web.get("/ws", socket),
        ]
    )
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10), "the quickstart server did not start"
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_the_sender_sees_all_ten_of_its_own_messages(quickstart_server: str, browser: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(quickstart_server)
        seen = wait_until(
            lambda: (s := page.evaluate("() => window.seen")) and len(s["own"]) == 10 and s,
            what="the 10 broadcasts to reach the sender",
        )
        assert seen["own"] == [f"own {n}" for n in range(1, 11)]
        assert len(seen["sent"]) == 10
        assert all(seen["sent"]), "every reply carried its delivery_id"
    finally:
        context.close()

"""Subscribe, presence and recovery end to end: Django behind the local gateway, a real
Celery worker on Redis, and aiohttp's WebSocket client (not the browser client).

A connection is cut as in a crash (the local gateway's ``drop`` control, its ``$disconnect``
lost), 100 messages are published meanwhile (their 410s tell Django it is gone), and the
client reconnects with a new connection id: it gets every message exactly once, in offset
order, then the live stream.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import connections
from django.utils import timezone

from django_aws_api_gateway_websockets import channels, cleanup
from django_aws_api_gateway_websockets.localgateway import GatewayConfig, GatewayThread
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from tests.support import wait_until
from worker import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def system(live_server: Any, settings: Any) -> Any:
    """The local gateway in front of the live server, and a worker posting through it."""
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()
    ApiGateway.objects.create(
        api_name="Live",
        api_id="live1",
        stage_name="test",
        target_base_endpoint=f"{live_server.url}/ws/",
        gateway_secret="live-secret",
        api_created=True,
    )
    config = GatewayConfig(
        api_id="live1",
        stage="test",
        target_base_url=f"{live_server.url}/ws/",
        secret_header="X-Gateway-Secret",
        secret="live-secret",
        enable_controls=True,
    )
    gateway = GatewayThread(config, shutdown_timeout=2.0)
    gateway.start()
    settings.WEBSOCKETS = {
        "management_endpoint": f"http://127.0.0.1:{gateway.port}/{{stage}}",
        "gone_grace_seconds": 0,
        "presence_channels": ["room-*"],
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(
            celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"
        ):
            yield gateway, live_server
    finally:
        celery_app.conf.task_always_eager = True
        gateway.stop()


class Client:
    """A minimal protocol client: replies by kind, publications deduped and ordered."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def request(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        await self.ws.send_json(body)
        while True:
            frame = await self.ws.receive_json(timeout=10)
            self.received.append(frame)
            if frame.get("$ws", {}).get("kind") == kind:
                return frame

    async def frame(self, kind: str) -> dict[str, Any]:
        """The first frame of ``kind`` received so far, else the next one to come (events
        may arrive before or after the reply that caused them)."""
        while True:
            for frame in self.received:
                if frame.get("$ws", {}).get("kind") == kind:
                    return frame
            self.received.append(await self.ws.receive_json(timeout=10))

    async def collect_until(self, offsets: set[int], timeout: float = 30) -> None:
        async def loop() -> None:
            while not offsets <= self.offsets():
                self.received.append(await self.ws.receive_json())

        await asyncio.wait_for(loop(), timeout)

    def publications(self) -> list[dict[str, Any]]:
        found = []
        for frame in self.received:
            found += frame.get("publications", [])
            if frame.get("$ws", {}).get("kind") == "publication":
                found.append(frame)
        return found

    def offsets(self) -> set[int]:
        return {p["$ws"]["offset"] for p in self.publications()}

    def delivered(self) -> list[int]:
        """What the application sees: each (epoch, offset) once, in offset order."""
        unique = {(p["$ws"]["epoch"], p["$ws"]["offset"]): p for p in self.publications()}
        return [p["data"]["n"] for _, p in sorted(unique.items(), key=lambda kv: kv[0][1])]


async def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run database work off the event loop, closing that thread's connection afterwards
    (the test database is dropped at the end, which open connections would prevent)."""

    def run() -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


def headers(live_server: Any) -> dict[str, str]:
    return {"Cookie": "csrftoken=x", "Origin": live_server.url, "User-Agent": "aiohttp"}


def test_subscribe_presence_and_recovery_after_a_cut(system: Any) -> None:
    gateway, live_server = system
    url = f"ws://127.0.0.1:{gateway.port}/test?channel=lobby"

    async def scenario() -> tuple[list[int], dict[str, Any], str, str]:
        async with aiohttp.ClientSession() as http:
            first = Client(await http.ws_connect(url, headers=headers(live_server)))
            subscribed = await first.request(
                {"action": "subscribe", "channel": "room-1"}, "subscribed"
            )
            epoch = subscribed["$ws"]["epoch"]
            presence = await first.request({"action": "presence", "channel": "room-1"}, "presence")
            for n in range(1, 4):
                await in_thread(channels.publish, "room-1", {"n": n})
            await first.collect_until({1, 2, 3})
            first_id = (await in_thread(_only_connected)).connection_id
            # The cut, as a crash: the socket closes and its $disconnect is lost.
            await in_thread(_drop, gateway, first_id)
            for n in range(4, 104):  # missed while away
                await in_thread(channels.publish, "room-1", {"n": n})
            # Django learns of the end from the 410s of those posts.
            await in_thread(
                wait_until,
                lambda: not WebSocketSession.objects.get(connection_id=first_id).connected,
                what="the 410 marking the cut connection gone",
            )
            second = Client(await http.ws_connect(url, headers=headers(live_server)))
            reply = await second.request(
                {
                    "action": "subscribe",
                    "channel": "room-1",
                    "recover": {"offset": 3, "epoch": epoch},
                },
                "subscribed",
            )
            assert reply["$ws"]["recovered"] is True, reply
            for n in range(104, 109):  # the live stream after recovery
                await in_thread(channels.publish, "room-1", {"n": n})
            await second.collect_until(set(range(4, 109)))
            second_id = (await in_thread(_only_connected)).connection_id
            await second.ws.close()
            return second.delivered(), presence, first_id, second_id

    delivered, presence, first_id, second_id = asyncio.run(scenario())
    assert first_id != second_id
    assert delivered == list(range(4, 109))
    assert presence["connections"] == 1
    assert presence["anonymous"] == 1


def _drop(gateway: GatewayThread, connection_id: str) -> None:
    request = urllib.request.Request(
        f"{gateway.base_url}/@local/connections/{connection_id}/drop",
        data=json.dumps({"disconnect": False}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


def _only_connected() -> WebSocketSession:
    return WebSocketSession.objects.get(connected=True)


def test_a_connection_aws_reports_gone_leaves_presence(system: Any) -> None:
    """A session whose ``$disconnect`` never came: the first post to it (here, a join event
    to its channel) gets 410 from the gateway, and the worker marks it gone."""
    gateway, live_server = system
    ghost = WebSocketSession.objects.create(
        connection_id="ghost-1",
        api_gateway=ApiGateway.objects.get(api_id="live1"),
        channel_name="room-1",
    )
    assert channels.presence("room-1").connections == 1
    url = f"ws://127.0.0.1:{gateway.port}/test"

    async def scenario() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http:
            client = Client(await http.ws_connect(url, headers=headers(live_server)))
            await client.request({"action": "subscribe", "channel": "room-1"}, "subscribed")
            join = await client.frame("join")  # its own join event, to the ghost too
            await in_thread(
                wait_until,
                lambda: not WebSocketSession.objects.get(pk=ghost.pk).connected,
                what="the worker marking the 410 gone",
            )
            presence = await client.request({"action": "presence", "channel": "room-1"}, "presence")
            await client.ws.close()
            return {"join": join, "presence": presence}

    found = asyncio.run(scenario())
    assert found["join"]["total"] == 2  # counted before the join event reached the ghost
    assert found["presence"]["connections"] == 1


def test_the_probe_marks_a_dropped_connection_gone(system: Any) -> None:
    """A socket cut with its ``$disconnect`` lost, and nothing posted to it: one probe run
    (GetConnection through the local gateway, 410) takes it out of presence; the live
    connection beside it stays."""
    gateway, live_server = system
    # Connected to lobby, then subscribed: a join event posted while $connect runs would get
    # the 410 API Gateway answers until $connect returns (gone_grace_seconds is 0 here).
    url = f"ws://127.0.0.1:{gateway.port}/test?channel=lobby"

    async def scenario() -> tuple[str, str, int, int, int, datetime]:
        async with aiohttp.ClientSession() as http:
            cut = Client(await http.ws_connect(url, headers=headers(live_server)))
            await cut.request({"action": "subscribe", "channel": "room-1"}, "subscribed")
            cut_id = (await in_thread(_only_connected)).connection_id
            live = Client(await http.ws_connect(url, headers=headers(live_server)))
            await live.request({"action": "subscribe", "channel": "room-1"}, "subscribed")
            live_id = await in_thread(
                lambda: WebSocketSession.objects.exclude(connection_id=cut_id).get().connection_id
            )
            await in_thread(_drop, gateway, cut_id)
            before = await in_thread(lambda: channels.presence("room-1").connections)
            idle_since = await in_thread(_make_idle)
            marked = await in_thread(cleanup.probe_idle_sessions)
            after = await in_thread(lambda: channels.presence("room-1").connections)
            await live.ws.close()
            return cut_id, live_id, before, marked, after, idle_since

    cut_id, live_id, before, marked, after, idle_since = asyncio.run(scenario())
    assert before == 2  # the lost $disconnect left it "present"
    assert marked == 1
    assert not WebSocketSession.objects.get(connection_id=cut_id).connected
    assert after == 1
    # The live one was touched, so the next run will not ask about it again.
    assert WebSocketSession.objects.get(connection_id=live_id).updated_on > idle_since


def _make_idle() -> datetime:
    """Both connections as if their last event was ten minutes ago (past the idle period,
    within API Gateway's 2-hour limit, beyond which presence stops counting them anyway),
    and their gateway deployed (by an UPDATE: a save would push to AWS), as the probe asks
    only deployed gateways."""
    ApiGateway.objects.filter(api_id="live1").update(deployment_id="live-deployment")
    since = timezone.now() - timedelta(minutes=10)
    WebSocketSession.objects.update(created_on=since, updated_on=since)
    return since

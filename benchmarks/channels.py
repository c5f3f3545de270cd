"""Channel publish overhead and recovery time, for choosing where history lives.

``python benchmarks/channels.py`` (Redis on ``BENCH_BROKER_URL``, default db 7; the database
of ``DATABASE_URL``, default SQLite) measures, with 1,000 connected members in the channel
and no worker consuming (the caller's time, as results.md's caller figures):

1. today's ``send_to_channel`` (no offset, no history);
2. ``channels.publish`` with history in Redis streams (what ships: one Lua call assigns the
   offset and appends);
3. ``publish`` with history in the database instead (the candidate: the channel's row locked
   by an UPDATE that increments its offset, the message inserted, older rows trimmed, in one
   transaction), implemented here on two tables of its own;
4. the recovery of 100 missed messages: reading them from each storage, and the whole
   ``subscribe`` action with ``recover`` through ``WebSocketView`` (Django test client).

Each figure is the median (and the 90th percentile) of repeated calls after a warm-up.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["TEST_CELERY_EAGER"] = "0"
os.environ["TEST_CELERY_BROKER_URL"] = os.environ.get(
    "BENCH_BROKER_URL", "redis://127.0.0.1:6379/7"
)

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
)

from django_aws_api_gateway_websockets import channels, sending  # noqa: E402
from django_aws_api_gateway_websockets.channels import streams  # noqa: E402
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession  # noqa: E402
from django_aws_api_gateway_websockets.models.selections import structured  # noqa: E402
from django_aws_api_gateway_websockets.payload import encode_frame, publication  # noqa: E402
from django_aws_api_gateway_websockets.shared_state import connection as redis  # noqa: E402
from django_aws_api_gateway_websockets.testing import api_gateway_headers  # noqa: E402
from worker import app as celery_app  # noqa: E402

MEMBERS = 1000
CALLS = 300
ROUNDS = 5
MISSED = 100
HISTORY_SIZE = 100
DATA = {"type": "chat", "text": "x" * 200}


def timed(call: Callable[[], object], calls: int = CALLS) -> dict[str, float]:
    call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "median": round(statistics.median(samples), 3),
        "p90": round(samples[int(len(samples) * 0.9)], 3),
    }


# The database candidate


def create_db_history() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_stream (channel varchar(128) PRIMARY KEY, "
            "epoch varchar(16) NOT NULL, last_offset bigint NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE bench_message (channel varchar(128) NOT NULL, offset_ bigint NOT "
            "NULL, publication_id varchar(36) NOT NULL, data text NOT NULL, created double "
            "precision NOT NULL, PRIMARY KEY (channel, offset_))"
        )


def db_append(channel: str, publication_id: str, data_json: str) -> tuple[int, str]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bench_stream SET last_offset = last_offset + 1 WHERE channel = %s",
            [channel],
        )
        if cursor.rowcount == 0:
            cursor.execute(
                "INSERT INTO bench_stream (channel, epoch, last_offset) VALUES (%s, %s, 1)",
                [channel, streams.new_epoch()],
            )
        cursor.execute("SELECT last_offset, epoch FROM bench_stream WHERE channel = %s", [channel])
        offset, epoch = cursor.fetchone()
        cursor.execute(
            "INSERT INTO bench_message VALUES (%s, %s, %s, %s, %s)",
            [channel, offset, publication_id, data_json, time.time()],
        )
        cursor.execute(
            "DELETE FROM bench_message WHERE channel = %s AND offset_ <= %s",
            [channel, offset - HISTORY_SIZE],
        )
    return offset, epoch


def db_read(channel: str, since: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT offset_, publication_id, data FROM bench_message WHERE channel = %s "
            "AND offset_ > %s ORDER BY offset_",
            [channel, since],
        )
        return cursor.fetchall()


def publish_with_db_history(channel: str) -> None:
    """``channels.publish`` with the database candidate in place of Redis streams."""
    publication_id = str(uuid.uuid4())
    data_json = encode_frame(DATA)
    offset, epoch = db_append(channel, publication_id, data_json)
    sending.send(
        publication(channel, offset, epoch, DATA, publication_id), structured({}, {}, channel)
    )


def main() -> None:
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    celery_app.conf.task_always_eager = False
    broker = redis()
    try:
        gateway = ApiGateway.objects.create(
            api_name="bench", api_id="abc123", stage_name="test", api_created=True
        )
        WebSocketSession.objects.bulk_create(
            WebSocketSession(connection_id=f"m-{n}", api_gateway=gateway, channel_name="room-1")
            for n in range(MEMBERS)
        )
        create_db_history()
        for key in broker.scan_iter("ws:*"):
            broker.delete(key)
        calls = {
            "send_to_channel (today, no history)": lambda: WebSocketSession.objects.send_to_channel(
                "room-1", DATA
            ),
            "publish, history in Redis streams": lambda: channels.publish("room-1", DATA),
            "publish, history in the database": lambda: publish_with_db_history("room-1"),
            "offset + append only: Redis streams": lambda: streams.append(
                "room-2", str(uuid.uuid4()), json.dumps(DATA)
            ),
            "offset + append only: database": lambda: db_append(
                "room-2", str(uuid.uuid4()), json.dumps(DATA)
            ),
        }
        # Rounds alternate the candidates, so that the shared machine's drift hits all alike;
        # each figure is the median over the rounds of each round's median.
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in calls}
        for _ in range(ROUNDS):
            for name, call in calls.items():
                rounds[name].append(timed(call, CALLS // ROUNDS))
        results = {
            name: {
                key: round(statistics.median(r[key] for r in found), 3) for key in ("median", "p90")
            }
            for name, found in rounds.items()
        }
        last, epoch = channels.position("room-1")
        db_last = db_read("room-1", 0)[-1][0]
        recovery = {
            "read 100 missed: Redis streams": timed(
                lambda: streams.read("room-1", last - MISSED, epoch), 100
            ),
            "read 100 missed: database": timed(lambda: db_read("room-1", db_last - MISSED), 100),
        }
        assert len(streams.read("room-1", last - MISSED, epoch).entries) == MISSED
        assert len(db_read("room-1", db_last - MISSED)) == MISSED
        session = WebSocketSession.objects.get(connection_id="m-0")
        client = Client()
        body = json.dumps(
            {
                "action": "subscribe",
                "channel": "room-1",
                "recover": {"offset": last - MISSED, "epoch": epoch},
            }
        )

        def subscribe() -> None:
            reply = client.post(
                "/ws/default",
                body,
                content_type="application/json",
                **api_gateway_headers(connection_id=session.connection_id),
            ).json()
            assert reply["$ws"]["recovered"] is True, reply
            assert len(reply["publications"]) == MISSED

        recovery["subscribe action with recover, 100 missed (Redis)"] = timed(subscribe, 50)
    finally:
        for key in broker.scan_iter("ws:*"):
            broker.delete(key)
        # Drop what the publishes queued for a worker that never ran.
        celery_app.control.purge()
        teardown_databases(old, verbosity=0)
    engine = connection.vendor
    print(f"# Channels benchmark ({engine}, {MEMBERS} members, {DATA!r:.30}..., ms)\n")
    print("| measure | median ms | p90 ms |\n|---|---|---|")
    for name, figures in {**results, **recovery}.items():
        print(f"| {name} | {figures['median']} | {figures['p90']} |")


if __name__ == "__main__":
    main()

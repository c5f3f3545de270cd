"""Recovery from faults, measured with real processes; and a soak through real WebSockets.

``python benchmarks/faults.py`` runs four faults against a 20,000-recipient broadcast
(prefork workers with 2 processes, a Redis of its own, beat, PostgreSQL when DATABASE_URL
names it — else a SQLite file, and PostgreSQL on 127.0.0.1:5432 for the database fault —
and the local Management API with 20 ms of latency), with the default leases (30 s,
renewed every 5 s) and recovery every 15 s as shipped. It prints, per fault, the seconds
from the end of the fault to full delivery and the duplicates, beside the figures measured
before leases and the outbox.

``python benchmarks/faults.py --soak`` keeps 500 WebSocket clients in 10 rooms through the
local gateway (real WebSockets, Django behind it) for 5 minutes, broadcasting to every room
each second, and prints messages sent and received, duplicates and the worker's memory at
the start and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.harness import (  # noqa: E402
    System,
    drop_postgres,
    postgres_url,
    running_system,
    terminate_connections,
)
from tests.support import free_port  # noqa: E402

# As shipped: the defaults of conf.py and schedules.py.
SHIPPED = {
    "websockets": {"delivery_lease_seconds": 30, "delivery_lease_renew_seconds": 5},
    "recovery_every": 15.0,
}
BEFORE = {
    "whole worker SIGKILLed mid-broadcast": (
        "1,000 stuck until 3,600-3,900 s; 860 duplicates after forcing"
    ),
    "Redis killed, restarted empty": "9,500 stuck for an hour",
    "send while the broker is down": "raised OperationalError; a retrying caller sends twice",
    "database connections terminated": "5,000 stuck (tasks acked, never retried)",
}
PROCESSES = 2


def database(tmp: Path, postgres: bool = False) -> tuple[str, bool]:
    base = os.environ.get("DATABASE_URL", "")
    if postgres or base.startswith("postgres"):
        return postgres_url(base if base.startswith("postgres") else None), True
    return f"sqlite:///{tmp / 'faults.sqlite3'}", False


def outcome(system: System, ids: list[str], ended: float, report_id: str) -> dict:
    system.wait_delivered(ids, 600)
    seconds = time.monotonic() - ended
    counts = system.deliveries(ids)
    while not (report := system.action("report", report_id))["finished"]:
        time.sleep(1)
    return {
        "seconds": round(seconds, 1),
        "duplicates": sum(c - 1 for c in counts),
        "report": (
            f"{report['delivered']}/{report['recipients']} delivered, {report['failed']} failed"
        ),
    }


def worker_killed(system: System, ids: list[str], n: int) -> dict:
    first = system.start_worker(PROCESSES)
    report = system.action("send", "general")
    system.wait_posts(n // 4, 300)
    first.kill()
    ended = time.monotonic()
    system.start_worker(PROCESSES)
    return outcome(system, ids, ended, report["id"])


def broker_restarted_empty(system: System, ids: list[str], n: int) -> dict:
    system.start_worker(PROCESSES)
    report = system.action("send", "general")
    system.wait_posts(n // 4, 300)
    system.redis.kill()
    time.sleep(5)
    system.redis.start()
    ended = time.monotonic()
    return outcome(system, ids, ended, report["id"])


def send_during_outage(system: System, ids: list[str], n: int) -> dict:
    system.start_worker(PROCESSES)
    time.sleep(5)
    system.redis.kill()
    report = system.action("send", "general")
    time.sleep(5)
    system.redis.start()
    ended = time.monotonic()
    result = outcome(system, ids, ended, report["id"])
    result["caller"] = f"returned in {report['seconds'] * 1000:.0f} ms, no exception"
    return result


def database_terminated(system: System, ids: list[str], n: int) -> dict:
    system.start_worker(PROCESSES)
    report = system.action("send", "general")
    system.wait_posts(n // 4, 300)
    terminated = terminate_connections(system.database_url)
    ended = time.monotonic()
    result = outcome(system, ids, ended, report["id"])
    result["terminated"] = terminated
    return result


SCENARIOS = {
    "whole worker SIGKILLed mid-broadcast": (worker_killed, False),
    "Redis killed, restarted empty": (broker_restarted_empty, False),
    "send while the broker is down": (send_during_outage, False),
    "database connections terminated": (database_terminated, True),
}


def run_faults(recipients: int) -> None:
    rows = []
    for name, (scenario, needs_postgres) in SCENARIOS.items():
        with tempfile.TemporaryDirectory() as tmp:
            url, is_postgres = database(Path(tmp), needs_postgres)
            try:
                with running_system(url, Path(tmp), **SHIPPED) as system:
                    ids = system.seed(recipients, "general")
                    print(f"{name}: running", file=sys.stderr, flush=True)
                    result = scenario(system, ids, recipients)
            finally:
                if is_postgres:
                    drop_postgres(url)
        result["database"] = "PostgreSQL" if is_postgres else "SQLite"
        rows.append((name, result))
        print(f"{name}: {json.dumps(result)}", file=sys.stderr, flush=True)
    print(
        f"\nFaults during a broadcast to {recipients:,} recipients "
        "(leases and recovery as shipped)\n"
    )
    print("| fault | full delivery after the fault ended | duplicates | before this change |")
    print("|---|---|---|---|")
    for name, result in rows:
        extra = f" ({result['caller']})" if "caller" in result else ""
        print(
            f"| {name} | {result['seconds']} s{extra} | {result['duplicates']} | {BEFORE[name]} |"
        )
    print()
    for name, result in rows:
        print(f"- {name}: report {result['report']}; database {result['database']}")


async def soak_clients(
    gateway_port: int, web_port: int, clients: int, rooms: int, received: list[Counter]
) -> list:
    import aiohttp

    # Every socket holds a connection: no pool limit (aiohttp's default is 100).
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    sockets = []
    for n in range(clients):
        url = f"ws://127.0.0.1:{gateway_port}/?channel=room-{n % rooms}"
        # The connect view compares Origin with the Host Django sees (the integration's).
        origin = f"http://127.0.0.1:{web_port}"
        # A browser's handshake: a cookie and the extensions header, as the view requires.
        sockets.append(
            await session.ws_connect(
                url, origin=origin, compress=15, headers={"Cookie": f"soak={n}"}
            )
        )

    async def listen(n: int, ws) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                received[n][json.loads(message.data).get("delivery_id")] += 1

    tasks = [asyncio.ensure_future(listen(n, ws)) for n, ws in enumerate(sockets)]
    return [session, sockets, tasks]


def run_soak(seconds: int, clients: int, rooms: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, is_postgres = database(Path(tmp))
        web_port = free_port()
        settings = {**SHIPPED["websockets"], "rate_limit_max_attempts": 100_000}
        try:
            with running_system(
                url,
                Path(tmp),
                websockets=settings,
                latency_ms=0,
                recovery_every=SHIPPED["recovery_every"],
                web_port=web_port,
            ) as system:
                system.action("seed", "0", "none", "faults1", "test")  # the ApiGateway row
                system.start_web(web_port)
                worker = system.start_worker(PROCESSES)
                os.environ.update({k: v for k, v in system.env().items() if k != "PYTHONPATH"})
                soak(system, worker, web_port, seconds, clients, rooms)
        finally:
            if is_postgres:
                drop_postgres(url)


def soak(system: System, worker, web_port: int, seconds: int, clients: int, rooms: int) -> None:
    import django

    from tests.support import wait_until  # noqa: F401

    django.setup()
    import worker as celery_worker  # noqa: F401
    from django_aws_api_gateway_websockets.models import WebSocketSession

    deadline = time.monotonic() + 60
    while not system.redis.answers() or not _answers(web_port):
        if time.monotonic() > deadline:
            raise RuntimeError(system.logs())
        time.sleep(0.5)
    loop = asyncio.new_event_loop()
    received: list[Counter] = [Counter() for _ in range(clients)]
    session, sockets, listeners = loop.run_until_complete(
        soak_clients(system.gateway.port, web_port, clients, rooms, received)
    )
    while WebSocketSession.objects.filter(connected=True).count() < clients:
        loop.run_until_complete(asyncio.sleep(0.2))
    loop.run_until_complete(asyncio.sleep(3))
    memory_start = worker.rss_kb()
    expected = 0
    sent_ids = []
    started = time.monotonic()
    tick = 0
    while time.monotonic() - started < seconds:
        for room in range(rooms):
            report = WebSocketSession.objects.send_to_channel(
                f"room-{room}", {"type": "soak", "tick": tick}
            )
            sent_ids.append(report.pk)
            expected += clients // rooms
        tick += 1
        loop.run_until_complete(asyncio.sleep(max(0, started + tick - time.monotonic())))
    drain = time.monotonic() + 60
    while sum(len(c) for c in received) < expected and time.monotonic() < drain:
        loop.run_until_complete(asyncio.sleep(0.5))
    memory_end = worker.rss_kb()
    got = sum(sum(c.values()) for c in received)
    unique = sum(len(c) for c in received)
    for ws in sockets:
        loop.run_until_complete(ws.close())
    loop.run_until_complete(session.close())
    loop.run_until_complete(asyncio.sleep(3))  # let the gateway forward the $disconnects
    for task in listeners:
        task.cancel()
    print(
        f"\nSoak: {clients} WebSocket clients in {rooms} rooms through the local gateway, "
        f"one broadcast to every room each second for {seconds} s\n"
    )
    print(
        "| broadcasts | messages sent | received | duplicates | missing "
        "| worker memory start | end |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {len(sent_ids):,} | {expected:,} | {got:,} | {got - unique:,} | {expected - unique:,} "
        f"| {memory_start / 1024:.0f} MB | {memory_end / 1024:.0f} MB |"
    )


def _answers(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--soak", action="store_true", help="run the soak instead of the faults")
    parser.add_argument("--soak-seconds", type=int, default=300)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rooms", type=int, default=10)
    args = parser.parse_args()
    if args.soak:
        run_soak(args.soak_seconds, args.clients, args.rooms)
    else:
        run_faults(args.recipients)


if __name__ == "__main__":
    main()

"""Helpers shared by the driver and both sides; standard library and Django only.

Both sides import this module, ours as ``benchmarks.common`` and the competitor's (which must
not see the project on ``sys.path``, as both packages have the same import name) as
``common`` from the script's own folder. Django is imported inside the functions that need it
so that the driver can use the rest without configuring Django.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

API_ID = "bench01"
STAGE = "bench"
RESULT_MARKER = "BENCH-RESULT "
# Connections every side warms up with before a measured delivery (clients, pools, imports).
WARM_CHANNEL = "warm"
WARM_COUNT = 2000
# A sessions' age well inside API Gateway's 2-hour limit, and past our 5 s "new connection"
# grace for 410 answers, so neither side's rules treat them specially.
LIVE_AGE_SECONDS = 600
STALE_AGE_SECONDS = 1800

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def emit(data: dict[str, Any]) -> None:
    """Hand a side's result to the driver: one marked JSON line on stdout."""
    sys.stdout.write(RESULT_MARKER + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def parse_result(stdout: str) -> dict[str, Any]:
    """The last result line a side printed."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    raise ValueError("no result line in the output")


def connection_ids(prefix: str, count: int) -> list[str]:
    """The connection ids ``insert_sessions`` gives a channel, in the same format."""
    return [f"{prefix}{n:07d}" for n in range(1, count + 1)]


# CPU accounting from /proc -------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    """One process as /proc shows it."""

    ppid: int
    cpu: float
    comm: str


def process_table() -> dict[int, Proc]:
    """Every live process: parent, user+system CPU seconds (all its threads), name."""
    table: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ")".
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        table[int(entry)] = Proc(int(fields[1]), cpu, comm)
    return table


def descendants(table: dict[int, Proc], root_pid: int) -> set[int]:
    """A process and all its live descendants."""
    children: dict[int, list[int]] = {}
    for pid, proc in table.items():
        children.setdefault(proc.ppid, []).append(pid)
    found, pending = set(), [root_pid]
    while pending:
        pid = pending.pop()
        if pid in table and pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(root_pid: int, table: dict[int, Proc] | None = None) -> float:
    """User+system CPU seconds of a process and all its live descendants.

    Celery's prefork children live as long as the worker, so their CPU is still counted
    here (a child's time moves to its parent only once it has exited and been reaped).
    """
    table = process_table() if table is None else table
    return sum(table[pid].cpu for pid in descendants(table, root_pid))


def machine_cpu_seconds() -> dict[str, float]:
    """Busy and stolen CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    busy = user + nice + system + irq + softirq
    return {"machine_busy": busy / _CLOCK_TICKS, "machine_steal": steal / _CLOCK_TICKS}


@dataclass
class CpuMeter:
    """CPU seconds used by named process trees between ``start`` and ``stop``.

    Also the machine's busy and stolen time, this (measuring) process's own CPU as
    ``observer``, the busy time no tracked process explains as ``others``, and the other
    processes that used the most, so that a disturbed measurement shows as one.
    """

    pids: dict[str, int]
    before: dict[str, float] = field(default_factory=dict)
    before_table: dict[int, Proc] = field(default_factory=dict)
    used: dict[str, Any] = field(default_factory=dict)

    def read(self) -> tuple[dict[str, float], dict[int, Proc]]:
        table = process_table()
        values = {name: tree_cpu_seconds(pid, table) for name, pid in self.pids.items()}
        values["observer"] = time.process_time()
        values.update(machine_cpu_seconds())
        return values, table

    def start(self) -> CpuMeter:
        self.before, self.before_table = self.read()
        return self

    def stop(self) -> dict[str, Any]:
        after, table = self.read()
        used: dict[str, Any] = {name: round(v - self.before[name], 3) for name, v in after.items()}
        tracked = {os.getpid()}
        for pid in self.pids.values():
            tracked |= descendants(table, pid)
        tracked_cpu = sum(v for k, v in used.items() if not k.startswith("machine_"))
        used["others"] = round(used["machine_busy"] - tracked_cpu, 3)
        other_use = {
            pid: proc.cpu - (self.before_table[pid].cpu if pid in self.before_table else 0.0)
            for pid, proc in table.items()
            if pid not in tracked
        }
        used["others_top"] = [
            f"{table[pid].comm}[{pid}] {seconds:.1f}s"
            for pid, seconds in sorted(other_use.items(), key=lambda item: -item[1])[:3]
            if seconds >= 0.1
        ]
        self.used = used
        return used


# SQL statement timing --------------------------------------------------------------------


@dataclass
class StatementTimer:
    """A ``connection.execute_wrapper`` that times every statement it sees."""

    count: int = 0
    total: float = 0.0
    longest: float = 0.0
    longest_sql: str = ""
    durations: list[float] = field(default_factory=list)
    by_kind: dict[str, tuple[int, float, float]] = field(default_factory=dict)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.count += 1
            self.total += elapsed
            self.durations.append(elapsed)
            if elapsed > self.longest:
                self.longest, self.longest_sql = elapsed, sql
            kind = sql.split(None, 1)[0].upper() if sql.strip() else "?"
            count, total, longest = self.by_kind.get(kind, (0, 0.0, 0.0))
            self.by_kind[kind] = (count + 1, total + elapsed, max(longest, elapsed))

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.durations)
        return {
            "by_kind": {
                kind: {"statements": n, "seconds": round(total, 3), "longest": round(top, 4)}
                for kind, (n, total, top) in self.by_kind.items()
            },
            "statements": self.count,
            "statement_seconds": round(self.total, 3),
            "longest_statement_seconds": round(self.longest, 4),
            "longest_statement_sql": self.longest_sql[:300],
            "median_statement_seconds": round(ordered[len(ordered) // 2], 4) if ordered else 0,
            "statements_over_1s": sum(1 for d in ordered if d > 1.0),
        }


# Seeding ---------------------------------------------------------------------------------


def insert_sessions(
    model: Any,
    *,
    prefix: str,
    count: int,
    channel: str,
    connected: bool,
    gateway_id: int | None,
    age_seconds: int,
) -> float:
    """Insert ``count`` session rows with one ``INSERT ... SELECT generate_series``.

    Works for either side's ``WebSocketSession``: columns this function does not know are
    filled with their model default. Returns the seconds taken.
    """
    from django.db import connection

    columns: list[str] = []
    expressions: list[str] = []
    params: list[Any] = []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        name = model_field.attname
        if name == "connection_id":
            expression, values = "%s || lpad(g::text, 7, '0')", [prefix]
        elif name == "channel_name":
            expression, values = "%s", [channel]
        elif name == "connected":
            expression, values = "%s", [connected]
        elif name == "api_gateway_id":
            expression, values = "%s", [gateway_id]
        elif name in ("created_on", "updated_on"):
            expression, values = "now() - make_interval(secs => %s)", [age_seconds]
        elif name == "user_id":
            expression, values = "NULL", []
        else:
            default = model_field.get_db_prep_save(model_field.get_default(), connection)
            expression, values = "%s", [default]
        columns.append(connection.ops.quote_name(model_field.column))
        expressions.append(expression)
        params.extend(values)
    table = connection.ops.quote_name(model._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} FROM generate_series(1, %s) AS g"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, count])
    return time.perf_counter() - started


def vacuum_analyze(model: Any) -> None:
    """``VACUUM ANALYZE`` a model's table after a bulk insert.

    The table is then as autovacuum would leave it, and autovacuum has no reason to start on
    it in the middle of a measurement. Needs autocommit, Django's default.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """``(seconds, result)`` of one call."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def speed_check() -> float:
    """Nanoseconds per loop of a fixed pure-Python snippet: how fast this machine is right now.

    Shared virtual machines speed up and slow down; results note this before and after a run
    so that runs can be compared.
    """
    import timeit

    loops = 100_000
    best = min(timeit.repeat("sum(range(100))", number=loops, repeat=5))
    return round(best / loops * 1e9, 1)


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.01) -> Any:
    """Call ``predicate`` until it returns something truthy and return that.

    Raises TimeoutError after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


def message_headers(connection_id: str) -> dict[str, str]:
    """The headers API Gateway forwards with a message event, as Django test client kwargs.

    The same set as ``django_aws_api_gateway_websockets.testing.api_gateway_headers`` builds;
    repeated here for the competitor's process, which cannot import our package.
    """
    return {
        "HTTP_HOST": "testserver",
        "HTTP_X_FORWARDED_FOR": "127.0.0.1",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_CONNECTIONID": connection_id,
        "HTTP_USER_AGENT": f"AmazonAPIGateway_{API_ID}",
        "HTTP_X_AMZN_APIGATEWAY_API_ID": API_ID,
        "HTTP_X_AMZN_TRACE_ID": "Root=1-bench",
        "HTTP_X_FORWARDED_PORT": "443",
        "HTTP_X_REAL_IP": "127.0.0.1",
    }


# Measurements both sides make the same way -----------------------------------------------


def message_event_queries(connection_id: str) -> dict[str, Any]:
    """Queries made by one ``$default`` message event, after a warm-up one, to ``/ws/default``."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    headers = message_headers(connection_id)
    body = json.dumps({"action": "chat", "text": "hello"})
    client.post("/ws/default", body, content_type="application/json", **headers)
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/ws/default", body, content_type="application/json", **headers)
    return {
        "status": response.status_code,
        "body": response.content.decode()[:200],
        "queries": len(captured),
        "sql": [query["sql"][:300] for query in captured.captured_queries],
    }


def stale_session_cleanup(
    session_model: Any, gateway_model: Any, rows: int, delete: Callable[[], Any]
) -> dict[str, Any]:
    """Insert ``rows`` disconnected sessions, then time ``delete`` and each of its statements."""
    from django.db import connection

    gateway_id = gateway_model.objects.values_list("pk", flat=True).first()
    insert_seconds = insert_sessions(
        session_model,
        prefix="stale-",
        count=rows,
        channel="stale",
        connected=False,
        gateway_id=gateway_id,
        age_seconds=STALE_AGE_SECONDS,
    )
    vacuum_analyze(session_model)
    live_before = session_model.objects.filter(connected=True).count()
    timer = StatementTimer()
    with connection.execute_wrapper(timer):
        seconds, _ = timed(delete)
    stale_left = session_model.objects.filter(connected=False).count()
    return {
        "rows": rows,
        "insert_seconds": round(insert_seconds, 2),
        "seconds": round(seconds, 2),
        "deleted": rows - stale_left,
        "stale_left": stale_left,
        "live_kept": session_model.objects.filter(connected=True).count() == live_before,
        **timer.summary(),
    }


def populate_channels(
    session_model: Any, gateway_id: int, channels: list[dict[str, Any]], migrate_seconds: float
) -> dict[str, Any]:
    """Insert each channel's live sessions on ``gateway_id``; summarise the set-up."""
    insert_seconds = sum(
        insert_sessions(
            session_model,
            prefix=channel["prefix"],
            count=channel["count"],
            channel=channel["name"],
            connected=True,
            gateway_id=gateway_id,
            age_seconds=LIVE_AGE_SECONDS,
        )
        for channel in channels
    )
    vacuum_analyze(session_model)
    return {
        "migrate_seconds": round(migrate_seconds, 2),
        "insert_seconds": round(insert_seconds, 2),
        "sessions": session_model.objects.count(),
    }

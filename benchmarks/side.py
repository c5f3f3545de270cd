"""One phase of one side in a fresh process: ``python benchmarks/side.py PHASE JSON``.

The driver runs it with ``BENCH_SIDE=ours`` under the project's interpreter, or with
``BENCH_SIDE=theirs`` under ``benchmarks/.venv-competitor`` (see ``services.run_side``); it
prints one result line (``common.emit``). Either way ``django_aws_api_gateway_websockets`` is
that side's package. The phases are the same for both sides; the calls that differ come from
the side's adapter, ``ours.py`` or ``theirs.py``, which may add phases of its own.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import django

django.setup()

import common  # noqa: E402
from cpu import CpuMeter  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession  # noqa: E402

adapter = importlib.import_module(os.environ.get("BENCH_SIDE", "ours"))

# Sessions' ages well inside API Gateway's 2-hour limit, and past our 5 s "new connection"
# grace for 410 answers, so neither side's rules treat them specially.
LIVE_AGE_SECONDS = 600
STALE_AGE_SECONDS = 1800


def insert_statement(
    channel: dict[str, Any], *, connected: bool, age_seconds: int
) -> tuple[str, list[Any]]:
    """One ``INSERT ... SELECT generate_series`` of a channel's sessions, on the first gateway.

    Works for either side's ``WebSocketSession``: columns it does not know get their default.
    """
    gateway_id = ApiGateway.objects.values_list("pk", flat=True).first()
    age = ("now() - make_interval(secs => %s)", [age_seconds])
    known = {
        "connection_id": ("%s || lpad(g::text, 7, '0')", [channel["prefix"]]),
        "channel_name": ("%s", [channel["name"]]),
        "connected": ("%s", [connected]),
        "api_gateway_id": ("%s", [gateway_id]),
        "created_on": age,
        "updated_on": age,
        "user_id": ("NULL", []),
    }
    columns, expressions, params = [], [], []
    for model_field in WebSocketSession._meta.concrete_fields:
        if model_field.primary_key:
            continue
        if model_field.attname in known:
            expression, values = known[model_field.attname]
        else:
            default = model_field.get_db_prep_save(model_field.get_default(), connection)
            expression, values = "%s", [default]
        columns.append(connection.ops.quote_name(model_field.column))
        expressions.append(expression)
        params.extend(values)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(WebSocketSession._meta.db_table)} "
        f"({', '.join(columns)}) SELECT {', '.join(expressions)} FROM generate_series(1, %s) AS g"
    )
    return sql, [*params, channel["count"]]


def insert_sessions(channels: list[dict[str, Any]], *, connected: bool, age_seconds: int) -> float:
    """Insert every channel's sessions; return the seconds the inserts took.

    Then ``VACUUM ANALYZE``, so that the table is as autovacuum would leave it and autovacuum
    has no reason to start on it in the middle of a measurement.
    """
    statements = [
        insert_statement(c, connected=connected, age_seconds=age_seconds) for c in channels
    ]
    with connection.cursor() as cursor:
        seconds = sum(common.timed(functools.partial(cursor.execute, *s))[0] for s in statements)
        # Needs autocommit, Django's default.
        cursor.execute(
            f"VACUUM ANALYZE {connection.ops.quote_name(WebSocketSession._meta.db_table)}"
        )
    return seconds


@dataclass
class StatementTimer:
    """A ``connection.execute_wrapper`` that times every statement it sees."""

    timings: list[tuple[float, str]] = field(default_factory=list)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timings.append((time.perf_counter() - started, sql))

    def summary(self) -> dict[str, Any]:
        durations = sorted(seconds for seconds, _ in self.timings)
        longest, longest_sql = max(self.timings, default=(0.0, ""), key=lambda t: t[0])
        by_kind: dict[str, list[float]] = {}
        for seconds, sql in self.timings:
            kind = sql.split(None, 1)[0].upper() if sql.strip() else "?"
            by_kind.setdefault(kind, []).append(seconds)
        return {
            "by_kind": {
                kind: {
                    "statements": len(d),
                    "seconds": round(sum(d), 3),
                    "longest": round(max(d), 4),
                }
                for kind, d in by_kind.items()
            },
            "statements": len(durations),
            "statement_seconds": round(sum(durations), 3),
            "longest_statement_seconds": round(longest, 4),
            "longest_statement_sql": longest_sql[:300],
            "median_statement_seconds": round(durations[len(durations) // 2], 4)
            if durations
            else 0,
            "statements_over_1s": sum(1 for d in durations if d > 1.0),
        }


def setup(args: dict[str, Any]) -> dict[str, Any]:
    """Migrate the empty database and insert the connected sessions of every channel."""
    migrate_seconds, _ = common.timed(lambda: call_command("migrate", verbosity=0))
    # bulk_create, not save(): 4.1.0 would sync a saved, created gateway to AWS.
    ApiGateway.objects.bulk_create(
        [
            ApiGateway(
                api_name="bench", api_id=common.API_ID, stage_name=common.STAGE, api_created=True
            )
        ]
    )
    insert_seconds = insert_sessions(args["channels"], connected=True, age_seconds=LIVE_AGE_SECONDS)
    return {
        "migrate_seconds": round(migrate_seconds, 2),
        "insert_seconds": round(insert_seconds, 2),
        "sessions": WebSocketSession.objects.count(),
    }


def messages(args: dict[str, Any]) -> dict[str, Any]:
    """Queries made by one ``$default`` message event, after a warm-up one, to ``/ws/default``.

    The headers are those API Gateway forwards, as our
    ``django_aws_api_gateway_websockets.testing.api_gateway_headers`` builds them (spelled out
    here: the competitor's process cannot import it).
    """
    headers = {
        "HTTP_HOST": "testserver",
        "HTTP_X_FORWARDED_FOR": "127.0.0.1",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_CONNECTIONID": args["connection_id"],
        "HTTP_USER_AGENT": f"AmazonAPIGateway_{common.API_ID}",
        "HTTP_X_AMZN_APIGATEWAY_API_ID": common.API_ID,
        "HTTP_X_AMZN_TRACE_ID": "Root=1-bench",
        "HTTP_X_FORWARDED_PORT": "443",
        "HTTP_X_REAL_IP": "127.0.0.1",
    }
    client = Client()
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


def deliver(args: dict[str, Any]) -> dict[str, Any]:
    """Time a broadcast to a channel until it is delivered, and the CPU used meanwhile.

    A warm-up broadcast to other connections comes first, so that clients, pools and
    connections exist on both sides.
    """
    warm_up = adapter.warm_up(args["timeout"])
    meter = CpuMeter(args["pids"]).start()
    delivery = adapter.deliver(args["channel"], args["timeout"])
    cpu = meter.stop()
    if adapter.CALLER_DELIVERS:
        # This process posted every message: its CPU (all its threads) is the figure.
        cpu["caller"] = cpu.pop("observer")
    return {
        "count": args["count"],
        "seconds": round(delivery.seconds, 3),
        "rate": round(args["count"] / delivery.seconds, 1),
        "call_ms": round(delivery.call_seconds * 1000, 2),
        **delivery.details,
        **warm_up,
        "cpu_seconds": cpu,
    }


def cleanup(args: dict[str, Any]) -> dict[str, Any]:
    """Insert disconnected sessions, then time the side's deletion and each of its statements."""
    rows = args["rows"]
    stale = {"name": "stale", "prefix": "stale-", "count": rows}
    insert_seconds = insert_sessions([stale], connected=False, age_seconds=STALE_AGE_SECONDS)
    live_before = WebSocketSession.objects.filter(connected=True).count()
    timer = StatementTimer()
    with connection.execute_wrapper(timer):
        seconds, _ = common.timed(adapter.delete_stale)
    stale_left = WebSocketSession.objects.filter(connected=False).count()
    return {
        "rows": rows,
        "insert_seconds": round(insert_seconds, 2),
        "seconds": round(seconds, 2),
        "deleted": rows - stale_left,
        "stale_left": stale_left,
        "live_kept": WebSocketSession.objects.filter(connected=True).count() == live_before,
        **timer.summary(),
    }


PHASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "setup": setup,
    "messages": messages,
    "deliver": deliver,
    "cleanup": cleanup,
    **adapter.PHASES,
}

if __name__ == "__main__":
    common.emit(PHASES[sys.argv[1]](json.loads(sys.argv[2])))

"""Turning the collected results into the comparison table and ``results.md``."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from benchmarks.common import WARM_COUNT
from benchmarks.harness import COMPETITOR_BROADCAST_LIMIT
from benchmarks.services import QUEUES

# A caller's time counts as flat in N if the larger broadcast costs at most this much more.
FLAT_TOLERANCE = 1.5
FLAT_SLACK_MS = 2.0
# The DESIGN's delivery rate targets: ours at least this many times theirs, per latency.
RATE_TARGETS = {"0": 1.5, "20": 4.0}


class Row(NamedTuple):
    metric: str
    ours: str
    theirs: str
    comparison: str
    target: str
    met: str


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**NO**")


def compare(ours: float, theirs: float) -> str:
    """``"3.2x shorter"``-style comparison of a duration."""
    if ours <= 0 or theirs <= 0:
        return "—"
    return f"{ours / theirs:,.1f}x longer" if ours > theirs else f"{theirs / ours:,.1f}x shorter"


def caller_rows(results: dict[str, Any]) -> list[Row]:
    ours, theirs = results["caller"]["ours"], results["caller"]["theirs"]
    counts = sorted(theirs, key=int)
    smallest = ours[counts[0]]["send_to_channel_ms"]["median"]
    rows = []
    for n in counts:
        their_ms = theirs[n]["call_ms"]
        their_cell = f"{their_ms / 1000:.1f} s" if their_ms >= 10_000 else f"{their_ms:.1f} ms"
        their_cell += " (extrapolated)" if theirs[n].get("extrapolated") else ""
        median = ours[n]["send_to_channel_ms"]["median"]
        flat = median <= max(smallest * FLAT_TOLERANCE, smallest + FLAT_SLACK_MS)
        for label in ("send_to_channel", "queryset.send_message"):
            mine = ours[n][label.replace(".", "_") + "_ms"]
            rows.append(
                Row(
                    f"1. Caller's time, channel broadcast, {int(n):,} recipients (ours: {label})",
                    f"{mine['median']:.2f} ms (max {mine['max']:.1f})",
                    their_cell,
                    f"{their_ms / mine['median']:,.0f}x shorter",
                    "≤ 10 ms, flat in N",
                    verdict(mine["max"] <= 10 and flat),
                )
            )
    return rows


def rate_cell(run: dict[str, Any]) -> str:
    """Median trial's rate, its duration, what the gateway counted as delivered, the trials."""
    rates, verify = run["trial_rates"], run["verify"]
    spread = f"; trials {min(rates):,.0f}-{max(rates):,.0f}" if len(rates) > 1 else ""
    return (
        f"{run['rate']:,.0f} msg/s ({run['seconds']:.1f} s; "
        f"{verify['received']:,}/{verify['expected']:,} delivered{spread})"
    )


def delivery_rows(results: dict[str, Any]) -> list[Row]:
    ours, theirs = results["delivery"]["ours"], results["delivery"]["theirs"]
    rates, cpu = [], []
    for latency, needed in RATE_TARGETS.items():
        if latency not in ours:
            continue
        mine, their = ours[latency], theirs[latency]
        ratio = mine["rate"] / their["rate"]
        pairs = mine.get("paired_ratios", [])
        spread = (
            f" (back-to-back pairs {min(pairs):.2f}-{max(pairs):.2f}x)" if len(pairs) > 1 else ""
        )
        complete = mine["all_delivered"] and their["all_delivered"]
        rates.append(
            Row(
                f"2. Delivery rate to {mine['count']:,} connections, {latency} ms latency",
                rate_cell(mine),
                rate_cell(their),
                f"{ratio:.2f}x{spread}",
                f"≥ {needed:g}x theirs",
                verdict(ratio >= needed and complete),
            )
        )
        ours_ms = mine["cpu_seconds"]["workers"] / mine["count"] * 1000
        their_ms = their["cpu_seconds"]["caller"] / their["count"] * 1000
        cpu.append(
            Row(
                f"3. CPU per delivered message, {latency} ms latency "
                "(ours: worker processes; theirs: caller)",
                f"{ours_ms:.3f} ms",
                f"{their_ms:.3f} ms",
                f"{ours_ms / their_ms:.2f}x theirs",
                "(none)",
                verdict(None),
            )
        )
    return rates + cpu


def message_row(results: dict[str, Any]) -> Row:
    ours, theirs = results["messages"]["ours"], results["messages"]["theirs"]
    return Row(
        "4. Database queries per `$default` message event",
        f"{ours['queries']} (HTTP {ours['status']})",
        f"{theirs['queries']} (HTTP {theirs['status']})",
        f"{theirs['queries'] - ours['queries']:+d} for theirs",
        "fewer than theirs",
        verdict(ours["queries"] < theirs["queries"]),
    )


def cleanup_rows(results: dict[str, Any]) -> list[Row]:
    ours, theirs = results["cleanup"]["ours"], results["cleanup"]["theirs"]
    metric = f"5. Cleanup of {ours['rows']:,} stale sessions"
    ours_longest, their_longest = (
        ours["longest_statement_seconds"],
        theirs["longest_statement_seconds"],
    )
    return [
        Row(
            f"{metric}: total time",
            f"{ours['seconds']:.1f} s ({ours['statements']:,} statements)",
            f"{theirs['seconds']:.1f} s ({theirs['statements']:,} statements)",
            compare(ours["seconds"], theirs["seconds"]),
            "bounded batches",
            verdict(ours["statements"] > 1 and ours["stale_left"] == 0),
        ),
        Row(
            f"{metric}: longest single statement",
            f"{ours_longest * 1000:.0f} ms",
            f"{their_longest * 1000:,.0f} ms",
            compare(ours_longest, their_longest),
            "no statement > 1 s",
            verdict(ours["statements"] > 1 and ours_longest <= 1.0),
        ),
    ]


def build_rows(results: dict[str, Any]) -> list[Row]:
    return [
        *caller_rows(results),
        *delivery_rows(results),
        message_row(results),
        *cleanup_rows(results),
    ]


def table(header: list[str], rows: list[list[str]] | list[Row]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(cells) + " |" for cells in [header, *rows]]
    lines.insert(1, "|" + "---|" * len(header))
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    return table(
        ["Metric", "Ours", "Theirs (4.1.0)", "Ours vs theirs", "DESIGN target", "Met"], rows
    )


def cpu_table(results: dict[str, Any]) -> str:
    """Where the CPU went during each delivery measurement (median trial), per process group."""
    header = ["Run", "Seconds", "Our workers", "Caller process", "Gateway", "PostgreSQL"]
    header += ["Redis", "Other processes", "Machine busy", "Stolen", "Busiest other processes"]
    columns = ["workers", "caller", "gateway", "postgres", "redis", "others", "machine_busy"]
    rows = []
    for side in ("ours", "theirs"):
        for latency, run in sorted(results["delivery"][side].items()):
            cpu = dict(run["cpu_seconds"])
            if "observer" in cpu:
                cpu["caller"] = cpu["observer"]
            figures = [
                f"{cpu[name]:.1f}" if name in cpu else "—" for name in [*columns, "machine_steal"]
            ]
            busiest = ", ".join(cpu.get("others_top", [])) or "—"
            rows.append([f"{side}, {latency} ms", f"{run['seconds']:.1f}", *figures, busiest])
    return table(header, rows)


def notes(results: dict[str, Any]) -> list[str]:
    """How the run was arranged."""
    meta = results["meta"]
    facts, scale, workers = meta["competitor"], meta["scale"], meta["workers"]
    items = [
        "Gateway: the project's local Management API (`create_management_app`) in its own child "
        "process of the driver (one asyncio process, not in any measured process), shared by both "
        "sides; it is reset, given the injected latency and the recipients' virtual connection ids "
        "before each delivery measurement. Its CPU use is in the CPU table below: on this "
        f"{meta['cpus']}-CPU machine it competes with whichever side runs.",
        f"Our workers: `celery -A worker worker -P {workers['pool']} -c {workers['concurrency']} "
        f"-Q {QUEUES}` as a child process (DJANGO_SETTINGS_MODULE=benchmarks.settings, Redis DB "
        "13), running during the delivery measurements only (idle while the competitor's trials "
        "run: their CPU then is in the raw results as `workers`). Delivery settings are the "
        "product defaults (batches of 500, 32 posting threads per process, `delivery_transport` "
        "`direct`: SigV4-signed keep-alive HTTP built from the boto3 client of "
        "`get_boto3_client`).",
        f"Caller's time (1): ours is the median of {scale['repeats']} calls after one warm-up "
        "call, with a real Redis broker and no worker consuming (the queued tasks were discarded "
        "afterwards); theirs is one `queryset.send_message` call at 0 ms latency, which posts "
        "every message before returning.",
        "Delivery rate (2): ours from the `send_to_channel` call until the report's `finished`; "
        "theirs the recipients divided by the duration of their `queryset.send_message`; the "
        f"median of {scale['trials']} trials per side, ours and theirs alternating. Each side "
        f"first warms up with a broadcast to {WARM_COUNT:,} other connections. Every recipient's "
        "delivery is counted by the gateway afterwards (see `verify` in the raw results).",
        "CPU (3): user+system time from /proc of the worker process tree (ours) and of the "
        "caller process (theirs, `time.process_time`). Gateway, PostgreSQL and Redis CPU are "
        "listed separately below and are in neither figure, nor is our caller's (which makes the "
        "call, then polls the report); 'Machine busy' is all the CPU the machine spent meanwhile "
        f"(at most {meta['cpus']} s per second here), 'Other processes' the part of it none of "
        "those explains (with the busiest other processes named), and 'Stolen' the hypervisor's "
        "steal time.",
        f"Competitor: {facts['version']} as installed in `benchmarks/.venv-competitor`. Its "
        "`QuerySet.send_message` selects the recipients, groups them per gateway and posts from "
        f"a `ThreadPoolExecutor` of `BROADCAST_MAX_WORKERS = {facts['broadcast_max_workers']}` "
        "threads in the caller, through one cached boto3 client per gateway (10 pooled "
        f"connections, up to {facts['broadcast_max_attempts']} attempts), then marks gone "
        "sessions in one UPDATE. The only change made to it: `models.get_boto3_client` is "
        "wrapped so that its `endpoint_url` argument "
        "(`https://{api_id}.execute-api.{region}.amazonaws.com/{stage}`) is replaced by the "
        "local gateway's URL for the same stage.",
        'Queries (4): one `$default` message event (body `{"action": "chat"}`, falling back to '
        "`default`) posted with Django's test Client to a minimal `WebSocketView` subclass whose "
        "`default` does no work, after one warm-up event; counted with `CaptureQueriesContext`.",
        "Cleanup (5): the stale rows are inserted with one `INSERT ... SELECT generate_series` "
        "followed by `VACUUM ANALYZE`; every statement of `delete_stale_sessions()` (ours) or "
        "`clearWebSocketSessions` (theirs) is timed with `connection.execute_wrapper`.",
    ]
    if meta["websockets_overrides"]:
        items.append(
            f"EXPERIMENT: our engine settings were overridden with {meta['websockets_overrides']}."
        )
    for count, run in results["caller"]["theirs"].items():
        if run.get("extrapolated"):
            why = (
                f"the measured run had not finished after {run['timed_out_after']:.0f} s"
                if "timed_out_after" in run
                else f"it would take more than {COMPETITOR_BROADCAST_LIMIT:.0f} s"
            )
            items.append(
                f"Their {int(count):,}-recipient caller's time is EXTRAPOLATED linearly from the "
                f"measured {run['from_count']:,}-recipient broadcast ({why}; their rate falls as "
                "N grows, so the real figure is likely longer)."
            )
    return items


def write_markdown(results: dict[str, Any], rows: list[Row]) -> str:
    meta = results["meta"]
    title = "# Benchmark results" + (" (--quick smoke run, 1/10 scale)" if meta["quick"] else "")
    summary = (
        f"Run on {meta['started']} in {meta['duration_seconds']:.0f} s with `{meta['command']}`; "
        f"{meta['cpus']} CPUs; machine speed check (`sum(range(100))`, lower is faster) "
        f"{meta['speed_check_ns_at_start']:.0f} ns at the start and "
        f"{meta['speed_check_ns_at_end']:.0f} ns at the end: this shared VM's speed drifts, so "
        "compare the two sides within a run rather than absolute figures across runs. Ours: this "
        f"repository ({meta['ours_commit']}); theirs: django-aws-api-gateway-websockets "
        f"{meta['competitor']['version']} from PyPI."
    )
    return "\n\n".join(
        [
            title,
            summary,
            markdown_table(rows),
            "## How it ran",
            "\n".join(f"- {note}" for note in notes(results)),
            "## CPU seconds used during each delivery run",
            cpu_table(results),
            "## Raw results",
            f"```json\n{json.dumps(results, indent=1, default=str)}\n```\n",
        ]
    )

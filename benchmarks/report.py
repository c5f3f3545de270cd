"""Turning the collected results into the comparison table and ``results.md``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# A caller's time counts as flat in N if the larger broadcast costs at most this much more.
FLAT_TOLERANCE = 1.5
FLAT_SLACK_MS = 2.0


@dataclass
class Row:
    metric: str
    ours: str
    theirs: str
    comparison: str
    target: str
    met: str


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**NO**")


def compare(ours: float, theirs: float, more: str, less: str) -> str:
    """``"3.2x shorter"``-style comparison of a figure where lower is better."""
    if ours <= 0 or theirs <= 0:
        return "—"
    if ours > theirs:
        return f"{ours / theirs:,.1f}x {more}"
    return f"{theirs / ours:,.1f}x {less}"


def fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 10_000 else f"{ms:.1f} ms"


def caller_rows(results: dict[str, Any]) -> list[Row]:
    ours, theirs = results["caller"]["ours"], results["caller"]["theirs"]
    counts = sorted(int(n) for n in theirs)
    rows = []
    medians = {n: ours[str(n)]["send_to_channel_ms"]["median"] for n in counts}
    smallest = medians[counts[0]]
    for n in counts:
        mine = ours[str(n)]
        their = theirs[str(n)]
        their_ms = their["call_ms"]
        note = " (extrapolated)" if their.get("extrapolated") else ""
        flat = medians[n] <= max(smallest * FLAT_TOLERANCE, smallest + FLAT_SLACK_MS)
        for label, key in (
            ("send_to_channel", "send_to_channel_ms"),
            ("queryset.send_message", "queryset_send_message_ms"),
        ):
            ms = mine[key]["median"]
            rows.append(
                Row(
                    f"1. Caller's time, channel broadcast, {n:,} recipients (ours: {label})",
                    f"{ms:.2f} ms (max {mine[key]['max']:.1f})",
                    fmt_ms(their_ms) + note,
                    f"{their_ms / ms:,.0f}x shorter",
                    "≤ 10 ms, flat in N",
                    verdict(mine[key]["max"] <= 10 and flat),
                )
            )
    return rows


def rate_cell(run: dict[str, Any]) -> str:
    """Median trial's rate, its duration, and what the gateway counted as delivered."""
    verify = run["verify"]
    trials = len(run["trial_rates"])
    spread = (
        f"; trials {min(run['trial_rates']):,.0f}-{max(run['trial_rates']):,.0f}"
        if trials > 1
        else ""
    )
    return (
        f"{run['rate']:,.0f} msg/s ({run['seconds']:.1f} s; "
        f"{verify['received']:,}/{verify['expected']:,} delivered{spread})"
    )


def paired(run: dict[str, Any]) -> str:
    """The spread of the ratios of trials run back to back, when there were several."""
    ratios = run.get("paired_ratios", [])
    if len(ratios) < 2:
        return ""
    return f" (back-to-back pairs {min(ratios):.2f}-{max(ratios):.2f}x)"


def delivery_rows(results: dict[str, Any]) -> list[Row]:
    ours, theirs = results["delivery"]["ours"], results["delivery"]["theirs"]
    targets = {"0": 1.5, "20": 4.0}
    rows = []
    for latency, needed in targets.items():
        if latency not in ours:
            continue
        mine, their = ours[latency], theirs[latency]
        ratio = mine["rate"] / their["rate"]
        complete = mine["all_delivered"] and their["all_delivered"]
        rows.append(
            Row(
                f"2. Delivery rate to {mine['count']:,} connections, {latency} ms latency",
                rate_cell(mine),
                rate_cell(their),
                f"{ratio:.2f}x" + paired(mine),
                f"≥ {needed:g}x theirs",
                verdict(ratio >= needed and complete),
            )
        )
    for latency in targets:
        if latency not in ours:
            continue
        mine, their = ours[latency], theirs[latency]
        ours_cpu = mine["cpu_seconds"]["workers"] / mine["count"] * 1000
        their_cpu = their["cpu_seconds"]["caller"] / their["count"] * 1000
        rows.append(
            Row(
                f"3. CPU per delivered message, {latency} ms latency "
                "(ours: worker processes; theirs: caller)",
                f"{ours_cpu:.3f} ms",
                f"{their_cpu:.3f} ms",
                f"{ours_cpu / their_cpu:.2f}x theirs",
                "(none)",
                verdict(None),
            )
        )
    return rows


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
    rows_label = f"{ours['rows']:,}"
    bounded = ours["statements"] > 1 and ours["longest_statement_seconds"] <= 1.0
    return [
        Row(
            f"5. Cleanup of {rows_label} stale sessions: total time",
            f"{ours['seconds']:.1f} s ({ours['statements']:,} statements)",
            f"{theirs['seconds']:.1f} s ({theirs['statements']:,} statements)",
            compare(ours["seconds"], theirs["seconds"], "longer", "shorter"),
            "bounded batches",
            verdict(ours["statements"] > 1 and ours["stale_left"] == 0),
        ),
        Row(
            f"5. Cleanup of {rows_label} stale sessions: longest single statement",
            f"{ours['longest_statement_seconds'] * 1000:.0f} ms",
            f"{theirs['longest_statement_seconds'] * 1000:,.0f} ms",
            compare(
                ours["longest_statement_seconds"],
                theirs["longest_statement_seconds"],
                "longer",
                "shorter",
            ),
            "no statement > 1 s",
            verdict(bounded),
        ),
    ]


def build_rows(results: dict[str, Any]) -> list[Row]:
    return [
        *caller_rows(results),
        *delivery_rows(results),
        message_row(results),
        *cleanup_rows(results),
    ]


def markdown_table(rows: list[Row]) -> str:
    header = ["Metric", "Ours", "Theirs (4.1.0)", "Ours vs theirs", "DESIGN target", "Met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.metric, row.ours, row.theirs, row.comparison, row.target, row.met]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_table(results: dict[str, Any]) -> str:
    """Where the CPU went during each delivery measurement (median trial), per process group."""
    columns = ["workers", "caller", "gateway", "postgres", "redis", "others", "machine_busy"]
    lines = [
        "| Run | Seconds | Our workers | Caller process | Gateway | PostgreSQL | Redis "
        "| Other processes | Machine busy | Stolen | Busiest other processes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for side in ("ours", "theirs"):
        for latency, run in sorted(results["delivery"][side].items()):
            cpu = dict(run["cpu_seconds"])
            if "observer" in cpu:
                cpu["caller"] = cpu["observer"]
            cells = " | ".join(
                f"{cpu[name]:.1f}" if name in cpu else "—" for name in [*columns, "machine_steal"]
            )
            busiest = ", ".join(cpu.get("others_top", [])) or "—"
            lines.append(f"| {side}, {latency} ms | {run['seconds']:.1f} | {cells} | {busiest} |")
    return "\n".join(lines)


def write_markdown(results: dict[str, Any], rows: list[Row], notes: list[str]) -> str:
    meta = results["meta"]
    parts = [
        "# Benchmark results" + (" (--quick smoke run, 1/10 scale)" if meta["quick"] else ""),
        "",
        f"Run on {meta['started']} in {meta['duration_seconds']:.0f} s with "
        f"`{meta['command']}`; {meta['cpus']} CPUs; machine speed check "
        f"(`sum(range(100))`, lower is faster) {meta['speed_check_ns_at_start']:.0f} ns at the "
        f"start and {meta['speed_check_ns_at_end']:.0f} ns at the end: this shared VM's speed "
        "drifts, so compare the two sides within a run rather than absolute figures across "
        "runs. Ours: this repository "
        f"({meta['ours_commit']}); theirs: django-aws-api-gateway-websockets "
        f"{meta['competitor']['version']} from PyPI.",
        "",
        markdown_table(rows),
        "",
        "## How it ran",
        "",
        *[f"- {note}" for note in notes],
        "",
        "## CPU seconds used during each delivery run",
        "",
        cpu_table(results),
        "",
        "## Raw results",
        "",
        "```json",
        json.dumps(results, indent=1, default=str),
        "```",
        "",
    ]
    return "\n".join(parts)

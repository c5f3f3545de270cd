"""Scale: broadcasts to 10,000, 100,000 and 1,000,000 recipients delivered completely.

``python benchmarks/scale.py [--scales 10000,100000,1000000]`` inserts the sessions, then for
each size sends one broadcast (``send_to_channel``) with two ``celery -A worker worker``
instances running and the local Management API at 0 ms, and prints: the caller's time, when
planning finished, when the last recipient was delivered, SQL statements the workers ran per
1,000 recipients (counted by an ``execute_wrapper`` in every worker process, see
``BENCH_COUNT_STATEMENTS`` in ``benchmarks/settings.py``), and the peak resident size of
every worker process (main processes, prefork children, fast-lane workers), sampled every
0.5 s from ``/proc``. ``--first-send`` measures the first send of a fresh process instead.

It needs PostgreSQL on 127.0.0.1:5432 (database ``bench_lanes_scale``, dropped at the end)
and Redis on 127.0.0.1:6379 (database 9, flushed between runs). The post budget is off
(``post_rate_limit: None``): what is measured is the engine, not the limiter.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cpu import descendants, process_table  # noqa: E402
from benchmarks.lanes import (  # noqa: E402
    BROKER_URL,
    database,
    flush_broker,
    load_average,
    log,
    print_and_save,
    run,
    side_env,
    workers,
)

STATEMENTS_KEY = "bench:statements"
OVERRIDES = {"post_rate_limit": None}


def phase(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: one broadcast and its timeline, or the first send's time."""
    started = time.perf_counter()
    import django

    django.setup()
    import redis

    from django_aws_api_gateway_websockets.models import DeliveryReport, WebSocketSession

    if kind == "first":
        setup = time.perf_counter() - started
        # A web server's process is up for a moment before its first request: ``idle``
        # seconds (0: the send right after start-up, as a script makes it).
        time.sleep(args.get("idle", 0))
        call_started = time.perf_counter()
        WebSocketSession.objects.filter(channel_name="first").send_message({"type": "first"})
        first = time.perf_counter() - call_started
        second_started = time.perf_counter()
        WebSocketSession.objects.filter(channel_name="first").send_message({"type": "second"})
        second = time.perf_counter() - second_started
        return {
            "idle_seconds": args.get("idle", 0),
            "setup_ms": round(setup * 1000, 1),
            "first_ms": round(first * 1000, 1),
            "second_ms": round(second * 1000, 1),
        }
    counter = redis.Redis.from_url(BROKER_URL)
    warm = WebSocketSession.objects.send_to_channel("warm", {"type": "warm"})
    while not DeliveryReport.objects.filter(pk=warm.pk, finished__isnull=False).exists():
        time.sleep(0.2)
    statements_before = int(counter.get(STATEMENTS_KEY) or 0)
    called = time.time()
    call_started = time.perf_counter()
    report = WebSocketSession.objects.send_to_channel(args["channel"], {"type": "scale"})
    caller_ms = (time.perf_counter() - call_started) * 1000
    planned_at = None
    while True:
        row = DeliveryReport.objects.filter(pk=report.pk).values(
            "planned", "finished", "delivered", "failed", "recipients"
        )[0]
        if planned_at is None and row["planned"]:
            planned_at = time.time()
        if row["finished"]:
            break
        time.sleep(0.2)
    statements = int(counter.get(STATEMENTS_KEY) or 0) - statements_before
    seconds = row["finished"].timestamp() - called
    return {
        "count": args["count"],
        "caller_ms": round(caller_ms, 2),
        "planning_seconds": round((planned_at or time.time()) - called, 2),
        "seconds": round(seconds, 1),
        "rate": round(args["count"] / seconds, 1),
        "delivered": row["delivered"],
        "failed": row["failed"],
        "statements": statements,
        "statements_per_1000": round(statements / args["count"] * 1000, 1),
    }


class RssSampler:
    """The peak resident size of every process under the given roots, every 0.5 s."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self.peaks: dict[int, tuple[str, int]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.stop.is_set():
            table = process_table()
            for root in self.roots:
                for pid in descendants(table, root):
                    try:
                        status = Path(f"/proc/{pid}/status").read_text()
                        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    except OSError:
                        continue
                    rss = next(
                        int(line.split()[1])
                        for line in status.splitlines()
                        if line.startswith("VmRSS")
                    )
                    role = self.role(pid, root, cmdline)
                    if rss > self.peaks.get(pid, ("", 0))[1]:
                        self.peaks[pid] = (role, rss)
            self.stop.wait(0.5)

    @staticmethod
    def role(pid: int, root: int, cmdline: bytes) -> str:
        if b"-P\x00threads" in cmdline:
            return "fast-lane worker"
        return "main process" if pid == root else "pool process"

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"pid": pid, "role": role, "peak_rss_mb": round(kb / 1024, 1)}
            for pid, (role, kb) in sorted(self.peaks.items())
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--scales", default="10000,100000,1000000")
    parser.add_argument("--first-send", action="store_true", help="the first send's time only")
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    if options.phase:
        result = phase(options.phase, json.loads(options.args))
        print("BENCH-RESULT " + json.dumps(result, default=str), flush=True)
        return 0

    from benchmarks.services import Gateway

    scales = [int(n) for n in options.scales.split(",")] if not options.first_send else []
    load_at_start = load_average()
    workdir = Path(tempfile.mkdtemp(prefix="ws-scale-"))
    log(f"logs in {workdir}")
    db = "bench_lanes_scale"
    database(db, create=True)
    here = str(Path(__file__).resolve())
    results: dict[str, Any] = {"broadcasts": [], "first_send": []}
    warm = {"name": "warm", "prefix": "warm-", "count": 2000}
    first = {"name": "first", "prefix": "first-", "count": 1}
    channels = [{"name": f"scale{n}", "prefix": f"scale{n}-", "count": n} for n in scales]
    log_file = workdir / "scale.log"
    with (workdir / "gateway.log").open("ab") as gateway_log:
        gateway = Gateway(gateway_log)
        try:
            env = side_env(ROOT, db, gateway.url, OVERRIDES)
            counting = {**env, "BENCH_COUNT_STATEMENTS": "1"}
            log(f"inserting {sum(c['count'] for c in channels) + 2001:,} sessions")
            setup = {"channels": [warm, first, *channels]}
            run(
                [sys.executable, str(ROOT / "benchmarks" / "side.py"), "setup", json.dumps(setup)],
                ROOT,
                env,
                log_file,
            )
            gateway.prepare(0, [warm, first])
            flush_broker()
            # The first send of a fresh process, three times each (nothing need consume it).
            for idle in (0, 1):
                for _ in range(3):
                    args = json.dumps({"idle": idle})
                    results["first_send"].append(
                        run([sys.executable, here, "--phase", "first", args], ROOT, env, log_file)
                    )
                    log(f"first send: {results['first_send'][-1]}")
            for channel in channels:
                gateway.prepare(0, [warm, channel])
                flush_broker()
                with workers(ROOT, counting, log_file) as pids, RssSampler(pids) as rss:
                    log(f"broadcast to {channel['count']:,}")
                    args = {"channel": channel["name"], "count": channel["count"]}
                    result = run(
                        [sys.executable, here, "--phase", "broadcast", json.dumps(args)],
                        ROOT,
                        counting,
                        log_file,
                    )
                result["workers"] = rss.summary()
                result["gateway"] = gateway.verify(channel)
                result["gateway"].pop("gateway", None)
                results["broadcasts"].append(result)
                log(json.dumps(result)[:600])
        finally:
            gateway.stop()
            flush_broker()
            database(db, create=False)
    results["load_average"] = [load_at_start, load_average()]
    return print_and_save(results, table(results), *results["load_average"], options.output)


def table(results: dict[str, Any]) -> str:
    lines = []
    if results["first_send"]:
        lines += ["| first send of a fresh process | after | second send |", "|---|---|---|"]
        for idle in sorted({r.get("idle_seconds", 0) for r in results["first_send"]}):
            runs = [r for r in results["first_send"] if r.get("idle_seconds", 0) == idle]
            firsts = [r["first_ms"] for r in runs]
            seconds = [r["second_ms"] for r in runs]
            lines.append(
                f"| {statistics.median(firsts):.1f} ms (runs: "
                f"{', '.join(f'{x:.0f}' for x in firsts)}) | start-up + {idle} s | "
                f"{statistics.median(seconds):.1f} ms |"
            )
        lines.append("")
    if results["broadcasts"]:
        lines += [
            "| recipients | caller | planned after | delivered after | rate | received | "
            "statements / 1,000 | peak RSS per worker process (MB) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in results["broadcasts"]:
            rss = ", ".join(f"{w['role'].split()[0]} {w['peak_rss_mb']:.0f}" for w in r["workers"])
            lines.append(
                f"| {r['count']:,} | {r['caller_ms']:.1f} ms | {r['planning_seconds']} s | "
                f"{r['seconds']} s | {r['rate']:,.0f}/s | {r['gateway']['received']:,} | "
                f"{r['statements_per_1000']} | {rss} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark our delivery engine against django-aws-api-gateway-websockets 4.1.0, in one run.

    python benchmarks/run.py [--quick]

Starts the local Management API (a child process), recreates the PostgreSQL databases
``bench_ours`` and ``bench_theirs`` with the same sessions, runs each side in its own
processes against the same gateway with the same injected latency, prints the comparison
table and writes it to ``benchmarks/results.md`` (``results-quick.md`` for ``--quick``).
See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common, report, services  # noqa: E402
from benchmarks.services import log  # noqa: E402

# Extrapolate the competitor's 100k broadcast when the 10k one predicts more than this many
# seconds, or when it has not finished after the second figure.
COMPETITOR_BROADCAST_LIMIT = 180.0
COMPETITOR_BROADCAST_TIMEOUT = 420.0
DELIVERY_LATENCIES_MS = (0, 20)


def scale(quick: bool) -> dict[str, Any]:
    """Recipient counts of every measurement; ``--quick`` is 1/10 and skips 100k and 1M."""
    if quick:
        return {"caller": [1_000], "delivery": 2_000, "cleanup": 100_000, "repeats": 5, "trials": 1}
    return {
        "caller": [10_000, 100_000],
        "delivery": 20_000,
        "cleanup": 1_000_000,
        "repeats": 5,
        "trials": 3,
    }


def channel(count: int, kind: str) -> dict[str, Any]:
    """A channel of ``count`` sessions; its name is also its connection ids' prefix."""
    name = f"{kind}{count}"
    return {"name": name, "prefix": f"{name}-", "count": count}


WARM = {"name": common.WARM_CHANNEL, "prefix": "warm-", "count": common.WARM_COUNT}
MESSAGE = {"name": "msg", "prefix": "msg-", "count": 1}


class Bench:
    """One run: the services, both sides and the results collected so far."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.scale = scale(args.quick)
        self.workdir = workdir
        self.log_path = {side: workdir / f"{side}.log" for side in ("ours", "theirs")}
        self.gateway = services.Gateway((workdir / "gateway.log").open("ab"))
        self.env = {side: services.side_env(side, self.gateway.url) for side in ("ours", "theirs")}
        self.pids = {
            "gateway": self.gateway.pid,
            "postgres": services.service_pid("postgres"),
            "redis": services.service_pid("redis-server"),
        }
        self.pids = {name: pid for name, pid in self.pids.items() if pid}
        self.results: dict[str, Any] = {"caller": {}, "delivery": {}, "cleanup": {}}

    def side(
        self, side: str, phase: str, args: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        return services.run_side(
            side, phase, args, self.env[side], self.log_path[side], timeout=timeout
        )

    def channels(self) -> list[dict[str, Any]]:
        counts = [channel(n, "n") for n in self.scale["caller"]]
        return [WARM, MESSAGE, *counts, channel(self.scale["delivery"], "d")]

    def setup(self) -> None:
        for side, database in services.DATABASES.items():
            services.recreate_database(database)
            log(f"setting up {database}")
            self.results.setdefault("setup", {})[side] = self.side(
                side, "setup", {"channels": self.channels()}
            )
        services.flush_broker()

    def messages(self) -> None:
        log("queries per $default message event")
        connection_id = common.connection_ids(MESSAGE["prefix"], 1)[0]
        self.results["messages"] = {
            side: self.side(side, "messages", {"connection_id": connection_id})
            for side in ("ours", "theirs")
        }

    def caller(self) -> None:
        counts = self.scale["caller"]
        log(f"ours: caller's time at {counts}")
        ours = self.side(
            "ours",
            "caller",
            {"channels": [channel(n, "n") for n in counts], "repeats": self.scale["repeats"]},
        )
        self.results["caller"]["ours"] = {str(c["count"]): c for c in ours["channels"].values()}
        self.results["caller"]["queued_tasks_discarded"] = services.flush_broker()
        theirs: dict[str, Any] = {}
        for n in counts:
            smaller = theirs.get(str(counts[0]))
            if smaller and smaller["seconds"] * n / counts[0] > COMPETITOR_BROADCAST_LIMIT:
                theirs[str(n)] = self.extrapolate(smaller, n)
                continue
            try:
                theirs[str(n)] = self.competitor_broadcast(
                    channel(n, "n"), latency_ms=0, timeout=COMPETITOR_BROADCAST_TIMEOUT
                )
            except subprocess.TimeoutExpired:
                if not smaller:
                    raise
                theirs[str(n)] = self.extrapolate(smaller, n)
                theirs[str(n)]["timed_out_after"] = COMPETITOR_BROADCAST_TIMEOUT
        self.results["caller"]["theirs"] = theirs

    @staticmethod
    def extrapolate(measured: dict[str, Any], count: int) -> dict[str, Any]:
        factor = count / measured["count"]
        log(f"theirs: {count:,} extrapolated linearly from {measured['count']:,}")
        return {
            "count": count,
            "extrapolated": True,
            "from_count": measured["count"],
            "seconds": round(measured["seconds"] * factor, 1),
            "call_ms": round(measured["call_ms"] * factor, 0),
        }

    def competitor_broadcast(
        self,
        target: dict[str, Any],
        latency_ms: float,
        idle_workers: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        log(f"theirs: broadcast to {target['count']:,} at {latency_ms} ms")
        pids = {**self.pids, "workers": idle_workers} if idle_workers else self.pids
        self.gateway.prepare(
            latency_ms, [(WARM["prefix"], WARM["count"]), (target["prefix"], target["count"])]
        )
        result = self.side(
            "theirs",
            "broadcast",
            {"channel": target["name"], "count": target["count"], "pids": pids},
            timeout=timeout,
        )
        result["verify"] = self.gateway.verify(target["prefix"], target["count"])
        return result

    def delivery(self) -> None:
        """Delivery rate at each latency: the median of a few trials per side.

        Trials alternate between the sides, so a machine whose speed drifts over minutes
        treats both alike. Our workers stay up throughout; while the competitor runs they
        are idle, and their CPU then is recorded too (it stays near zero).
        """
        target = channel(self.scale["delivery"], "d")
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {"ours": {}, "theirs": {}}
        with (self.workdir / "workers.log").open("ab") as worker_log:
            workers = services.Workers(
                self.env["ours"], self.args.pool, self.args.concurrency, worker_log
            )
            try:
                for latency in DELIVERY_LATENCIES_MS:
                    for _ in range(self.scale["trials"]):
                        runs["ours"].setdefault(str(latency), []).append(
                            self.our_delivery(target, latency, workers.pid)
                        )
                        runs["theirs"].setdefault(str(latency), []).append(
                            self.competitor_broadcast(target, latency, workers.pid)
                        )
            finally:
                workers.stop()
        services.flush_broker()
        for side, by_latency in runs.items():
            self.results["delivery"][side] = {
                latency: median_run(trials) for latency, trials in by_latency.items()
            }
        for latency, ours in runs["ours"].items():
            self.results["delivery"]["ours"][latency]["paired_ratios"] = [
                round(mine["rate"] / their["rate"], 2)
                for mine, their in zip(ours, runs["theirs"][latency], strict=True)
            ]

    def our_delivery(
        self, target: dict[str, Any], latency_ms: float, worker_pid: int
    ) -> dict[str, Any]:
        log(f"ours: delivery to {target['count']:,} at {latency_ms} ms")
        self.gateway.prepare(
            latency_ms, [(WARM["prefix"], WARM["count"]), (target["prefix"], target["count"])]
        )
        result = self.side(
            "ours",
            "deliver",
            {
                "channel": target["name"],
                "count": target["count"],
                "pids": {**self.pids, "workers": worker_pid},
                "timeout": 900,
            },
        )
        result["verify"] = self.gateway.verify(target["prefix"], target["count"])
        return result

    def cleanup(self) -> None:
        rows = self.scale["cleanup"]
        for side in ("ours", "theirs"):
            log(f"{side}: cleanup of {rows:,} stale sessions")
            self.results["cleanup"][side] = self.side(side, "cleanup", {"rows": rows})

    def close(self) -> None:
        self.gateway.stop()


def notes(bench: Bench) -> list[str]:
    """How the run was arranged, for ``results.md``."""
    facts = bench.results["meta"]["competitor"]
    items = [
        "Gateway: the project's local Management API (`create_management_app`) in its own "
        "child process of the driver (one asyncio process, not in any measured process), "
        "shared by both sides; it is reset, given the injected latency and the recipients' "
        "virtual connection ids before each delivery measurement. Its CPU use is in the "
        f"CPU table below: on this {bench.results['meta']['cpus']}-CPU machine it competes "
        "with whichever side runs.",
        f"Our workers: `celery -A worker worker -P {bench.args.pool} "
        f"-c {bench.args.concurrency} -Q {services.QUEUES}` as a child process "
        "(DJANGO_SETTINGS_MODULE=benchmarks.settings, Redis DB 13), running during the "
        "delivery measurements only (idle while the competitor's trials run: their CPU then "
        "is in the raw results as `workers`). Delivery settings are the product defaults "
        "(batches of 500, 32 posting threads per process, `delivery_transport` `direct`: "
        "SigV4-signed keep-alive HTTP built from the boto3 client of `get_boto3_client`).",
        "Caller's time (1): ours is the median of "
        f"{bench.scale['repeats']} calls after one warm-up call, with a real Redis broker and "
        "no worker consuming (the queued tasks were discarded afterwards); theirs is one "
        "`queryset.send_message` call at 0 ms latency, which posts every message before "
        "returning.",
        "Delivery rate (2): ours from the `send_to_channel` call until the report's "
        "`finished`; theirs the recipients divided by the duration of their "
        "`queryset.send_message`; the median of "
        f"{bench.scale['trials']} trials per side, ours and theirs alternating. Each side "
        "first warms up with a broadcast to "
        f"{common.WARM_COUNT:,} other connections. Every recipient's delivery is counted by "
        "the gateway afterwards (see `verify` in the raw results).",
        "CPU (3): user+system time from /proc of the worker process tree (ours) and of the "
        "caller process (theirs, `time.process_time`). Gateway, PostgreSQL and Redis CPU "
        "are listed separately below and are in neither figure, nor is our caller's (which "
        "makes the call, then polls the report); 'Machine busy' is all the "
        f"CPU the machine spent meanwhile (at most {bench.results['meta']['cpus']} s per "
        "second here), 'Other processes' the part of it none of those explains (with the "
        "busiest other processes named), and 'Stolen' the hypervisor's steal time.",
        f"Competitor: {facts['version']} as installed in `benchmarks/.venv-competitor`. Its "
        "`QuerySet.send_message` selects the recipients, groups them per gateway and posts "
        f"from a `ThreadPoolExecutor` of `BROADCAST_MAX_WORKERS = "
        f"{facts['broadcast_max_workers']}` threads in the caller, through one cached boto3 "
        f"client per gateway (10 pooled connections, up to {facts['broadcast_max_attempts']} "
        "attempts), then marks gone sessions in one UPDATE. The only change made to it: "
        "`models.get_boto3_client` is wrapped so that its `endpoint_url` argument "
        "(`https://{api_id}.execute-api.{region}.amazonaws.com/{stage}`) is replaced by the "
        "local gateway's URL for the same stage.",
        'Queries (4): one `$default` message event (body `{"action": "chat"}`, falling '
        "back to `default`) posted with Django's test Client to a minimal `WebSocketView` "
        "subclass whose `default` does no work, after one warm-up event; counted with "
        "`CaptureQueriesContext`.",
        "Cleanup (5): the stale rows are inserted with one `INSERT ... SELECT "
        "generate_series` followed by `VACUUM ANALYZE`; every statement of "
        "`delete_stale_sessions()` (ours) or `clearWebSocketSessions` (theirs) is timed "
        "with `connection.execute_wrapper`.",
    ]
    overrides = bench.results["meta"]["websockets_overrides"]
    if overrides:
        items.append(f"EXPERIMENT: our engine settings were overridden with {overrides}.")
    theirs = bench.results["caller"]["theirs"]
    for count, run in theirs.items():
        if run.get("extrapolated"):
            items.append(
                f"Their {int(count):,}-recipient caller's time is EXTRAPOLATED linearly from "
                f"the measured {run['from_count']:,}-recipient broadcast ("
                + (
                    f"the measured run had not finished after {run['timed_out_after']:.0f} s"
                    if "timed_out_after" in run
                    else f"it would take more than {COMPETITOR_BROADCAST_LIMIT:.0f} s"
                )
                + "; their rate falls as N grows, so the real figure is likely longer)."
            )
    return items


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The trial with the median rate, noting every trial's rate."""
    ordered = sorted(runs, key=lambda run: run["rate"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["trial_rates"] = [run["rate"] for run in runs]
    chosen["all_delivered"] = all(
        run["verify"]["received"] == run["verify"]["expected"] for run in runs
    )
    return chosen


def ensure_project_interpreter() -> None:
    """Re-run under the project's virtualenv when started with another Python."""
    try:
        import django  # noqa: F401
        import psycopg  # noqa: F401
        import redis  # noqa: F401
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
        raise


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "django_aws_api_gateway_websockets"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/10 scale; skips 100k and 1M")
    parser.add_argument("--pool", default="prefork", help="Celery pool of our workers")
    parser.add_argument(
        "--concurrency", type=int, default=os.cpu_count() or 2, help="Celery worker processes"
    )
    parser.add_argument("--output", type=Path, help="where to write the markdown results")
    parser.add_argument("--keep-databases", action="store_true")
    args = parser.parse_args()
    output = args.output or services.BENCH_DIR / (
        "results-quick.md" if args.quick else "results.md"
    )

    started = time.monotonic()
    services.ensure_competitor_venv()
    workdir = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    log(f"logs in {workdir}")
    bench = Bench(args, workdir)
    try:
        bench.results["meta"] = {
            "quick": args.quick,
            "command": "python benchmarks/run.py" + (" --quick" if args.quick else ""),
            "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "load_average_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "speed_check_ns_at_start": common.speed_check(),
            "scale": bench.scale,
            "workers": {"pool": args.pool, "concurrency": args.concurrency},
            "websockets_overrides": os.environ.get("BENCH_WEBSOCKETS_OVERRIDES") or None,
            "ours_commit": git_commit(),
            "competitor": bench.side("theirs", "facts", {}),
            "logs": str(workdir),
        }
        bench.setup()
        bench.messages()
        bench.caller()
        bench.delivery()
        bench.cleanup()
    finally:
        bench.close()
        services.flush_broker()
        if not args.keep_databases:
            for database in services.DATABASES.values():
                services.drop_database(database)
    bench.results["meta"]["speed_check_ns_at_end"] = common.speed_check()
    bench.results["meta"]["duration_seconds"] = round(time.monotonic() - started, 1)
    rows = report.build_rows(bench.results)
    print(report.markdown_table(rows))
    print(f"\nTook {bench.results['meta']['duration_seconds']:.0f} s; written to {output}")
    output.write_text(report.write_markdown(bench.results, rows, notes(bench)))
    return 0


if __name__ == "__main__":
    ensure_project_interpreter()
    sys.exit(main())

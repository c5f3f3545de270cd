"""One run's measurements, in order, made the same way for both sides.

Each measurement runs a phase of ``side.py`` per side (a fresh process each time) and keeps
its result; between phases the driver prepares the gateway, the broker and our workers.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

from benchmarks import common, services
from benchmarks.cpu import service_pid
from benchmarks.services import log

SIDES = ("ours", "theirs")
# Extrapolate the competitor's 100k broadcast when the 10k one predicts more than this many
# seconds, or when it has not finished after the second figure.
COMPETITOR_BROADCAST_LIMIT = 180.0
COMPETITOR_BROADCAST_TIMEOUT = 420.0
DELIVERY_LATENCIES_MS = (0, 20)
DELIVERY_TIMEOUT = 900.0


# Recipient counts of every measurement; ``--quick`` is 1/10 and skips 100k and 1M.
FULL_SCALE = {
    "caller": [10_000, 100_000],
    "delivery": 20_000,
    "cleanup": 1_000_000,
    "repeats": 5,
    "trials": 3,
}
QUICK_SCALE = {"caller": [1_000], "delivery": 2_000, "cleanup": 100_000, "repeats": 5, "trials": 1}


def channel(count: int, kind: str) -> dict[str, Any]:
    """A channel of ``count`` sessions; its name is also its connection ids' prefix."""
    name = f"{kind}{count}"
    return {"name": name, "prefix": f"{name}-", "count": count}


WARM = {"name": common.WARM_CHANNEL, "prefix": "warm-", "count": common.WARM_COUNT}
MESSAGE = {"name": "msg", "prefix": "msg-", "count": 1}


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The trial with the median rate, noting every trial's rate."""
    ordered = sorted(runs, key=lambda run: run["rate"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["trial_rates"] = [run["rate"] for run in runs]
    chosen["all_delivered"] = all(
        run["verify"]["received"] == run["verify"]["expected"] for run in runs
    )
    return chosen


def extrapolate(measured: dict[str, Any], count: int) -> dict[str, Any]:
    """The competitor's caller's time for ``count`` recipients, scaled linearly."""
    factor = count / measured["count"]
    log(f"theirs: {count:,} extrapolated linearly from {measured['count']:,}")
    return {
        "count": count,
        "extrapolated": True,
        "from_count": measured["count"],
        "seconds": round(measured["seconds"] * factor, 1),
        "call_ms": round(measured["call_ms"] * factor, 0),
    }


class Bench:
    """One run: the services, both sides and the results collected so far."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.scale = QUICK_SCALE if args.quick else FULL_SCALE
        self.workdir = workdir
        self.gateway = services.Gateway((workdir / "gateway.log").open("ab"))
        self.env = {side: services.side_env(side, self.gateway.url) for side in SIDES}
        pids = {
            "gateway": self.gateway.pid,
            "postgres": service_pid("postgres"),
            "redis": service_pid("redis-server"),
        }
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.results: dict[str, Any] = {"caller": {}, "delivery": {}, "cleanup": {}}

    def side(
        self, side: str, phase: str, args: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        log_path = self.workdir / f"{side}.log"
        return services.run_side(side, phase, args, self.env[side], log_path, timeout=timeout)

    def setup(self) -> None:
        counts = [channel(n, "n") for n in self.scale["caller"]]
        channels = [WARM, MESSAGE, *counts, channel(self.scale["delivery"], "d")]
        for side in SIDES:
            services.drop_database(services.DATABASES[side], create=True)
            log(f"setting up {services.DATABASES[side]}")
            self.results.setdefault("setup", {})[side] = self.side(
                side, "setup", {"channels": channels}
            )
        services.flush_broker()

    def messages(self) -> None:
        log("queries per $default message event")
        connection_id = common.connection_ids(MESSAGE["prefix"], 1)[0]
        self.results["messages"] = {
            side: self.side(side, "messages", {"connection_id": connection_id}) for side in SIDES
        }

    def caller(self) -> None:
        """Caller's time: ours from its own phase; theirs is a whole delivery at 0 ms."""
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
                theirs[str(n)] = extrapolate(smaller, n)
                continue
            try:
                theirs[str(n)] = self.deliver(
                    "theirs", channel(n, "n"), 0, self.pids, timeout=COMPETITOR_BROADCAST_TIMEOUT
                )
            except subprocess.TimeoutExpired:
                if not smaller:
                    raise
                theirs[str(n)] = extrapolate(smaller, n)
                theirs[str(n)]["timed_out_after"] = COMPETITOR_BROADCAST_TIMEOUT
        self.results["caller"]["theirs"] = theirs

    def deliver(
        self,
        side: str,
        target: dict[str, Any],
        latency_ms: float,
        pids: dict[str, int],
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One side's broadcast to ``target`` through a freshly reset gateway, verified."""
        log(f"{side}: delivery to {target['count']:,} at {latency_ms} ms")
        self.gateway.prepare(latency_ms, [WARM, target])
        args = {"channel": target["name"], "count": target["count"], "pids": pids}
        result = self.side(side, "deliver", {**args, "timeout": DELIVERY_TIMEOUT}, timeout)
        result["verify"] = self.gateway.verify(target)
        return result

    def delivery(self) -> None:
        """Delivery rate at each latency: the median of a few trials per side.

        Trials alternate between the sides, so a machine whose speed drifts over minutes
        treats both alike. Our workers stay up throughout; while the competitor runs they
        are idle, and their CPU then is recorded too (it stays near zero).
        """
        target = channel(self.scale["delivery"], "d")
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {side: {} for side in SIDES}
        with (
            (self.workdir / "workers.log").open("ab") as worker_log,
            services.workers(
                self.env["ours"], self.args.pool, self.args.concurrency, worker_log
            ) as workers_pid,
        ):
            pids = {**self.pids, "workers": workers_pid}
            for latency in DELIVERY_LATENCIES_MS:
                for _ in range(self.scale["trials"]):
                    for side in SIDES:
                        runs[side].setdefault(str(latency), []).append(
                            self.deliver(side, target, latency, pids)
                        )
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

    def cleanup(self) -> None:
        rows = self.scale["cleanup"]
        for side in SIDES:
            log(f"{side}: cleanup of {rows:,} stale sessions")
            self.results["cleanup"][side] = self.side(side, "cleanup", {"rows": rows})

    def close(self) -> None:
        self.gateway.stop()

"""Real time under load: small sends during a broadcast, and a broadcast under throttling.

``python benchmarks/lanes.py`` measures, for this checkout and for ``main`` (checked out at
a temporary path with ``git worktree``; ``--no-main`` prints the figures issue 17 gave for it
instead), with two ``celery -A worker worker`` instances started as the README says (prefork,
default concurrency, every queue) and the local Management API at 20 ms per post:

- lanes: 20 sends to channels of one member, 200 ms apart, made with
  ``WebSocketSession.objects.filter(channel_name=...).send_message(...)`` while a broadcast to
  N recipients is delivered; the time from ``send_message()`` returning until the Management
  API has the post (the gateway's own clock, the same machine's), median and worst; and the
  broadcast's rate with and without the small sends.
- throttling: the local Management API throttles as a token bucket of 1,000/s, burst 500;
  ``post_rate_limit``/``post_rate_burst`` are set to the same; a 20,000-recipient broadcast:
  its time against the ideal ``(N - burst) / rate``, the share of posts answered 429, and
  how many recipients failed.

It needs PostgreSQL on 127.0.0.1:5432 (database ``bench_lanes_<side>``, dropped at the end) and
Redis on 127.0.0.1:6379 (database 9, flushed between runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BROKER_URL = "redis://127.0.0.1:6379/9"
LATENCY_MS = 20
CHAT_SENDS = 20
CHAT_INTERVAL = 0.2
THROTTLE = {"rate_limit": 1000, "rate_burst": 500}
# Issue 17's figures for main (two workers, 20 ms, 20,000 recipients), for --no-main.
PREVIOUS = {
    "lanes": {"median_ms": 4000, "worst_ms": 5900},
    "throttle": {"seconds": 23.7, "ideal": 19.5, "share_429": 0.64, "failed": 248},
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# The side's process ---------------------------------------------------------------------


def gateway_call(method: str, path: str, body: Any = None) -> Any:
    url = os.environ["BENCH_GATEWAY_URL"] + path
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def wait_finished(report_id: Any, timeout: float) -> dict[str, Any]:
    from django_aws_api_gateway_websockets.models import DeliveryReport

    deadline = time.monotonic() + timeout
    while True:
        row = (
            DeliveryReport.objects.filter(pk=report_id, finished__isnull=False)
            .values("recipients", "delivered", "gone", "failed", "retried", "started", "finished")
            .first()
        )
        if row:
            return row
        if time.monotonic() > deadline:
            raise TimeoutError(f"delivery {report_id} not finished in {timeout} s")
        time.sleep(0.2)


def broadcast(name: str, count: int, during: Any = None) -> dict[str, Any]:
    """Send to channel ``name`` and wait; ``during()`` runs meanwhile. Rate and outcome."""
    from django_aws_api_gateway_websockets.models import WebSocketSession

    called = time.time()
    report = WebSocketSession.objects.send_to_channel(name, {"type": "broadcast"})
    extra = during() if during else None
    row = wait_finished(report.pk, 900)
    seconds = row["finished"].timestamp() - called
    return {
        "count": count,
        "seconds": round(seconds, 2),
        "rate": round(count / seconds, 1),
        "delivered": row["delivered"],
        "failed": row["failed"],
        "retried": row["retried"],
        "extra": extra,
    }


def chat_sends(prefix: str) -> list[float]:
    """20 sends to one-member channels, 200 ms apart; each one's latency in ms."""
    from django_aws_api_gateway_websockets.models import WebSocketSession

    time.sleep(1.0)  # the broadcast's batches are queued by now
    returned: dict[str, float] = {}
    # Deliveries each connection had before (an earlier trial's): the next one is this send's.
    before = {
        f"{prefix}{n}-0000001": gateway_call("GET", f"/@local/deliveries/{prefix}{n}-0000001")[
            "deliveries"
        ]
        for n in range(CHAT_SENDS)
    }
    start = time.monotonic()
    for n in range(CHAT_SENDS):
        name = f"{prefix}{n}"
        WebSocketSession.objects.filter(channel_name=name).send_message({"type": "chat"})
        returned[f"{name}-0000001"] = time.time()
        time.sleep(max(0.0, start + (n + 1) * CHAT_INTERVAL - time.monotonic()))
    latencies = []
    for connection_id, at in returned.items():
        deadline = time.monotonic() + 300
        while True:
            seen = gateway_call("GET", f"/@local/deliveries/{connection_id}")
            if seen["deliveries"] > before[connection_id]:
                latencies.append((seen["last_delivered_at"] - at) * 1000)
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{connection_id} never received its message")
            time.sleep(0.1)
    return latencies


def phase(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    import django

    django.setup()
    from django_aws_api_gateway_websockets.models import WebSocketSession

    warm = WebSocketSession.objects.send_to_channel("warm", {"type": "warm"})
    wait_finished(warm.pk, 300)
    name, count = args["channel"], args["count"]
    if kind == "throttle":
        before = gateway_call("GET", "/@local/stats")
        result = broadcast(name, count)
        after = gateway_call("GET", "/@local/stats")
        posts = after["posts_received"] - before["posts_received"]
        throttled = after["throttled_answers"] - before["throttled_answers"]
        ideal = (count - THROTTLE["rate_burst"]) / THROTTLE["rate_limit"]
        return {
            **result,
            "ideal": ideal,
            "ratio": round(result["seconds"] / ideal, 3),
            "posts": posts,
            "throttled": throttled,
            "share_429": round(throttled / posts, 4) if posts else 0,
        }
    # Alone and with small sends, alternating, so both meet the same machine (it is shared).
    alone, loaded, latencies = [], [], []
    for _ in range(args.get("trials", 1)):
        if args.get("baseline"):
            alone.append(broadcast(name, count))
        run = broadcast(name, count, lambda: chat_sends(args["chat_prefix"]))
        latencies.extend(run.pop("extra"))
        loaded.append(run)
    rate_alone = statistics.median(r["rate"] for r in alone) if alone else None
    rate_loaded = statistics.median(r["rate"] for r in loaded)
    return {
        "count": count,
        "sends": len(latencies),
        "alone": alone,
        "with_chat": loaded,
        "rate_alone": rate_alone,
        "rate_with_chat": rate_loaded,
        "median_ms": round(statistics.median(latencies), 1),
        "worst_ms": round(max(latencies), 1),
        "latencies_ms": [round(x, 1) for x in latencies],
        "rate_change": round(rate_loaded / rate_alone - 1, 3) if rate_alone else None,
    }


# The driver -----------------------------------------------------------------------------


def database(name: str, *, create: bool) -> None:
    import psycopg

    if not name.startswith("bench_lanes_"):
        raise ValueError(name)
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()


def side_env(root: Path, db: str, gateway_url: str, overrides: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        {
            "BENCH_SIDE": "ours",
            "BENCH_GATEWAY_URL": gateway_url,
            "BENCH_DB": db,
            "BENCH_BROKER_URL": BROKER_URL,
            "BENCH_WEBSOCKETS_OVERRIDES": json.dumps(overrides),
            "PYTHONPATH": str(root),
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def run(command: list[str], root: Path, env: dict[str, str], log_file: Path) -> dict[str, Any]:
    with log_file.open("ab") as out:
        done = subprocess.run(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=out)
    if done.returncode:
        raise RuntimeError(f"{command[:4]} failed; see {log_file}")
    lines = [line for line in done.stdout.decode().splitlines() if line.startswith("BENCH-RESULT ")]
    return json.loads(lines[-1].removeprefix("BENCH-RESULT "))


@contextlib.contextmanager
def workers(root: Path, env: dict[str, str], log_file: Path) -> Iterator[list[int]]:
    """Two ``celery -A worker worker`` instances of ``root``, as the README starts them."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.services import stop
    from worker.command import worker_command

    processes = []
    with log_file.open("ab") as out:
        for n in (1, 2):
            command = worker_command(hostname=f"lanes{n}-{os.getpid()}@%h")
            processes.append(
                subprocess.Popen(
                    command, cwd=root, env=env, stdout=out, stderr=out, start_new_session=True
                )
            )
    try:
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            stop(process, grace=30, group=True)


def main_worktree() -> Path:
    path = Path(tempfile.gettempdir()) / "ws-lanes-main"
    subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False, capture_output=True)
    if not (path / "worker").exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--force", str(path), "main"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return path


def measure(
    side: str, root: Path, scales: list[int], gateway: Any, workdir: Path
) -> dict[str, Any]:
    db = f"bench_lanes_{side}"
    database(db, create=True)
    channels = [{"name": f"big{n}", "prefix": f"big{n}-", "count": n} for n in scales]
    chat = [{"name": f"chat{n}", "prefix": f"chat{n}-", "count": 1} for n in range(CHAT_SENDS)]
    warm = {"name": "warm", "prefix": "warm-", "count": 2000}
    env = side_env(root, db, gateway.url, {})
    log_file = workdir / f"{side}.log"
    side_py = str(root / "benchmarks" / "side.py")
    here = str(Path(__file__).resolve())
    results: dict[str, Any] = {"lanes": {}, "throttle": []}
    try:
        log(f"{side}: setting up {sum(c['count'] for c in channels):,} sessions")
        run(
            [sys.executable, side_py, "setup", json.dumps({"channels": [warm, *channels, *chat]})],
            root,
            env,
            log_file,
        )
        for channel in channels:
            gateway.prepare(LATENCY_MS, [warm, channel, *chat])
            flush_broker()
            with workers(root, env, log_file):
                log(f"{side}: lanes during a {channel['count']:,} broadcast")
                args = {
                    "channel": channel["name"],
                    "count": channel["count"],
                    "chat_prefix": "chat",
                    "baseline": channel["count"] == scales[0],
                    "trials": 2 if channel["count"] == scales[0] else 1,
                }
                results["lanes"][channel["count"]] = run(
                    [sys.executable, here, "--phase", "lanes", json.dumps(args)],
                    root,
                    env,
                    log_file,
                )
                log(f"{side}: {json.dumps(results['lanes'][channel['count']])[:300]}")
        throttled_env = side_env(
            root,
            db,
            gateway.url,
            {"post_rate_limit": THROTTLE["rate_limit"], "post_rate_burst": THROTTLE["rate_burst"]},
        )
        channel = channels[0]
        for trial in range(2):
            gateway.prepare(LATENCY_MS, [warm, channel])
            flush_broker()
            with workers(root, throttled_env, log_file):
                gateway._call("POST", "/@local/faults", dict(THROTTLE))
                log(f"{side}: throttled broadcast, trial {trial + 1}")
                args = {"channel": channel["name"], "count": channel["count"]}
                result = run(
                    [sys.executable, here, "--phase", "throttle", json.dumps(args)],
                    root,
                    throttled_env,
                    log_file,
                )
                gateway._call("POST", "/@local/faults", {"rate_limit": 0, "rate_burst": 0})
                results["throttle"].append(result)
                log(f"{side}: {json.dumps(result)[:300]}")
    finally:
        database(db, create=False)
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| figure | target | previous (main) | this branch |",
        "|---|---|---|---|",
    ]
    main = results.get("main")
    ours = results["ours"]

    def lanes_cell(side: dict[str, Any] | None, count: int, key: str) -> str:
        if side is None:
            return f"{PREVIOUS['lanes'][key]:,} ms (issue 17)" if count == 20_000 else "-"
        entry = side["lanes"].get(count) or side["lanes"].get(str(count))
        return f"{entry[key]:,.0f} ms" if entry else "-"

    for count in sorted(int(c) for c in ours["lanes"]):
        for key, target in (("median_ms", "<= 250 ms"), ("worst_ms", "<= 500 ms")):
            label = "median" if key == "median_ms" else "worst"
            lines.append(
                f"| small send during a {count:,} broadcast, {label} | {target} | "
                f"{lanes_cell(main, count, key)} | {lanes_cell(ours, count, key)} |"
            )

    def rate_cell(side: dict[str, Any] | None) -> str:
        if side is None:
            return "-"
        first = side["lanes"].get(sorted(side["lanes"], key=int)[0])
        if not first or not first.get("rate_alone"):
            return "-"
        return (
            f"{first['rate_alone']:,.0f} / {first['rate_with_chat']:,.0f} msg/s "
            f"({first['rate_change']:+.1%})"
        )

    lines.append(
        "| broadcast rate alone / with the small sends (median of 2 each) | fall <= 10% | "
        f"{rate_cell(main)} | {rate_cell(ours)} |"
    )

    def throttle_cell(side: dict[str, Any] | None) -> str:
        if side is None:
            p = PREVIOUS["throttle"]
            return (
                f"{p['seconds']} s ({p['seconds'] / p['ideal']:.2f}x), "
                f"{p['share_429']:.0%} 429s, {p['failed']} failed (issue 17)"
            )
        return "; ".join(
            f"{t['seconds']} s ({t['ratio']:.2f}x), {t['share_429']:.1%} 429s, {t['failed']} failed"
            for t in side["throttle"]
        )

    lines.append(
        "| 20,000 at 1,000/s burst 500 (ideal 19.5 s) | <= 1.15x, <= 5% 429s, 0 failed | "
        f"{throttle_cell(main)} | {throttle_cell(ours)} |"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--scales", default="20000,100000", help="broadcast sizes")
    parser.add_argument("--no-main", action="store_true", help="print issue 17's figures instead")
    parser.add_argument("--output", type=Path, help="write the results as JSON here too")
    options = parser.parse_args()
    if options.phase:
        result = phase(options.phase, json.loads(options.args))
        print("BENCH-RESULT " + json.dumps(result, default=str), flush=True)
        return 0

    sys.path.insert(0, str(ROOT))
    from benchmarks.services import Gateway

    scales = [int(n) for n in options.scales.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="ws-lanes-"))
    log(f"logs in {workdir}")
    results: dict[str, Any] = {"load_average_at_start": load_average()}
    with (workdir / "gateway.log").open("ab") as gateway_log:
        gateway = Gateway(gateway_log)
        try:
            if not options.no_main:
                # Main's broadcast only at the first size: its small sends wait behind it all.
                main_root = main_worktree()
                try:
                    results["main"] = measure("main", main_root, scales[:1], gateway, workdir)
                finally:
                    subprocess.run(
                        ["git", "worktree", "remove", "--force", str(main_root)],
                        cwd=ROOT,
                        check=False,
                        capture_output=True,
                    )
            results["ours"] = measure("ours", ROOT, scales, gateway, workdir)
        finally:
            gateway.stop()
            flush_broker()
    results["load_average_at_end"] = load_average()
    start, end = results["load_average_at_start"], results["load_average_at_end"]
    return print_and_save(results, table(results), start, end, options.output)


def load_average() -> str:
    """The machine's load average (1, 5, 15 min): the context every figure is read in."""
    return Path("/proc/loadavg").read_text()[:14]


def print_and_save(
    results: dict[str, Any], text: str, start: str, end: str, output: Path | None
) -> int:
    """Print the figures with the load they were measured under; save the raw results."""
    print(text)
    print(f"\nLoad average (1, 5, 15 min) at the start {start}, at the end {end} (2 cores).")
    if output:
        output.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

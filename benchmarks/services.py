"""What the driver starts and talks to: the gateway, workers, databases, Redis, both sides.

Every process started here is ended here, by its own id (or its own session's group).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from benchmarks import common
from django_aws_api_gateway_websockets.conf import package_queues
from project.settings import MIDDLEWARE
from worker.celery import DEFAULT_QUEUE
from worker.command import worker_command

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
COMPETITOR_VENV = BENCH_DIR / ".venv-competitor"
COMPETITOR_PYTHON = COMPETITOR_VENV / "bin" / "python"
COMPETITOR_VERSION = "4.1.0"
COMPETITOR_REQUIREMENTS = [
    f"django-aws-api-gateway-websockets=={COMPETITOR_VERSION}",
    "psycopg[binary]",
]
BROKER_URL = "redis://127.0.0.1:6379/13"
DATABASES = {"ours": "bench_ours", "theirs": "bench_theirs"}
QUEUES = ",".join([*package_queues(), DEFAULT_QUEUE])


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stop(process: subprocess.Popen[Any], grace: float, *, group: bool = False) -> None:
    """Terminate a child; after ``grace`` seconds kill it (with ``group``, its whole session)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()


def ensure_competitor_venv() -> None:
    """Create ``benchmarks/.venv-competitor`` with 4.1.0 from PyPI unless it is already there."""

    def installed() -> str | None:
        if not COMPETITOR_PYTHON.exists():
            return None
        probe = subprocess.run(
            [
                str(COMPETITOR_PYTHON),
                "-c",
                "import importlib.metadata as m, psycopg;"
                "print(m.version('django-aws-api-gateway-websockets'))",
            ],
            capture_output=True,
            text=True,
            cwd="/",
            check=False,
        )
        return probe.stdout.strip() if probe.returncode == 0 else None

    if installed() == COMPETITOR_VERSION:
        return
    log(f"creating {COMPETITOR_VENV} with {' '.join(COMPETITOR_REQUIREMENTS)}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(COMPETITOR_VENV)], check=True)
    pip = [str(COMPETITOR_PYTHON), "-m", "pip", "install", "-q", *COMPETITOR_REQUIREMENTS]
    subprocess.run(pip, check=True)
    if installed() != COMPETITOR_VERSION:
        raise RuntimeError(f"the competitor's venv does not hold version {COMPETITOR_VERSION}")


def drop_database(name: str, *, create: bool = False) -> None:
    """Drop one benchmark database (never any other) and, with ``create``, create it afresh."""
    import psycopg

    if name not in DATABASES.values():
        raise ValueError(f"not a benchmark database: {name}")
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def flush_broker() -> int:
    """Empty the benchmark's Redis database; return how many keys it held."""
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    keys = client.dbsize()
    client.flushdb()
    return keys


class Gateway:
    """The local gateway child process (``benchmarks/gateway.py``) and its control API."""

    def __init__(self, log_file: IO[bytes]) -> None:
        script = str(BENCH_DIR / "gateway.py")
        self.process = subprocess.Popen(
            [sys.executable, script, "--api-id", common.API_ID, "--stage", common.STAGE],
            # This checkout's gateway, even where another one of the project is installed.
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            self.stop()
            raise RuntimeError("the local gateway did not start; see its log")
        self.url = f"http://127.0.0.1:{json.loads(line)['port']}"
        self.pid = self.process.pid

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def prepare(self, latency_ms: float, channels: list[dict[str, Any]]) -> None:
        """Reset counters and connections, set the latency, register the channels' ids."""
        self._call("POST", "/@local/reset")
        self._call("POST", "/@local/faults", {"latency_ms": latency_ms})
        for channel in channels:
            ids = common.connection_ids(channel["prefix"], channel["count"])
            # The control API reads at most 1 MiB per request.
            for start in range(0, len(ids), 20_000):
                batch = {"ids": ids[start : start + 20_000]}
                self._call("POST", "/@local/virtual-connections", batch)

    def verify(self, channel: dict[str, Any]) -> dict[str, Any]:
        """How many of a channel's ids received at least one message, and any duplicates."""
        stats = self._call("GET", "/@local/stats?detail=1")
        per_connection = stats.pop("deliveries_per_connection")
        ids = common.connection_ids(channel["prefix"], channel["count"])
        received = [per_connection.get(i, 0) for i in ids]
        return {
            "expected": channel["count"],
            "received": sum(1 for n in received if n),
            "duplicates": sum(n - 1 for n in received if n > 1),
            "gateway": stats,
        }

    def stop(self) -> None:
        # A closed stdin alone makes the gateway stop (so it never outlives a crashed driver).
        if self.process.stdin:
            self.process.stdin.close()
        stop(self.process, grace=15)


@contextlib.contextmanager
def workers(env: dict[str, str], pool: str, concurrency: int, log_file: IO[bytes]) -> Iterator[int]:
    """Our Celery workers as a child process in its own session; yields its pid."""
    command = worker_command(
        pool=pool, concurrency=concurrency, queues=QUEUES, hostname=f"bench-{os.getpid()}@%h"
    )
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log_file, stderr=log_file, start_new_session=True
    )
    try:
        yield process.pid
    finally:
        # A warm shutdown; then the worker's whole session (prefork children) if it hangs.
        stop(process, grace=30, group=True)


def side_env(side: str, gateway_url: str) -> dict[str, str]:
    """The environment of one side's processes (and, for ours, of the workers)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        {
            "BENCH_SIDE": side,
            "BENCH_GATEWAY_URL": gateway_url,
            "BENCH_DB": DATABASES[side],
            "BENCH_BROKER_URL": BROKER_URL,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if side == "ours":
        env.update({"PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "benchmarks.settings"})
    else:
        # Only this folder on the path: the project holds a package of the same import name.
        env.update(
            {"DJANGO_SETTINGS_MODULE": "settings", "BENCH_MIDDLEWARE": json.dumps(MIDDLEWARE)}
        )
    return env


def run_side(
    side: str,
    phase: str,
    args: dict[str, Any],
    env: dict[str, str],
    log_path: Path,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run one phase of one side in a fresh process (``side.py``) and return its result.

    Past ``timeout`` seconds the process is killed and ``subprocess.TimeoutExpired`` raised.
    """
    python = sys.executable if side == "ours" else str(COMPETITOR_PYTHON)
    with log_path.open("ab") as log_file:
        log_file.write(f"\n=== {side} {phase} {json.dumps(args)}\n".encode())
        log_file.flush()
        done = subprocess.run(
            [python, str(BENCH_DIR / "side.py"), phase, json.dumps(args)],
            cwd=ROOT if side == "ours" else BENCH_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            check=False,
            timeout=timeout,
        )
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{side} {phase} failed ({done.returncode}):\n{tail}")
    return common.parse_result(done.stdout)

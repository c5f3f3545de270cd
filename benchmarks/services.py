"""What the driver starts and talks to: the gateway, workers, databases, Redis, both sides.

Every process started here is ended here, by its own id (or its own session's group).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

from benchmarks import common

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
COMPETITOR_VENV = BENCH_DIR / ".venv-competitor"
COMPETITOR_PYTHON = COMPETITOR_VENV / "bin" / "python"
COMPETITOR_REQUIREMENTS = ["django-aws-api-gateway-websockets==4.1.0", "psycopg[binary]"]
COMPETITOR_VERSION = "4.1.0"
BROKER_URL = "redis://127.0.0.1:6379/13"
DATABASES = {"ours": "bench_ours", "theirs": "bench_theirs"}
QUEUES = "websockets.delivery,websockets.maintenance,celery"


class SideError(RuntimeError):
    """A side's phase failed; the message carries the end of its log."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# The competitor's virtualenv ---------------------------------------------------------------


def competitor_version() -> str | None:
    """The installed 4.1.0 version in the competitor's venv, or None if it is not usable."""
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


def ensure_competitor_venv() -> None:
    """Create ``benchmarks/.venv-competitor`` with 4.1.0 from PyPI unless it is already there."""
    if competitor_version() == COMPETITOR_VERSION:
        return
    log(f"creating {COMPETITOR_VENV} with {' '.join(COMPETITOR_REQUIREMENTS)}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(COMPETITOR_VENV)], check=True)
    subprocess.run(
        [str(COMPETITOR_PYTHON), "-m", "pip", "install", "-q", *COMPETITOR_REQUIREMENTS],
        check=True,
    )
    if competitor_version() != COMPETITOR_VERSION:
        raise RuntimeError("the competitor's venv does not hold version " + COMPETITOR_VERSION)


# Databases and broker ----------------------------------------------------------------------


def recreate_database(name: str) -> None:
    """Drop and create one benchmark database (never any other)."""
    import psycopg

    if name not in DATABASES.values():
        raise ValueError(f"not a benchmark database: {name}")
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_broker() -> int:
    """Empty the benchmark's Redis database; return how many keys it held."""
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    keys = client.dbsize()
    client.flushdb()
    return keys


def service_pid(command_name: str) -> int | None:
    """The root process of a running service (``postgres``, ``redis-server``), for CPU figures."""
    names: dict[int, tuple[str, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        names[int(entry)] = (comm, int(raw[raw.rindex(")") + 2 :].split()[1]))
    for pid, (comm, ppid) in sorted(names.items()):
        if comm == command_name and names.get(ppid, ("", 0))[0] != command_name:
            return pid
    return None


# The local Management API --------------------------------------------------------------------


class Gateway:
    """The local gateway child process (``benchmarks/gateway.py``) and its control API."""

    def __init__(self, log_file: IO[bytes]) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(BENCH_DIR / "gateway.py"),
                "--api-id",
                common.API_ID,
                "--stage",
                common.STAGE,
            ],
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

    @property
    def pid(self) -> int:
        return self.process.pid

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def prepare(self, latency_ms: float, channels: list[tuple[str, int]]) -> None:
        """Reset counters and connections, set the latency, register the channels' ids."""
        self._call("POST", "/@local/reset")
        self._call("POST", "/@local/faults", {"latency_ms": latency_ms})
        for prefix, count in channels:
            ids = common.connection_ids(prefix, count)
            # The control API reads at most 1 MiB per request.
            for start in range(0, len(ids), 20_000):
                self._call(
                    "POST", "/@local/virtual-connections", {"ids": ids[start : start + 20_000]}
                )

    def verify(self, prefix: str, count: int) -> dict[str, Any]:
        """How many of a channel's ids received at least one message, and any duplicates."""
        stats = self._call("GET", "/@local/stats?detail=1")
        per_connection = stats.pop("deliveries_per_connection")
        ids = common.connection_ids(prefix, count)
        received = [per_connection.get(i, 0) for i in ids]
        return {
            "expected": count,
            "received": sum(1 for n in received if n),
            "duplicates": sum(n - 1 for n in received if n > 1),
            "gateway": stats,
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin:
                self.process.stdin.close()
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# Celery workers --------------------------------------------------------------------------------


class Workers:
    """``celery -A worker worker`` as a child process of the driver, in its own session."""

    def __init__(
        self, env: dict[str, str], pool: str, concurrency: int, log_file: IO[bytes]
    ) -> None:
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "worker",
            "-P",
            pool,
            "-c",
            str(concurrency),
            "-Q",
            QUEUES,
            "-n",
            f"bench-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ]
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """Warm shutdown; then the worker's own process group if it hangs."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# The two sides -------------------------------------------------------------------------------


def side_env(side: str, gateway_url: str) -> dict[str, str]:
    """The environment of one side's processes (and, for ours, of the workers)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        {
            "BENCH_GATEWAY_URL": gateway_url,
            "BENCH_DB": DATABASES[side],
            "BENCH_BROKER_URL": BROKER_URL,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if side == "ours":
        env.update({"PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "benchmarks.settings"})
    else:
        env["DJANGO_SETTINGS_MODULE"] = "competitor_settings"
    return env


def run_side(
    side: str,
    phase: str,
    args: dict[str, Any],
    env: dict[str, str],
    log_path: Path,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run one phase of one side in a fresh process and return its result.

    Past ``timeout`` seconds the process is killed and ``subprocess.TimeoutExpired`` raised.
    """
    if side == "ours":
        command = [sys.executable, str(BENCH_DIR / "our_side.py")]
        cwd = ROOT
    else:
        # Not the project folder: it holds a package of the same import name.
        command = [str(COMPETITOR_PYTHON), str(BENCH_DIR / "competitor_side.py")]
        cwd = BENCH_DIR
    with log_path.open("ab") as log_file:
        log_file.write(f"\n=== {side} {phase} {json.dumps(args)}\n".encode())
        log_file.flush()
        done = subprocess.run(
            [*command, phase, json.dumps(args)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            check=False,
            timeout=timeout,
        )
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise SideError(f"{side} {phase} failed ({done.returncode}):\n{tail}")
    return common.parse_result(done.stdout)

"""Real processes for fault scenarios: a Redis of their own, prefork workers, beat, the web
side (``actions``), a database of their own and the local gateway counting deliveries.

Used by the fault tests and by ``benchmarks/faults.py``. Every process is started in its
own session and ended by its own group id.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dj_database_url

from django_aws_api_gateway_websockets.localgateway import (
    GatewayConfig,
    create_management_app,
    running_gateway,
)
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
API_ID, STAGE = "faults1", "test"
QUEUES = "websockets.realtime,websockets.delivery,websockets.maintenance,celery"
# Short leases and a recovery tick every second, so a scenario takes seconds, not minutes.
FAST_RECOVERY = {
    "delivery_lease_seconds": 4,
    "delivery_lease_renew_seconds": 1,
    "delivery_progress_every": 50,
    "delivery_retry_base_seconds": 0.2,
    "delivery_retry_max_seconds": 1,
}


class Process:
    """A child process in a session of its own, so that it and its children end together."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab"),
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole group at once (main process and pool children)."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kb(self) -> int:
        """Resident memory of the process and its children (KB), from /proc."""
        total = 0
        for pid in [self.popen.pid, *children(self.popen.pid)]:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
            )
        return total


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found]


class RedisServer:
    """A redis-server of our own on a free port, without persistence: a restart is empty."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no"]
        self.process = Process(args, dict(os.environ), self.log_dir / "redis.log")
        deadline = time.monotonic() + 10
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process:
            self.process.kill()


def postgres_url(base: str | None) -> str:
    """A new, empty PostgreSQL database on the server of ``base`` (or 127.0.0.1:5432)."""
    import psycopg

    params = dj_database_url.parse(base or "postgres://postgres@127.0.0.1:5432/postgres")
    name = f"faults_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    host = f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
    server = f"postgres://{params['USER'] or 'postgres'}@{host}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def drop_postgres(url: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate_connections(url: str) -> int:
    """``pg_terminate_backend`` every other connection to the database of ``url``."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return len(rows)


class System:
    """The whole delivery system around one database and one Redis, for one scenario."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        websockets: dict[str, Any],
        recovery_every: float = 1.0,
    ) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.redis = RedisServer(workdir)
        self.websockets = websockets
        self.recovery_every = recovery_every
        self.workers: list[Process] = []
        self.beat: Process | None = None
        self.gateway: Any = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "TEST_CELERY_EAGER": "0",
            "TEST_CELERY_BROKER_URL": self.redis.url,
            "TEST_BEAT_RECOVERY_SECONDS": str(self.recovery_every),
            "DATABASE_URL": self.database_url,
            "TEST_WEBSOCKETS": json.dumps(
                {
                    "management_endpoint": f"{self.gateway.base_url}/{{stage}}",
                    **self.websockets,
                }
            ),
            # Redis's own redelivery stays at its default: recovery must not depend on it.
            "CELERY_VISIBILITY_TIMEOUT": "3600",
        }

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def action(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "tests.faults.actions", *args],
            cwd=ROOT,
            env=self.env(),
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    def seed(self, count: int, channel: str) -> list[str]:
        ids = self.action("seed", str(count), channel, API_ID, STAGE)["ids"]
        self.gateway.state.add_virtual(ids)
        return ids

    def start_worker(self, processes: int = 2) -> Process:
        n = len(self.workers)
        command = (
            f"-m celery -A worker worker -P prefork -c {processes} -Q {QUEUES} -n faults{n}@%h "
            "--without-gossip --without-mingle -l WARNING"
        )
        worker = Process(
            [sys.executable, *command.split()],
            self.env(),
            self.workdir / f"worker-{n}.log",
        )
        self.workers.append(worker)
        return worker

    def start_beat(self) -> None:
        self.beat = Process(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker",
                "beat",
                "-S",
                "celery.beat:PersistentScheduler",
                "-s",
                str(self.workdir / "beat-schedule"),
                "-l",
                "WARNING",
            ],
            self.env(),
            self.workdir / "beat.log",
        )

    def start_web(self, port: int) -> Process:
        """Django behind the gateway (``runserver``, threaded), for real WebSocket clients."""
        web = Process(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            self.env(),
            self.workdir / "web.log",
        )
        self.workers.append(web)  # stopped with the workers
        return web

    def deliveries(self, ids: list[str]) -> list[int]:
        return [self.gateway.state.deliveries(cid) for cid in ids]

    def wait_delivered(self, ids: list[str], timeout: float) -> float:
        """Seconds until every connection of ``ids`` got at least one post (or raise)."""
        started = time.monotonic()
        while min(self.deliveries(ids)) < 1:
            if time.monotonic() - started > timeout:
                missing = sum(1 for c in self.deliveries(ids) if c < 1)
                raise TimeoutError(f"{missing} of {len(ids)} still undelivered after {timeout} s")
            time.sleep(0.1)
        return time.monotonic() - started

    def wait_posts(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.gateway.state.snapshot()["delivered"] < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} posts after {timeout} s")
            time.sleep(0.02)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.workdir.glob("*.log"))
        )


@contextmanager
def running_system(
    database_url: str,
    workdir: Path,
    websockets: dict[str, Any] | None = None,
    latency_ms: int = 20,
    recovery_every: float = 1.0,
    web_port: int | None = None,
) -> Iterator[System]:
    """A migrated database, a Redis, beat and the local gateway; workers are the caller's.

    Leases are ``FAST_RECOVERY``'s unless ``websockets`` says otherwise. With ``web_port``
    the gateway is the full one (real WebSockets forwarded to Django on that port), else
    the Management API alone.
    """
    system = System(database_url, workdir, {**FAST_RECOVERY, **(websockets or {})}, recovery_every)
    target = f"http://127.0.0.1:{web_port}/ws/" if web_port else "http://127.0.0.1:9/"
    config = GatewayConfig(api_id=API_ID, stage=STAGE, target_base_url=target)
    app = config if web_port else create_management_app(config)
    with running_gateway(app) as gateway:
        system.gateway = gateway
        gateway.state.set_faults(latency_ms=latency_ms)
        system.redis.start()
        try:
            system.manage("migrate", "-v", "0")
            system.start_beat()
            yield system
        finally:
            for process in [*system.workers, system.beat]:
                if process:
                    process.stop()
            system.redis.kill()

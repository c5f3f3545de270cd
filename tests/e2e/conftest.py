"""The whole demo system, as real processes, driven by a real browser.

``manage.py rundemo`` itself runs the system under test: it migrates a throwaway SQLite
database, registers the local gateway and the demo users (whose passwords it prints), then
supervises the web server, the local gateway and a real Celery worker on Redis (database 14,
emptied first; rundemo falls back to its filesystem broker if Redis is down). The tests
talk to those processes over HTTP and WebSockets only and read the shared database file
with ``sqlite3``, so no Django state of this pytest process is involved and pytest-django's
eager Celery settings do not apply to them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-output" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROKER_URL = os.environ.get("E2E_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
SESSIONS_TABLE = "django_aws_api_gateway_websockets_websocketsession"
TOKENS_TABLE = "django_aws_api_gateway_websockets_websockettoken"
REPORTS_TABLE = "django_aws_api_gateway_websockets_deliveryreport"
SUBSCRIPTIONS_TABLE = "django_aws_api_gateway_websockets_channelsubscription"
RATE_LIMIT_TABLE = "django_aws_api_gateway_websockets_connectionratelimit"
STARTUP_TIMEOUT = 45.0


def flush_redis(url: str) -> None:
    """Start from an empty broker database, so no task of an earlier run is replayed."""
    import redis

    with contextlib.suppress(redis.RedisError, OSError):
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        client.flushdb()
        client.close()


@dataclass
class DemoStack:
    """Addresses of the running system, its demo users and its database."""

    web_url: str
    gateway_port: int
    database: Path
    log: Path
    passwords: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}/local"

    def management_client(self) -> Any:
        """A boto3 Management API client signing as the demo's processes do."""
        import boto3

        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=self.management_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def drop(self, connection_id: str, *, disconnect: bool) -> None:
        """Cut a browser's socket as a network change does (the local gateway's control);
        ``disconnect=False`` also loses its ``$disconnect``, which AWS sends best-effort."""
        import json
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.gateway_port}/@local/connections/{connection_id}/drop",
            data=json.dumps({"disconnect": disconnect}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.read()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.database, timeout=10)) as db:
            return db.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with contextlib.closing(sqlite3.connect(self.database, timeout=10)) as db:
            count = db.execute(sql, params).rowcount
            db.commit()
            return count

    def user_id(self, username: str) -> int:
        return self.query("SELECT id FROM auth_user WHERE username = ?", (username,))[0][0]

    def live_connections(self, username: str, room: str | None = None) -> list[str]:
        sql = f"SELECT connection_id FROM {SESSIONS_TABLE} WHERE user_id = ? AND connected = 1"
        params: tuple[Any, ...] = (self.user_id(username),)
        if room is not None:
            sql += " AND channel_name = ?"
            params += (room,)
        return [row[0] for row in self.query(sql + " ORDER BY id", params)]

    def channels_of(self, connection_id: str) -> set[str]:
        """The rooms one connection is in: its connect-time channel and its subscriptions."""
        rows = self.query(
            f"SELECT s.channel_name, c.channel FROM {SESSIONS_TABLE} s "
            f"LEFT JOIN {SUBSCRIPTIONS_TABLE} c ON c.session_id = s.id WHERE s.connection_id = ?",
            (connection_id,),
        )
        return {name for row in rows for name in row if name}

    def is_connected(self, connection_id: str) -> bool:
        rows = self.query(
            f"SELECT connected FROM {SESSIONS_TABLE} WHERE connection_id = ?", (connection_id,)
        )
        return bool(rows and rows[0][0])

    def used_tokens(self, username: str) -> int:
        return self.query(
            f"SELECT COUNT(*) FROM {TOKENS_TABLE} WHERE user_id = ? AND used = 1",
            (self.user_id(username),),
        )[0][0]

    def report(self, report_id: str) -> dict[str, Any]:
        names = ("recipients", "delivered", "gone", "failed", "finished")
        rows = self.query(
            f"SELECT {', '.join(names)} FROM {REPORTS_TABLE} WHERE id = ?",
            (report_id.replace("-", ""),),
        )
        return dict(zip(names, rows[0], strict=True)) if rows else {}

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _child_env(database: Path, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("COVERAGE_", "PYTEST_")):
            env.pop(name)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DATABASE_URL": f"sqlite:///{database}",
            "DJANGO_DEBUG": "1",
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_FILESYSTEM_FOLDER": str(workdir / "broker"),
            "DEMO_FOLDER": str(workdir / "demo"),
            "WEBSOCKETS_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    workdir = tmp_path_factory.mktemp("e2e-demo")
    database = workdir / "e2e.sqlite3"
    web_port, gateway_port = free_port(), free_port()
    env = _child_env(database, workdir)
    ports = ["--port", str(web_port), "--gateway-port", str(gateway_port)]
    manage = [sys.executable, "-m", "django", "rundemo", *ports]
    flush_redis(BROKER_URL)

    setup = subprocess.run(
        [*manage, "--setup-only", "--reset-passwords"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    passwords = dict(re.findall(r"^\s+(alice|bob): (\S+)$", setup.stdout, re.MULTILINE))
    assert set(passwords) == {"alice", "bob"}, setup.stdout

    stack = DemoStack(
        web_url=f"http://127.0.0.1:{web_port}",
        gateway_port=gateway_port,
        database=database,
        log=workdir / "rundemo.log",
        passwords=passwords,
    )
    with stack.log.open("wb") as log:
        stack.process = subprocess.Popen(
            [*manage, "--no-beat", "--gateway-controls", "--concurrency", "8", "--grace", "5"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: "Demo running" in stack.tail(400) and " ready." in stack.tail(400),
            timeout=STARTUP_TIMEOUT,
            interval=0.2,
            what="rundemo to start its web server, gateway and worker",
        )
        yield stack
    finally:
        stack.process.send_signal(signal.SIGTERM)
        try:
            stack.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()
        # Keep the log beside the screenshots for whoever reads a failure.
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "rundemo.log").write_text(stack.log.read_text(errors="replace"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_chat(demo_stack: DemoStack, browser: Any) -> Iterator[Callable[..., Any]]:
    """Log a user in in a fresh browser context and open the chat in ``room``."""
    contexts: list[Any] = []
    # Every browser here connects from 127.0.0.1, and the tests of a module together make
    # more connect attempts than the connect rate limit allows one IP (20 per 5 minutes):
    # each test starts with none counted, as a user of its own would.
    demo_stack.execute(f"DELETE FROM {RATE_LIMIT_TABLE}")

    def open_as(username: str, room: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{demo_stack.web_url}/accounts/login/?next=/%3Froom%3D{room}")
        page.fill("#id_username", username)
        page.fill("#id_password", demo_stack.passwords[username])
        page.click("button[type=submit]")
        page.wait_for_selector("#status[data-state=open]")
        return page

    yield open_as
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()
    # Each test starts with nobody connected: wait for the closed tabs' $disconnect.
    wait_until(
        lambda: not demo_stack.query(f"SELECT 1 FROM {SESSIONS_TABLE} WHERE connected = 1"),
        what="every closed tab's $disconnect",
    )


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # "disabled" fast-forwards CSS transitions (the report bars) to their end state.
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path

"""The Celery command lines of ``worker.command``."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django_aws_api_gateway_websockets.conf import package_queues
from tests.support import wait_until
from worker.command import beat_command, worker_command

ROOT = Path(__file__).resolve().parent.parent

QUIET = ["--without-gossip", "--without-mingle", "--without-heartbeat"]


def test_worker_command_defaults_run_this_interpreter_quietly():
    assert worker_command() == [
        *(sys.executable, "-m", "celery", "-A", "worker", "worker", "-l", "WARNING"),
        *QUIET,
    ]


def test_worker_command_with_every_option():
    command = worker_command(
        app="other",
        pool="prefork",
        concurrency=2,
        queues=["websockets.delivery", "celery"],
        hostname="bench@%h",
        loglevel="INFO",
        python="py",
    )

    assert command == [
        *("py", "-m", "celery", "-A", "other", "worker", "-l", "INFO", "-P", "prefork"),
        *("-c", "2", "-Q", "websockets.delivery,celery", "-n", "bench@%h"),
        *QUIET,
    ]


def test_worker_command_takes_queues_as_one_string():
    command = worker_command(queues="websockets.delivery,celery", quiet=False, python="py")

    assert command[-2:] == ["-Q", "websockets.delivery,celery"]


def test_worker_command_not_quiet_has_no_quiet_options():
    command = worker_command(pool="threads", quiet=False, python="py")

    assert command == [
        "py",
        "-m",
        "celery",
        "-A",
        "worker",
        "worker",
        "-l",
        "WARNING",
        "-P",
        "threads",
    ]


def test_beat_command():
    assert beat_command(loglevel="info", python="py") == [
        *("py", "-m", "celery", "-A", "worker", "beat", "-l", "info"),
    ]


# A real worker of a project's plain Celery app (the quickstart's), reading its start-up log.


def started_worker_log(tmp_path: Path, queues: str | None = None) -> str:
    """Start ``celery -A tests.plain_celery worker``, wait until it is ready, stop it; its log."""
    log = tmp_path / "worker.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "TEST_CELERY_EAGER": "0"}
    command = worker_command(app="tests.plain_celery", pool="solo", queues=queues, loglevel="INFO")
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            wait_until(lambda: b" ready." in log.read_bytes(), timeout=60, what=log.read_text)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return log.read_text()


def banner_queues(log: str) -> set[str]:
    """The queue names the worker's banner says it consumes."""
    return set(re.findall(r"^\s*\.> (\S+)\s+exchange=", log, flags=re.M))


def test_a_plain_worker_without_q_consumes_the_apps_queues(tmp_path):
    log = started_worker_log(tmp_path)

    assert {"celery", *package_queues()} <= banner_queues(log), log
    assert (
        "No -Q given: this worker also consumes websockets.realtime, websockets.delivery, "
        "websockets.maintenance" in log
    )


def test_a_worker_whose_q_leaves_out_the_apps_queues_names_them(tmp_path):
    log = started_worker_log(tmp_path, queues="celery,websockets.delivery")

    assert banner_queues(log) == {"celery", "websockets.delivery"}, log
    assert (
        "This worker does not consume websockets.realtime, websockets.maintenance (not in its -Q)"
        in log
    )
    assert "until another worker consumes them" in log


class FakeWorker:
    """What ``RealtimeLane`` reads of a Celery worker."""

    def __init__(self, pool_cls: str, queues: list[str]) -> None:
        from types import SimpleNamespace

        self.pool_cls = pool_cls
        self.pool = None
        self.hostname = "w1@host"
        self.loglevel = 30
        consume_from = {name: SimpleNamespace(name=name) for name in queues}
        self.app = SimpleNamespace(
            main="worker", amqp=SimpleNamespace(queues=SimpleNamespace(consume_from=consume_from))
        )


def start_lane(worker: FakeWorker, monkeypatch) -> list[list[str]]:
    from unittest.mock import Mock

    from worker import lanes

    started: list[list[str]] = []
    monkeypatch.delenv(lanes.PARENT_ENV, raising=False)
    monkeypatch.setattr(
        lanes.subprocess, "Popen", lambda command, env: started.append(command) or Mock(pid=1)
    )
    lanes.RealtimeLane(worker).start(worker)
    return started


def test_a_prefork_worker_on_the_fast_lane_starts_a_thread_pool_worker_for_it(monkeypatch):
    (command,) = start_lane(
        FakeWorker("celery.concurrency.prefork:TaskPool", ["websockets.realtime", "celery"]),
        monkeypatch,
    )
    options = " ".join(command)
    assert "-P threads -c 4 -Q websockets.realtime -n realtime-w1@host" in options


def test_no_fast_lane_worker_where_it_is_not_needed(monkeypatch, settings):
    threads = FakeWorker("threads", ["websockets.realtime"])
    bulk_only = FakeWorker("prefork", ["websockets.delivery"])
    assert start_lane(threads, monkeypatch) == []
    assert start_lane(bulk_only, monkeypatch) == []
    settings.WEBSOCKETS = {"realtime_lane_threads": 0}
    assert start_lane(FakeWorker("prefork", ["websockets.realtime"]), monkeypatch) == []

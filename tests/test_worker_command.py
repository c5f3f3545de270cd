"""The Celery command lines of ``worker.command``."""

import sys

from worker.command import beat_command, worker_command

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

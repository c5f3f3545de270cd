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

"""The command lines that start this app's Celery worker and beat as child processes.

Spelled once here for the demo (``rundemo``), the integration tests and the benchmarks.
Each runs ``python -m celery`` with a given interpreter, so the child uses the same
environment as its parent rather than whichever ``celery`` is first on ``PATH``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

# For short-lived workers that need no cluster: no event exchange with other workers, no
# synchronisation with them at start-up, no heartbeats. They start sooner and spend nothing
# on chatter that a test or a measurement would pay for.
QUIET_OPTIONS = ("--without-gossip", "--without-mingle", "--without-heartbeat")


def celery_command(*args: str, app: str = "worker", python: str = sys.executable) -> list[str]:
    """``python -m celery -A app ARGS``."""
    return [python, "-m", "celery", "-A", app, *args]


def worker_command(
    *,
    app: str = "worker",
    pool: str | None = None,
    concurrency: int | None = None,
    queues: str | Iterable[str] | None = None,
    hostname: str | None = None,
    loglevel: str = "WARNING",
    quiet: bool = True,
    python: str = sys.executable,
) -> list[str]:
    """The ``celery worker`` command line; an option left at None keeps Celery's default.

    ``queues`` is a list of queue names or one comma-separated string; ``quiet`` adds
    ``QUIET_OPTIONS``.
    """
    args = ["worker", "-l", loglevel]
    if pool is not None:
        args += ["-P", pool]
    if concurrency is not None:
        args += ["-c", str(concurrency)]
    if queues is not None:
        args += ["-Q", queues if isinstance(queues, str) else ",".join(queues)]
    if hostname is not None:
        args += ["-n", hostname]
    if quiet:
        args += QUIET_OPTIONS
    return celery_command(*args, app=app, python=python)


def beat_command(
    *, app: str = "worker", loglevel: str = "WARNING", python: str = sys.executable
) -> list[str]:
    """The ``celery beat`` command line."""
    return celery_command("beat", "-l", loglevel, app=app, python=python)

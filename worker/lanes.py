"""The fast lane's own consumer, started beside a prefork worker's pool.

A prefork pool runs one task per process: while a broadcast's batches hold every process,
a small send queued on the fast lane would wait for one of them to finish its batch. So a
prefork worker of this app that consumes the fast lane (``WEBSOCKETS["realtime_queue"]``,
as ``celery -A worker worker`` does) also starts a small thread-pool worker that consumes
only that queue, and stops it when it stops. Its threads spend their time waiting on the
Management API, so a few of them cost little CPU. ``WEBSOCKETS["realtime_lane_threads"] = 0``
turns it off, for operators who run fast-lane workers of their own (``-Q``).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from typing import Any

from celery import bootsteps

from .command import worker_command

logger = logging.getLogger(__name__)

# Set in the lane worker's environment: the pid of the worker that started it.
PARENT_ENV = "WEBSOCKETS_LANE_PARENT"


class RealtimeLane(bootsteps.StartStopStep):
    """Starts ``celery worker -Q <realtime queue> -P threads`` as a child of this worker."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, worker: Any) -> None:
        from django_aws_api_gateway_websockets.conf import app_settings

        threads = int(app_settings.realtime_lane_threads or 0)
        queue = app_settings.realtime_queue
        consumed = {q.name for q in worker.app.amqp.queues.consume_from.values()}
        prefork = "prefork" in str(getattr(worker, "pool_cls", "")).lower() or (
            type(worker.pool).__module__.startswith("celery.concurrency.prefork")
        )
        if threads <= 0 or queue not in consumed or not prefork or os.environ.get(PARENT_ENV):
            return
        command = worker_command(
            pool="threads",
            concurrency=threads,
            queues=queue,
            hostname=f"realtime-{worker.hostname}",
            loglevel=logging.getLevelName(worker.loglevel or logging.WARNING)
            if isinstance(worker.loglevel, int)
            else str(worker.loglevel or "WARNING"),
            app=worker.app.main or "worker",
        )
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        self.process = subprocess.Popen(command, env=env)
        logger.info("Fast lane %s: worker %s with %d threads", queue, self.process.pid, threads)

    def stop(self, worker: Any) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # warm shutdown: tasks in progress finish
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    shutdown = stop


def watch_parent() -> None:
    """In a lane worker: shut down warmly once the worker that started it is gone."""
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="lane-parent-watch", daemon=True).start()

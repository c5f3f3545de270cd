"""How the app's task messages reach a worker: the one seam between the engine and Celery.

Two publishers, as Django has an SMTP and a locmem email backend:

- ``BrokerPublisher`` hands each message to the broker, with one connection attempt and no
  publish retries, and opens its first connection ahead of the first send.
- ``InlinePublisher`` is the test transport. Under Celery's own test switch,
  ``CELERY_TASK_ALWAYS_EAGER`` (as the testing guide sets it), tasks run in the caller's
  thread, so a send is delivered before it returns; tasks do not wait for a young
  connection's ``$connect`` to finish (nothing else could run meanwhile) and raise what a
  worker would retry later.

``publisher()`` picks one from the Celery app's configuration on every call (a test may flip
the switch at any time); nothing else in the app asks whether tasks run eagerly.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any, Protocol

from celery import Task
from django.core.signals import request_finished
from kombu import pools as kombu_pools
from kombu.exceptions import OperationalError as BrokerError

from .conf import app_settings
from .transactions import outside_transactions, run_after_commit

logger = logging.getLogger(__name__)

# kombu raises its OperationalError for most broker trouble, the socket's own otherwise.
BROKER_ERRORS = (BrokerError, ConnectionError, TimeoutError)

Release = Callable[[], Any]


class Publisher(Protocol):
    """What the tasks and the caller's side publish through."""

    #: Whether tasks run in the caller's thread, before ``publish`` returns.
    inline: bool
    #: Whether a task that failed is retried later by a worker (else the error is raised).
    retries_later: bool

    def publish(self, task: Task, args: tuple[Any, ...], **options: Any) -> bool: ...

    def after_commit(self, release: Release) -> None: ...

    def gone_grace_seconds(self) -> float: ...

    def warm_up(self, app: Any) -> None: ...


class BrokerPublisher:
    """Task messages through the broker, to whichever worker consumes their queue."""

    inline = False
    retries_later = True

    def publish(self, task: Task, args: tuple[Any, ...], **options: Any) -> bool:
        """Hand one message to the broker; False, at once, when it does not answer.

        One connection attempt and no publish retries (Celery's defaults retry for seconds):
        a caller never waits on an outage. What was not published is still held by a lease
        (or waits in the outbox), and the recovery task publishes it later.
        """
        try:
            with task.app.producer_or_acquire() as producer:
                producer.connection.ensure_connection(max_retries=0)
                task.apply_async(args, producer=producer, retry=False, **options)
        except BROKER_ERRORS as exc:
            logger.warning("Broker unavailable; %s%s left to recovery: %s", task.name, args, exc)
            return False
        return True

    def after_commit(self, release: Release) -> None:
        """Run ``release`` (a publish) once the caller's transaction commits."""
        run_after_commit(release)

    def gone_grace_seconds(self) -> float:
        """How long a 410 for a connection younger than this is retried (its ``$connect``
        may still be running)."""
        return float(app_settings.gone_grace_seconds)

    def warm_up(self, app: Any) -> None:
        """Prepare this process's first publish in the background: a send's caller then pays
        for its own message only, not for a first connection (most of 150 ms otherwise).

        Builds what Celery builds on first use (message builder and sender, routes, the
        disabled event dispatcher, the producer pool, the transport's module) and opens one
        broker connection in the pool. A process that forks after this (a web server's
        preloaded app, prefork workers) must not share that socket: the child drops the pool
        without closing it, as Celery itself does after a fork. A broker that does not answer
        costs nothing here: the first send tries again, as it would have.
        """
        os.register_at_fork(after_in_child=partial(_forget_connections, app))

        def warm() -> None:
            with suppress(Exception):  # only a head start: a failure here is the first send's
                amqp = app.amqp
                for name in ("create_task_message", "send_task_message", "router", "queues"):
                    getattr(amqp, name)
                amqp._event_dispatcher  # noqa: B018 - built on first access
                with app.producer_or_acquire() as producer:
                    producer.connection.ensure_connection(max_retries=0)

        threading.Thread(target=warm, name="ws-warm-publishing", daemon=True).start()


class InlinePublisher:
    """The test transport: every task runs in the caller's thread, before publish returns.

    A send made inside a request's atomic block (``ATOMIC_REQUESTS``) in a test case waits
    for a commit that the test's own transaction never makes: such sends are held and
    released when the request is over. A send whose block rolled back is gone from the
    database, so its release finds nothing to publish.
    """

    inline = True
    retries_later = False

    def __init__(self) -> None:
        self._held = threading.local()

    def publish(self, task: Task, args: tuple[Any, ...], **options: Any) -> bool:
        task.apply_async(args, **options)
        return True

    def after_commit(self, release: Release) -> None:
        if not run_after_commit(release):
            self._releases().append(release)

    def release_held(self) -> None:
        """Publish the sends held for a commit, once no transaction but a test case's is open."""
        held = self._releases()
        if held and outside_transactions():
            pending, held[:] = list(held), []
            for release in pending:
                release()

    def gone_grace_seconds(self) -> float:
        return 0.0

    def warm_up(self, app: Any) -> None:
        """Nothing to prepare: nothing is published through a broker."""

    def _releases(self) -> list[Release]:
        if not hasattr(self._held, "releases"):
            self._held.releases = []
        releases: list[Release] = self._held.releases
        return releases


BROKER = BrokerPublisher()
INLINE = InlinePublisher()


def publisher(app: Any) -> Publisher:
    """The publisher for Celery ``app``: inline under its ``task_always_eager``."""
    return INLINE if app.conf.task_always_eager else BROKER


def _release_held_sends(**kwargs: Any) -> None:
    INLINE.release_held()


request_finished.connect(_release_held_sends, dispatch_uid=__name__)


def _forget_connections(app: Any) -> None:
    """In a forked child: drop the parent's broker connections; the child opens its own.

    What Celery and kombu do after a billiard fork, for any fork: their pools are forgotten,
    never closed (closing a channel may send commands on the parent's behalf).
    """
    kombu_pools.connections.clear()
    kombu_pools.producers.clear()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None

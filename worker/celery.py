"""The Celery app, configured from Django settings (namespace ``CELERY``).

Fan-out, the fast lane and maintenance run on their own queues, so a large broadcast never
delays a small send or cleanup; the app's tasks name their queue themselves. ``celery -A
worker worker`` consumes every queue, the fast lane first, and (prefork) starts a small
thread-pool worker of its own for the fast lane (``worker/lanes.py``). In production, run a
worker per lane: ``-Q websockets.realtime -P threads``, ``-Q websockets.delivery`` and
``-Q websockets.maintenance,celery``.
"""

import os

from celery import Celery
from kombu import Queue

from django_aws_api_gateway_websockets.conf import app_settings, package_queues

from .lanes import RealtimeLane, watch_parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

DEFAULT_QUEUE = "celery"

app = Celery("worker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = DEFAULT_QUEUE


@app.on_after_configure.connect
def declare_queues(sender: Celery, **kwargs: object) -> None:
    """The package's queues as settings name them, the bulk lane last.

    Run once Django's settings are read (the project's settings import this module, so it
    cannot read them at import time). On Redis, a free process takes from the first
    non-empty queue in this order (the fast lane first, the bulk lane last) rather than in
    kombu's default round robin, which serves the bulk lane as often as the others.
    """
    bulk = app_settings.delivery_queue
    names = [name for name in [*package_queues(), DEFAULT_QUEUE] if name != bulk]
    sender.conf.task_queues = [Queue(name) for name in [*names, bulk]]
    sender.conf.broker_transport_options = {
        **(sender.conf.broker_transport_options or {}),
        "queue_order_strategy": "priority",
    }


app.steps["worker"].add(RealtimeLane)
app.autodiscover_tasks()
watch_parent()

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
# The package's queues as settings name them, the bulk lane last.
BULK_QUEUE = app_settings.delivery_queue
QUEUES = [name for name in [*package_queues(), DEFAULT_QUEUE] if name != BULK_QUEUE]
app.conf.task_queues = [Queue(name) for name in [*QUEUES, BULK_QUEUE]]
# Redis: a free process always takes from the first non-empty queue in this order (the fast
# lane first, the bulk lane last), rather than kombu's default round robin, which serves the
# bulk lane as often as the others.
app.conf.broker_transport_options = {
    **(app.conf.broker_transport_options or {}),
    "queue_order_strategy": "priority",
}
app.steps["worker"].add(RealtimeLane)
app.autodiscover_tasks()
watch_parent()

"""The Celery app, configured from Django settings (namespace ``CELERY``).

Fan-out and maintenance run on their own queues, so a large broadcast never delays cleanup
and cleanup never delays a message. ``celery -A worker worker`` consumes every queue; in
production, run a worker per queue: ``-Q websockets.delivery`` and
``-Q websockets.maintenance,celery``.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

DEFAULT_QUEUE = "celery"
DELIVERY_QUEUE = "websockets.delivery"
MAINTENANCE_QUEUE = "websockets.maintenance"

app = Celery("worker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = DEFAULT_QUEUE
app.conf.task_queues = [Queue(DEFAULT_QUEUE), Queue(DELIVERY_QUEUE), Queue(MAINTENANCE_QUEUE)]
app.conf.task_routes = {
    "django_aws_api_gateway_websockets.tasks.plan_delivery": {"queue": DELIVERY_QUEUE},
    "django_aws_api_gateway_websockets.tasks.deliver_batch": {"queue": DELIVERY_QUEUE},
    "django_aws_api_gateway_websockets.tasks.*": {"queue": MAINTENANCE_QUEUE},
}
app.autodiscover_tasks()

"""The Celery app, configured from Django settings (namespace ``CELERY``).

Fan-out and maintenance run on their own queues, so a large broadcast never delays cleanup
and cleanup never delays a message; the app's tasks name their queue themselves.
``celery -A worker worker`` consumes every queue; in production, run a worker per queue:
``-Q websockets.delivery`` and ``-Q websockets.maintenance,celery``.
"""

import os

from celery import Celery
from kombu import Queue

from django_aws_api_gateway_websockets.conf import DELIVERY_QUEUE, MAINTENANCE_QUEUE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

DEFAULT_QUEUE = "celery"

app = Celery("worker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = DEFAULT_QUEUE
# The package's queues under their default names (conf.package_queues() reads settings,
# which cannot be read while this module is imported from the project's package): a worker
# started without -Q also adds package_queues() itself at start-up.
app.conf.task_queues = [Queue(DEFAULT_QUEUE), Queue(DELIVERY_QUEUE), Queue(MAINTENANCE_QUEUE)]
app.autodiscover_tasks()

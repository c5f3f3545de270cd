"""A project's Celery app exactly as the quickstart writes it: no queues or routes of its own.

``celery -A tests.plain_celery worker`` is what a newcomer runs (tests/test_worker_command.py).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("plain")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

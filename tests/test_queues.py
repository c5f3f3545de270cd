"""The app's tasks reach their queues in any Celery app configured from Django settings."""

from __future__ import annotations

import pytest
from celery import Celery
from celery.signals import before_task_publish

from django_aws_api_gateway_websockets import tasks
from django_aws_api_gateway_websockets.schedules import install_default_schedules
from worker import app as project_app


@pytest.fixture
def fresh_app():
    """A standard Celery app with no routes or queues of its own, not this repo's ``worker``."""
    app = Celery("fresh", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    published: list[tuple[str, str]] = []

    def record(sender: str, routing_key: str, **kwargs) -> None:
        published.append((sender, routing_key))

    before_task_publish.connect(record, weak=False)
    app.set_current()
    try:
        yield published
    finally:
        before_task_publish.disconnect(record)
        project_app.set_current()


@pytest.mark.django_db
def test_sends_and_batches_go_to_the_delivery_queue(fresh_app, websocket_session):
    websocket_session.send_message({"type": "x"})
    tasks.queue_batch(1, 0)
    assert fresh_app == [
        ("django_aws_api_gateway_websockets.tasks.plan_delivery", "websockets.delivery"),
        ("django_aws_api_gateway_websockets.tasks.deliver_batch", "websockets.delivery"),
    ]


@pytest.mark.django_db
def test_queue_names_follow_settings(fresh_app, websocket_session, settings):
    settings.WEBSOCKETS = {"delivery_queue": "fanout"}
    websocket_session.send_message({"type": "x"})
    assert fresh_app == [("django_aws_api_gateway_websockets.tasks.plan_delivery", "fanout")]


@pytest.mark.django_db
def test_default_schedules_run_on_the_maintenance_queue():
    from django_celery_beat.models import PeriodicTask

    install_default_schedules()
    queues = set(
        PeriodicTask.objects.filter(name__startswith="django_aws").values_list("queue", flat=True)
    )
    assert queues == {"websockets.maintenance"}

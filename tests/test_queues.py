"""The app's tasks reach their queues in any Celery app configured from Django settings."""

from __future__ import annotations

import pytest
from celery import Celery
from celery.signals import before_task_publish

from django_aws_api_gateway_websockets import publishing, tasks
from django_aws_api_gateway_websockets.conf import package_queues
from django_aws_api_gateway_websockets.delivery import REALTIME
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
def test_planning_takes_the_fast_lane_and_bulk_batches_the_delivery_queue(
    fresh_app, websocket_session
):
    websocket_session.send_message({"type": "x"})
    tasks.queue_batch(1, 0)
    tasks.queue_batch(2, 1, None, REALTIME)
    tasks.continue_plan("report")
    assert fresh_app == [
        ("django_aws_api_gateway_websockets.tasks.plan_delivery", "websockets.realtime"),
        ("django_aws_api_gateway_websockets.tasks.deliver_batch", "websockets.delivery"),
        ("django_aws_api_gateway_websockets.tasks.deliver_batch", "websockets.realtime"),
        ("django_aws_api_gateway_websockets.tasks.plan_delivery", "websockets.delivery"),
    ]


def test_the_trailing_presence_count_takes_the_fast_lane(fresh_app):
    tasks.queue_presence_count("room-1", 2.0)
    assert fresh_app == [
        ("django_aws_api_gateway_websockets.tasks.send_presence_count", "websockets.realtime")
    ]
    assert "websockets.realtime" in package_queues()


@pytest.mark.django_db
def test_queue_names_follow_settings(fresh_app, websocket_session, settings):
    settings.WEBSOCKETS = {"delivery_queue": "fanout", "realtime_queue": "chat"}
    websocket_session.send_message({"type": "x"})
    tasks.queue_batch(1, 0)
    assert fresh_app == [
        ("django_aws_api_gateway_websockets.tasks.plan_delivery", "chat"),
        ("django_aws_api_gateway_websockets.tasks.deliver_batch", "fanout"),
    ]
    assert package_queues() == ["chat", "fanout", "websockets.maintenance"]


def test_the_worker_app_consumes_every_lane_the_fast_one_first():
    names = [queue.name for queue in project_app.conf.task_queues]
    assert set(package_queues()) <= set(names)
    assert names[0] == "websockets.realtime"
    assert names[-1] == "websockets.delivery"
    assert project_app.conf.broker_transport_options["queue_order_strategy"] == "priority"


@pytest.mark.django_db
def test_default_schedules_run_on_the_maintenance_queue():
    from django_celery_beat.models import PeriodicTask

    install_default_schedules()
    queues = set(
        PeriodicTask.objects.filter(name__startswith="django_aws").values_list("queue", flat=True)
    )
    assert queues == {"websockets.maintenance"}


def test_a_forked_child_never_publishes_on_its_parents_broker_connections():
    app = Celery("forked", set_as_current=False, broker="memory://")
    pool = app.pool
    producers = app.amqp.producer_pool
    publishing._forget_connections(app)
    assert app.pool is not pool
    assert app.amqp.producer_pool is not producers

"""The seam between the engine and Celery's transport (``publishing``): the broker, or the test
transport that Celery's own ``task_always_eager`` selects."""

import threading

import pytest
from celery import Celery
from django.core.signals import request_finished
from django.db import close_old_connections, transaction

from django_aws_api_gateway_websockets import publishing, tasks
from django_aws_api_gateway_websockets.models import DeliveryReport, WebSocketSession
from django_aws_api_gateway_websockets.testing import capture_messages
from tests.support import wait_until


def request_ends() -> None:
    """The end of a request, as the test client signals it (the database stays open)."""
    request_finished.disconnect(close_old_connections)
    try:
        request_finished.send(sender=None)
    finally:
        request_finished.connect(close_old_connections)


@pytest.fixture
def celery_app():
    app = tasks.plan_delivery.app
    eager = app.conf.task_always_eager
    yield app
    app.conf.task_always_eager = eager


def test_the_publisher_follows_the_apps_eager_switch_at_every_call(celery_app):
    celery_app.conf.task_always_eager = True
    assert publishing.publisher(celery_app) is publishing.INLINE
    celery_app.conf.task_always_eager = False
    assert publishing.publisher(celery_app) is publishing.BROKER
    assert (publishing.BROKER.retries_later, publishing.INLINE.retries_later) == (True, False)


def test_only_the_broker_waits_for_a_young_connections_connect(settings):
    settings.WEBSOCKETS = {"gone_grace_seconds": 7}
    assert publishing.BROKER.gone_grace_seconds() == 7.0
    assert publishing.INLINE.gone_grace_seconds() == 0.0


@pytest.mark.django_db
def test_a_send_held_by_a_test_cases_transaction_goes_out_when_the_request_ends(api_gateway):
    WebSocketSession.objects.create(connection_id="c-1", api_gateway=api_gateway)
    with capture_messages() as outbox:
        with transaction.atomic():  # as ATOMIC_REQUESTS would: the test's own never commits
            WebSocketSession.objects.send_to_all({"type": "x"})
        assert outbox == []
        request_ends()
    assert [m.connection_id for m in outbox] == ["c-1"]
    request_ends()  # released once: nothing is held any more
    assert DeliveryReport.objects.get().delivered == 1


@pytest.mark.django_db
def test_a_held_send_waits_while_a_block_of_its_own_is_still_open(api_gateway):
    WebSocketSession.objects.create(connection_id="c-1", api_gateway=api_gateway)
    with capture_messages() as outbox:
        with transaction.atomic():
            WebSocketSession.objects.send_to_all({"type": "x"})
            request_ends()  # e.g. a request made from inside the block
            assert outbox == []
        request_ends()
    assert len(outbox) == 1


def test_the_inline_publisher_prepares_no_broker_connection():
    app = Celery("inline", broker="memory://", set_as_current=False)
    before = threading.active_count()
    publishing.INLINE.warm_up(app)
    assert threading.active_count() == before
    assert "amqp" not in app.__dict__  # nothing of Celery's transport was even built


def test_the_broker_publisher_opens_its_first_connection_ahead_of_the_first_send():
    app = Celery("warm", broker="memory://", set_as_current=False)
    publishing.BROKER.warm_up(app)
    # The warm-up thread may already be done (then it is no longer listed).
    for warming in [t for t in threading.enumerate() if t.name == "ws-warm-publishing"]:
        warming.join(timeout=10)
    wait_until(lambda: "amqp" in app.__dict__, what="the warm-up to build Celery's publisher")
    with app.producer_or_acquire() as producer:
        assert producer.connection.connected
    app.close()

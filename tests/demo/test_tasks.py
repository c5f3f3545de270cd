"""The application tasks that enqueue broadcasts, and their beat schedule."""

from __future__ import annotations

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from django_aws_api_gateway_websockets.models import DeliveryReport, WebSocketSession
from django_aws_api_gateway_websockets.testing import capture_messages
from tasks import tasks
from tasks.schedules import (
    HOURLY_ANNOUNCEMENT_NAME,
    HOURLY_ANNOUNCEMENT_TASK,
    ensure_periodic_tasks,
)
from worker import app

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(join, alice, bob):
    join("alice-1", alice, "general")
    join("alice-2", alice, "random")
    join("bob-1", bob, "support")
    join("anon-1", None, "general")
    gone = join("bob-gone", bob, "general")
    WebSocketSession.objects.filter(pk=gone.pk).update(connected=False)


def test_celery_finds_the_application_tasks():
    for name in ("announce", "notify_user", "hourly_announcement"):
        assert f"tasks.tasks.{name}" in app.tasks
    assert HOURLY_ANNOUNCEMENT_TASK in app.tasks


def test_announce_reaches_every_connected_browser_in_every_room(sessions):
    with capture_messages() as outbox:
        report_id = tasks.announce.delay("Maintenance at noon").get()

    assert sorted(m.connection_id for m in outbox) == ["alice-1", "alice-2", "anon-1", "bob-1"]
    data = outbox.to("bob-1")[0]
    assert (data["type"], data["message"]) == ("announcement", "Maintenance at noon")
    assert data["delivery_id"] == report_id
    report = DeliveryReport.objects.get(pk=report_id)
    assert (report.recipients, report.delivered) == (4, 4)


def test_notify_user_reaches_each_tab_of_that_user_only(sessions, alice):
    with capture_messages() as outbox:
        report_id = tasks.notify_user.delay(alice.pk, "Your export is ready").get()

    assert sorted(m.connection_id for m in outbox) == ["alice-1", "alice-2"]
    assert {m.data["type"] for m in outbox} == {"notification"}
    assert {m.data["message"] for m in outbox} == {"Your export is ready"}
    assert DeliveryReport.objects.get(pk=report_id).delivered == 2


def test_notify_user_of_an_unknown_user_sends_nothing(sessions):
    with capture_messages() as outbox:
        assert tasks.notify_user.delay(987654, "hello?").get() is None

    assert outbox == []
    assert not DeliveryReport.objects.exists()


def test_hourly_announcement_announces_the_time(sessions):
    with capture_messages() as outbox:
        report_id = tasks.hourly_announcement.delay().get()

    assert len(outbox) == 4
    message = outbox.to("alice-1")[0]["message"]
    assert "UTC" in message
    assert "every hour" in message
    assert DeliveryReport.objects.filter(pk=report_id).exists()


def test_the_hourly_announcement_is_scheduled_once():
    task, created = ensure_periodic_tasks()

    assert created is True
    assert (task.name, task.task) == (HOURLY_ANNOUNCEMENT_NAME, HOURLY_ANNOUNCEMENT_TASK)
    assert (task.interval.every, task.interval.period) == (1, IntervalSchedule.HOURS)
    assert task.enabled is True

    # An operator retunes it in the admin; running the set-up again keeps their choice.
    task.enabled = False
    task.save()
    again, created = ensure_periodic_tasks()
    assert created is False
    assert again.pk == task.pk
    assert again.enabled is False
    assert PeriodicTask.objects.filter(name=HOURLY_ANNOUNCEMENT_NAME).count() == 1

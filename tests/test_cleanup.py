"""Periodic cleanup: tasks, commands and default schedules."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from django_aws_api_gateway_websockets import tasks
from django_aws_api_gateway_websockets.models import (
    ConnectionRateLimit,
    DeliveryBatch,
    DeliveryReport,
    WebSocketSession,
    WebSocketToken,
)
from django_aws_api_gateway_websockets.models.deletion import delete_in_batches
from django_aws_api_gateway_websockets.schedules import BEAT_SCHEDULE, install_default_schedules

pytestmark = pytest.mark.django_db


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


@pytest.fixture
def session_rows(api_gateway):
    def make(name, connected=True, age=timedelta(0)):
        session = WebSocketSession.objects.create(
            connection_id=name, api_gateway=api_gateway, connected=connected
        )
        WebSocketSession.objects.filter(pk=session.pk).update(created_on=timezone.now() - age)

    make("fresh")
    make("hour-old", age=timedelta(hours=1))
    make("closed", connected=False)
    make("past-limit", age=timedelta(hours=2, minutes=1))
    make("closed-old", connected=False, age=timedelta(days=3))


def remaining_sessions():
    return sorted(WebSocketSession.objects.values_list("connection_id", flat=True))


def test_session_cleanup_removes_closed_and_over_age(session_rows):
    assert tasks.cleanup_sessions() == 3
    assert remaining_sessions() == ["fresh", "hour-old"]
    assert tasks.cleanup_sessions() == 0  # idempotent


def test_session_cleanup_command_does_the_same(session_rows):
    out = StringIO()
    call_command("clearWebSocketSessions", stdout=out)
    assert remaining_sessions() == ["fresh", "hour-old"]
    assert "Deleted 3 stale WebSocket sessions" in out.getvalue()


@pytest.fixture
def token_rows(websocket_user):
    def make(used, age):
        token = WebSocketToken.generate_token(websocket_user, "s")
        WebSocketToken.objects.filter(pk=token.pk).update(used=used, created_at=ago(seconds=age))
        return token.pk

    return {
        "fresh": make(False, 10),
        "used": make(True, 10),
        "expired": make(False, 400),
        "used-expired": make(True, 400),
    }


def test_token_cleanup(token_rows):
    assert tasks.cleanup_tokens() == 3
    assert list(WebSocketToken.objects.values_list("pk", flat=True)) == [token_rows["fresh"]]


def test_token_cleanup_never_deletes_a_token_still_valid(token_rows, settings):
    """With tokens valid for longer than the cleanup age (600 s > 300 s), 4.x kept them."""
    settings.WEBSOCKETS = {"token_expiry_seconds": 600}
    assert tasks.cleanup_tokens() == 2  # the used ones
    call_command("cleanupWebSocketTokens", stdout=StringIO())
    call_command("cleanupWebSocketTokens", token_age=300, stdout=StringIO())
    remaining = set(WebSocketToken.objects.values_list("pk", flat=True))
    assert remaining == {token_rows["fresh"], token_rows["expired"]}


def test_rate_limit_cleanup(websocket_user):
    for days in (0, 6, 8, 30):
        row = ConnectionRateLimit.record_attempt("10.0.0.1", websocket_user)
        ConnectionRateLimit.objects.filter(pk=row.pk).update(attempt_time=ago(days=days))
    assert tasks.cleanup_rate_limits() == 2
    assert ConnectionRateLimit.objects.count() == 2


def test_cleanup_command_with_ages(token_rows, websocket_user):
    row = ConnectionRateLimit.record_attempt("10.0.0.1", websocket_user)
    ConnectionRateLimit.objects.filter(pk=row.pk).update(attempt_time=ago(days=2))
    out = StringIO()
    call_command("cleanupWebSocketTokens", token_age=5, rate_limit_age=1, stdout=out)
    # Never an unexpired token: 5 s is raised to token_expiry_seconds (60 s).
    assert list(WebSocketToken.objects.values_list("pk", flat=True)) == [token_rows["fresh"]]
    assert not ConnectionRateLimit.objects.exists()
    assert (
        "Successfully deleted 3 used or expired WebSocket tokens (older than 60s)" in out.getvalue()
    )
    assert "Successfully deleted 1 old rate limit records (older than 1 days)" in out.getvalue()
    call_command(
        "cleanupWebSocketTokens", "--token-age", "300", "--rate-limit-age", "7", stdout=out
    )


def test_model_cleanup_helpers(token_rows):
    assert WebSocketToken.cleanup_expired(max_age_seconds=300) == 3
    assert ConnectionRateLimit.cleanup_old_records(days=7) == 0


def test_report_cleanup_removes_old_finished_reports_and_batches():
    def make(age, finished):
        report = DeliveryReport.objects.create(payload="{}", selection={})
        DeliveryBatch.objects.create(report=report, session_ids=[1], pending=[])
        DeliveryReport.objects.filter(pk=report.pk).update(
            created_on=ago(days=age), finished=timezone.now() if finished else None
        )
        return report.pk

    keep = [make(1, True), make(30, False)]
    make(30, True)
    assert tasks.cleanup_delivery_reports() == 1
    assert sorted(DeliveryReport.objects.values_list("pk", flat=True)) == sorted(keep)
    assert DeliveryBatch.objects.count() == 2


def test_deletes_in_bounded_batches(api_gateway, django_assert_num_queries, caplog):
    WebSocketSession.objects.bulk_create(
        WebSocketSession(connection_id=f"x{n}", api_gateway=api_gateway, connected=False)
        for n in range(25)
    )
    caplog.set_level("INFO", "django_aws_api_gateway_websockets")
    # 13 batches of at most 2 rows, each: the batch's rows, the DELETE of their channel
    # subscriptions (cascade), the DELETE of the rows; and the final one that finds none.
    with django_assert_num_queries(13 * 3 + 1):
        assert delete_in_batches(WebSocketSession.objects.filter(connected=False), "rows", 2) == 25
    assert "Deleting rows: 20 so far" in caplog.text
    assert "Deleted 25 rows" in caplog.text


def test_recovery_task_is_wired_and_frequent():
    assert tasks.recover_deliveries() == 0
    entry = BEAT_SCHEDULE["django_aws_api_gateway_websockets: recover_deliveries"]
    assert entry["schedule"].total_seconds() <= 15


# Schedules


def test_default_schedules_exist_after_migrate():
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert set(BEAT_SCHEDULE) <= names


def test_operator_edits_survive_reinstall():
    name = next(iter(BEAT_SCHEDULE))
    PeriodicTask.objects.filter(name=name).update(enabled=False)
    PeriodicTask.objects.filter(name=list(BEAT_SCHEDULE)[1]).delete()
    assert install_default_schedules() == 1
    assert PeriodicTask.objects.get(name=name).enabled is False
    assert install_default_schedules() == 0


def test_plain_schedule_names_real_tasks():
    from celery import current_app

    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in current_app.tasks
        assert entry["schedule"].total_seconds() > 0

"""Periodic cleanup: tasks, commands and default schedules."""

import uuid
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


def client_error(code, status):
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetConnection",
    )


@pytest.fixture
def management_api():
    """A scripted Management API: ``answers[id]`` is raised, else GetConnection answers 200."""
    from unittest.mock import Mock, patch

    answers = {}
    asked = []

    def get_connection(ConnectionId):
        asked.append(ConnectionId)
        if ConnectionId in answers:
            raise answers[ConnectionId]
        return {"ConnectedAt": timezone.now()}

    client = Mock()
    client.get_connection.side_effect = get_connection
    with patch(
        "django_aws_api_gateway_websockets.models.get_boto3_client", return_value=client
    ) as factory:
        yield answers, asked, factory


@pytest.fixture
def deployed_gateway(api_gateway):
    """The plugin's gateway with a deployment, as ``createApiGateway`` leaves it (set by an
    UPDATE: a save of a deployed gateway would push to AWS)."""
    type(api_gateway).objects.filter(pk=api_gateway.pk).update(deployment_id="dep1")
    api_gateway.refresh_from_db()
    return api_gateway


@pytest.fixture
def idle_session(deployed_gateway):
    def make(name, idle=timedelta(minutes=10), gateway=deployed_gateway):
        session = WebSocketSession.objects.create(
            connection_id=name, api_gateway=gateway, channel_name="room"
        )
        WebSocketSession.objects.filter(pk=session.pk).update(
            created_on=timezone.now() - idle, updated_on=timezone.now() - idle
        )
        return session

    return make


def connected_ids():
    return sorted(
        WebSocketSession.objects.filter(connected=True).values_list("connection_id", flat=True)
    )


def test_probe_marks_gone_connections_and_spares_live_ones(management_api, idle_session):
    from django_aws_api_gateway_websockets import channels

    answers, asked, factory = management_api
    answers["ghost"] = client_error("GoneException", 410)
    idle_session("ghost")
    idle_session("alive")
    assert channels.presence("room").connections == 2

    assert tasks.probe_connections() == 1
    assert sorted(asked) == ["alive", "ghost"]
    assert factory.call_args.args[0] == "apigatewaymanagementapi"
    assert connected_ids() == ["alive"]
    assert channels.presence("room").connections == 1
    # The live one was touched: not asked again before another idle period.
    asked.clear()
    assert tasks.probe_connections() == 0
    assert asked == []


def test_probe_leaves_recent_and_undeployed_sessions_alone(
    management_api, idle_session, api_gateway, settings
):
    from django_aws_api_gateway_websockets.models import ApiGateway

    answers, asked, _ = management_api
    settings.WEBSOCKETS = {"presence_probe_idle_seconds": 300}
    idle_session("recent", idle=timedelta(seconds=100))
    no_api_id = ApiGateway.objects.create(
        api_name="No API id",
        target_base_endpoint="https://testserver/ws/",
        stage_name="test",
        api_created=True,
    )
    ApiGateway.objects.filter(pk=no_api_id.pk).update(deployment_id="dep2")
    idle_session("no-api-id", gateway=no_api_id)
    # The testing guide's record made by hand: an API id, no deployment in AWS.
    by_hand = ApiGateway.objects.create(
        api_name="By hand",
        target_base_endpoint="https://testserver/ws/",
        api_id="abc999",
        api_created=True,
        stage_name="test",
    )
    idle_session("by-hand", gateway=by_hand)
    for name in ("recent", "no-api-id", "by-hand"):
        answers[name] = client_error("GoneException", 410)

    assert tasks.probe_connections() == 0
    assert asked == []
    assert connected_ids() == ["by-hand", "no-api-id", "recent"]


def test_probe_leaves_throttled_and_failing_connections_connected(
    management_api, idle_session, caplog
):
    answers, asked, _ = management_api
    answers["failing"] = client_error("InternalServerErrorException", 500)
    answers["throttled"] = client_error("LimitExceededException", 429)
    idle_session("failing")
    idle_session("throttled")

    with caplog.at_level("WARNING", logger="django_aws_api_gateway_websockets.cleanup"):
        assert tasks.probe_connections() == 0
    assert connected_ids() == ["failing", "throttled"]
    assert "LimitExceededException" in caplog.text
    assert "InternalServerErrorException" in caplog.text
    # Neither was touched: both are asked again next run.
    asked.clear()
    tasks.probe_connections()
    assert asked == ["failing", "throttled"]


def test_probe_works_in_bounded_batches(management_api, idle_session, settings):
    answers, asked, _ = management_api
    settings.WEBSOCKETS = {"cleanup_batch_size": 2}
    for n in range(5):
        idle_session(f"s{n}")
        answers[f"s{n}"] = client_error("GoneException", 410)

    assert tasks.probe_connections() == 5
    assert sorted(asked) == [f"s{n}" for n in range(5)]
    assert connected_ids() == []


def test_session_cleanup_command_never_probes(management_api, idle_session):
    _, asked, _ = management_api
    idle_session("idle")
    call_command("clearWebSocketSessions", stdout=StringIO())
    assert asked == []
    assert connected_ids() == ["idle"]


@pytest.fixture
def probe_budget(settings):
    """A budget of the probe's own in the test Redis (1/s, burst 2), removed afterwards."""
    from django_aws_api_gateway_websockets import shared_state
    from django_aws_api_gateway_websockets.delivery import budget

    name = f"probe-{uuid.uuid4().hex}"
    settings.WEBSOCKETS = {"post_rate_key": name, "post_rate_limit": 1, "post_rate_burst": 2}
    # The test's Mock client names no region or access key.
    key = budget.budget_key(None, None)

    def next_slot_in() -> float:
        """Seconds until the budget allows one more request (<= 0: now)."""
        first, _ = budget._script()(keys=[key], args=[1, 2, 1])
        return float(first)

    yield next_slot_in
    shared_state.connection().delete(key)


def test_probe_calls_draw_from_the_accounts_budget(management_api, idle_session, probe_budget):
    idle_session("alive")
    tasks.probe_connections()
    # The probe's reservation spent the burst: the next request of any worker waits.
    assert probe_budget() > 0


def test_a_throttled_probe_slows_every_worker(management_api, idle_session, probe_budget):
    answers, _, _ = management_api
    answers["throttled"] = client_error("LimitExceededException", 429)
    idle_session("throttled")
    tasks.probe_connections()
    # Paused far beyond the 8 slots (8 s at 1/s) the probe itself reserved.
    assert probe_budget() > 20

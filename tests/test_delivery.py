"""The delivery engine's code paths, with eager tasks and a scripted Management API client."""

import json
import time
from concurrent.futures import Future
from datetime import timedelta
from unittest.mock import Mock, patch

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from celery.exceptions import Retry
from django.core import signing
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from django_aws_api_gateway_websockets import tasks
from django_aws_api_gateway_websockets.aws.outcomes import Outcome, classify, error_code
from django_aws_api_gateway_websockets.delivery import BULK, REALTIME, plan, post, retry, settle
from django_aws_api_gateway_websockets.models import (
    DeliveryBatch,
    DeliveryReport,
    WebSocketSession,
)
from django_aws_api_gateway_websockets.models.selections import describe, from_queryset
from django_aws_api_gateway_websockets.payload import encode_message
from django_aws_api_gateway_websockets.testing import capture_messages

PATCH_CLIENT = "django_aws_api_gateway_websockets.models.get_boto3_client"


def client_error(code, status):
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PostToConnection",
    )


# Classification


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (client_error("GoneException", 410), Outcome.GONE),
        (client_error("", 410), Outcome.GONE),
        (client_error("LimitExceededException", 429), Outcome.THROTTLED),
        (client_error("TooManyRequestsException", 429), Outcome.THROTTLED),
        (client_error("", 429), Outcome.THROTTLED),
        (client_error("InternalServerErrorException", 500), Outcome.RETRY),
        (client_error("", 503), Outcome.RETRY),
        (EndpointConnectionError(endpoint_url="http://x"), Outcome.RETRY),
        (client_error("PayloadTooLargeException", 413), Outcome.FAILED),
        (client_error("ForbiddenException", 403), Outcome.FAILED),
        (client_error("BadRequestException", 400), Outcome.FAILED),
        (TypeError("bug"), Outcome.FAILED),
    ],
)
def test_classify(exc, outcome):
    assert classify(exc) is outcome


def test_error_code():
    assert error_code(client_error("GoneException", 410)) == "GoneException"
    assert error_code(client_error("", 502)) == "502"
    assert error_code(TimeoutError()) == "TimeoutError"


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_is_exponential_capped_and_jittered(attempt, settings):
    settings.WEBSOCKETS = {"delivery_retry_base_seconds": 1.0, "delivery_retry_max_seconds": 30}
    ceiling = min(30, 2**attempt)
    delays = {retry.backoff(attempt) for _ in range(50)}
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(delays) > 1


# Payloads


def test_encode_stamps_delivery_id():
    assert json.loads(encode_message({"type": "x"}, "id-1")) == {
        "type": "x",
        "delivery_id": "id-1",
        "$ws": {"id": "id-1"},
    }
    assert json.loads(encode_message([1, 2], "id-1")) == [1, 2]


@pytest.mark.django_db
def test_non_json_data_is_refused_before_queueing(websocket_session):
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        websocket_session.send_message({"when": timezone.now()})
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        websocket_session.send_message({"x": float("nan")})
    assert not DeliveryReport.objects.exists()


@pytest.mark.django_db
def test_oversized_data_is_refused_before_queueing(websocket_session):
    with pytest.raises(ValueError, match=r"exceeds AWS limit: \d+ bytes \(max: 131072 bytes\)"):
        WebSocketSession.objects.all().send_message({"blob": "é" * 70_000})
    assert not DeliveryReport.objects.exists()


# Selections


@pytest.mark.django_db
def test_queryset_selection_round_trips(sessions):
    selection = from_queryset(
        WebSocketSession.objects.filter(channel_name="general").exclude(connection_id="c-0")
    )
    json.dumps(selection)  # travels as JSON
    assert sorted(
        WebSocketSession.objects.selected(selection).values_list("connection_id", flat=True)
    ) == [
        "c-1",
        "c-2",
    ]
    assert describe(selection).startswith("queryset: SELECT")


@pytest.mark.django_db
def test_sliced_queryset_selection(sessions):
    selection = from_queryset(WebSocketSession.objects.order_by("-pk")[:2])
    assert WebSocketSession.objects.selected(selection).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s.update(sql=s["sql"].replace("SELECT", "SELECT 1 UNION SELECT")),
        lambda s: s.update(params=["other"]),
        lambda s: s.pop("signature"),
    ],
)
def test_tampered_selection_is_refused(sessions, tamper):
    selection = from_queryset(WebSocketSession.objects.filter(channel_name="general"))
    tamper(selection)
    with pytest.raises(signing.BadSignature):
        WebSocketSession.objects.selected(selection)


@pytest.mark.django_db
def test_queryset_selection_holds_no_code_only_a_query(sessions):
    cutoff = timezone.now()
    queryset = WebSocketSession.objects.filter(created_on__lt=cutoff, channel_name="general")
    selection = from_queryset(queryset)
    assert set(selection) == {"sql", "params", "signature"}
    assert selection["sql"].startswith("SELECT") and "%s" in selection["sql"]
    # Round-trips through JSON (a datetime parameter included) to the same recipients.
    travelled = json.loads(json.dumps(selection))
    assert sorted(WebSocketSession.objects.selected(travelled).values_list("pk", flat=True)) == (
        sorted(queryset.values_list("pk", flat=True))
    )


@pytest.mark.django_db
def test_queryset_selection_with_typed_parameters(sessions):
    import uuid
    from decimal import Decimal

    from django_aws_api_gateway_websockets.models.selections import _decode, _encode

    for value in (timezone.now(), timezone.now().date(), Decimal("1.5"), uuid.uuid4()):
        assert _decode(json.loads(json.dumps(_encode(value)))) == value
    with pytest.raises(TypeError, match="Cannot send to this queryset"):
        _encode(object())


def test_describe_structured():
    assert describe({"filter": {}, "exclude": {}}) == "everyone"
    assert (
        describe({"filter": {"channel_name": "a"}, "exclude": {"connection_id": "x"}})
        == "channel_name=a, not connection_id=x"
    )


# Sending


@pytest.fixture
def sessions(api_gateway):
    old = timezone.now() - timedelta(minutes=5)
    rows = [
        WebSocketSession(
            connection_id=f"c-{n}",
            api_gateway=api_gateway,
            channel_name="general" if n < 3 else "other",
        )
        for n in range(5)
    ]
    WebSocketSession.objects.bulk_create(rows)
    # Older than the grace period, so a 410 means gone at once.
    WebSocketSession.objects.update(created_on=old)
    return WebSocketSession.objects.order_by("pk")


def refreshed(report):
    report.refresh_from_db()
    return report


@pytest.mark.django_db
def test_channel_broadcast_reaches_each_connected_member_once(sessions):
    WebSocketSession.objects.filter(connection_id="c-2").update(connected=False)
    with capture_messages() as outbox:
        report = WebSocketSession.objects.send_to_channel("general", {"type": "hi"})
    assert sorted(m.connection_id for m in outbox) == ["c-0", "c-1"]
    assert {m.delivery_id for m in outbox} == {str(report.pk)}
    assert outbox[0].endpoint == "https://abc123.execute-api.us-east-1.amazonaws.com/test"
    report = refreshed(report)
    assert (report.recipients, report.delivered, report.gone, report.failed) == (2, 2, 0, 0)
    assert report.started <= report.finished


@pytest.mark.django_db
def test_exclude_the_sender(sessions):
    with capture_messages() as outbox:
        WebSocketSession.objects.send_to_channel("general", {"type": "hi"}, exclude="c-1")
    assert sorted(m.connection_id for m in outbox) == ["c-0", "c-2"]


@pytest.mark.django_db
def test_send_to_user_and_to_all(sessions, websocket_user):
    WebSocketSession.objects.filter(connection_id__in=["c-1", "c-4"]).update(user=websocket_user)
    with capture_messages() as outbox:
        WebSocketSession.objects.send_to_user(websocket_user, {"type": "you"})
        WebSocketSession.objects.send_to_all({"type": "all"})
    assert [m["type"] for m in outbox.to("c-1")] == ["you", "all"]
    assert [m["type"] for m in outbox.to("c-0")] == ["all"]
    assert sum(1 for m in outbox if m.data["type"] == "you") == 2
    assert sum(1 for m in outbox if m.data["type"] == "all") == 5


@pytest.mark.django_db
def test_recipients_are_split_into_batches(sessions, settings):
    settings.WEBSOCKETS = {"delivery_batch_size": 2}
    with capture_messages() as outbox:
        report = WebSocketSession.objects.all().send_message({"type": "x"})
    assert len(outbox) == 5
    assert DeliveryBatch.objects.filter(report=report).count() == 3
    assert sorted(len(b.session_ids) for b in report.batches.all()) == [1, 2, 2]
    assert refreshed(report).finished is not None


@pytest.mark.django_db
def test_empty_selection_finishes_with_no_recipients(sessions):
    with capture_messages() as outbox:
        report = WebSocketSession.objects.send_to_channel("nobody", {"type": "x"})
    report = refreshed(report)
    assert outbox == []
    assert (report.recipients, report.planned, report.finished is not None) == (0, True, True)


class ScriptedClient:
    """Answers each connection id from a script of outcomes, one per call."""

    def __init__(self, script):
        self.script = {cid: list(answers) for cid, answers in script.items()}
        self.calls = []

    def post_to_connection(self, *, Data, ConnectionId):
        self.calls.append(ConnectionId)
        answers = self.script.get(ConnectionId, [])
        answer = answers.pop(0) if answers else None
        if answer is not None:
            raise answer
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}


def send_with(script, data=None):
    client = ScriptedClient(script)
    with patch(PATCH_CLIENT, return_value=client):
        report = WebSocketSession.objects.all().send_message(data or {"type": "x"})
    return client, refreshed(report)


@pytest.mark.django_db
def test_only_failed_recipients_are_retried(sessions):
    throttled = client_error("LimitExceededException", 429)
    client, report = send_with({"c-1": [throttled, throttled], "c-3": [client_error("", 503)]})
    assert sorted(client.calls) == sorted(["c-0", "c-1", "c-2", "c-3", "c-4", "c-1", "c-3", "c-1"])
    # The throttled recipient is posted again within its attempt; the 503 waits for the next.
    assert (report.delivered, report.failed, report.retried) == (5, 0, 1)
    assert report.finished is not None


@pytest.mark.django_db
def test_retries_are_bounded(sessions, settings):
    settings.WEBSOCKETS = {"delivery_max_attempts": 3}
    unavailable = client_error("ServiceUnavailableException", 503)
    client, report = send_with({"c-1": [unavailable] * 10})
    assert client.calls.count("c-1") == 3
    assert (report.delivered, report.failed, report.retried) == (4, 1, 2)
    assert report.finished is not None


@pytest.mark.django_db
def test_throttling_never_fails_a_recipient_before_the_deadline(sessions, settings):
    settings.WEBSOCKETS = {"delivery_max_attempts": 2}
    throttled = client_error("LimitExceededException", 429)
    unavailable = client_error("ServiceUnavailableException", 503)
    # Four attempts throttled (three posts each), then one real error, then through.
    client, report = send_with({"c-1": [throttled] * 12 + [unavailable]})
    assert client.calls.count("c-1") == 14
    assert (report.delivered, report.failed) == (5, 0)
    assert report.batches.get().failed_attempts == 1


@pytest.mark.django_db
def test_throttling_fails_a_recipient_past_the_deadline(sessions, settings):
    settings.WEBSOCKETS = {"delivery_deadline_seconds": 0}
    throttled = client_error("LimitExceededException", 429)
    client, report = send_with({"c-1": [throttled] * 10})
    assert client.calls.count("c-1") == post.THROTTLED_TRIES
    assert (report.delivered, report.failed) == (4, 1)


@pytest.mark.django_db
def test_gone_recipients_are_marked_disconnected_in_one_update(sessions, django_assert_num_queries):
    gone = client_error("GoneException", 410)
    _, report = send_with({"c-0": [gone], "c-4": [gone]})
    assert (report.delivered, report.gone, report.retried) == (3, 2, 0)
    assert set(
        WebSocketSession.objects.filter(connected=False).values_list("connection_id", flat=True)
    ) == {"c-0", "c-4"}
    batch = report.batches.get()
    with django_assert_num_queries(8):
        # Replaying the batch's settled attempt: one lookup, nothing else.
        for _ in range(8):
            tasks.deliver_batch(batch.pk, 0)


def planned_batch():
    """A send planned into one batch whose message was not delivered to anyone yet."""
    report = DeliveryReport.objects.create(payload="{}", selection={"filter": {}, "exclude": {}})
    with patch.object(tasks, "queue_batch"):
        tasks.plan_delivery(report.pk, BULK)
    return report, report.batches.get()


def deliver_with_grace(script, grace_seconds=5):
    """Plan a send, then post its batch as a worker does (not eager: with the grace retry)."""
    report, batch = planned_batch()
    client = ScriptedClient(script)
    retries = []
    with patch(PATCH_CLIENT, return_value=client):
        for attempt in range(3):
            post.deliver(batch.pk, attempt, "worker", lambda *a: retries.append(a), grace_seconds)
    return client, refreshed(report), retries


@pytest.mark.django_db
def test_young_connection_gone_is_retried_once(sessions):
    WebSocketSession.objects.filter(connection_id="c-0").update(created_on=timezone.now())
    gone = client_error("GoneException", 410)
    client, report, retries = deliver_with_grace({"c-0": [gone], "c-1": [gone, gone]})
    assert client.calls.count("c-0") == 2  # retried, then delivered
    assert client.calls.count("c-1") == 1  # old connection: gone at once
    assert (report.delivered, report.gone, report.retried) == (4, 1, 1)
    assert len(retries) == 1


@pytest.mark.django_db
def test_young_connection_gone_twice_is_gone(sessions):
    WebSocketSession.objects.filter(connection_id="c-0").update(created_on=timezone.now())
    gone = client_error("GoneException", 410)
    client, report, _ = deliver_with_grace({"c-0": [gone, gone]})
    assert client.calls.count("c-0") == 2
    assert report.gone == 1
    assert WebSocketSession.objects.get(connection_id="c-0").connected is False


@pytest.mark.django_db
def test_eager_tasks_skip_the_grace_retry(sessions):
    # An eager retry runs at once, so it cannot give $connect the moment it needs.
    WebSocketSession.objects.filter(connection_id="c-0").update(created_on=timezone.now())
    client, report = send_with({"c-0": [client_error("GoneException", 410)]})
    assert client.calls.count("c-0") == 1
    assert (report.delivered, report.gone, report.retried) == (4, 1, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "code,status", [("PayloadTooLargeException", 413), ("ForbiddenException", 403)]
)
def test_permanent_failures_are_not_retried_and_are_logged(sessions, caplog, code, status):
    client, report = send_with({"c-2": [client_error(code, status)]})
    assert client.calls.count("c-2") == 1
    assert (report.delivered, report.failed, report.retried) == (4, 1, 0)
    assert f"failed for good on gateway abc123 stage test: {code}" in caplog.text


@pytest.mark.django_db
def test_session_without_gateway_fails(sessions, caplog):
    WebSocketSession.objects.filter(connection_id="c-3").update(api_gateway=None)
    client, report = send_with({})
    assert "c-3" not in client.calls
    assert report.failed == 1
    assert "c-3 has no API Gateway" in caplog.text


@pytest.mark.django_db
def test_sessions_each_go_through_their_own_gateway(sessions, api_gateway):
    from django_aws_api_gateway_websockets.models import ApiGateway

    other = ApiGateway.objects.create(api_name="Other", api_id="zzz999", stage_name="eu")
    WebSocketSession.objects.filter(connection_id="c-4").update(api_gateway=other)
    with capture_messages() as outbox:
        WebSocketSession.objects.all().send_message({"type": "x"})
    endpoints = {m.connection_id: m.endpoint for m in outbox}
    assert endpoints["c-4"] == "https://zzz999.execute-api.us-east-1.amazonaws.com/eu"
    assert endpoints["c-0"] == "https://abc123.execute-api.us-east-1.amazonaws.com/test"


@pytest.mark.django_db
def test_session_disconnected_after_planning_counts_as_gone(sessions):
    report = DeliveryReport.objects.create(payload="{}", selection={"filter": {}, "exclude": {}})
    with patch.object(tasks, "queue_batch"):
        tasks.plan_delivery(report.pk, BULK)
    WebSocketSession.objects.filter(connection_id="c-1").delete()
    with capture_messages() as outbox:
        tasks.deliver_batch(report.batches.get().pk, 0)
    assert len(outbox) == 4
    assert (refreshed(report).delivered, report.gone) == (4, 1)


@pytest.mark.django_db
def test_plan_resumes_from_its_cursor(sessions, settings):
    settings.WEBSOCKETS = {"delivery_batch_size": 2}
    report = DeliveryReport.objects.create(payload="{}", selection={"filter": {}, "exclude": {}})
    queued = []
    with patch.object(tasks, "queue_batch", side_effect=lambda *a, **k: queued.append(a)):
        # A first run that died after its first batch left this behind…
        pks = list(sessions.values_list("pk", flat=True))
        DeliveryBatch.objects.create(report=report, session_ids=pks[:2], pending=pks[:2])
        DeliveryReport.objects.filter(pk=report.pk).update(
            plan_cursor=pks[1], recipients=2, batches_pending=1
        )
        # …and the redelivered task picks up after the cursor.
        tasks.plan_delivery(report.pk, BULK)
        tasks.plan_delivery(report.pk, BULK)  # a third delivery of the message does nothing
    report = refreshed(report)
    assert (report.recipients, report.planned, report.batches_pending) == (5, True, 3)
    assert len(queued) == 2
    covered = sorted(pk for b in report.batches.all() for pk in b.session_ids)
    assert covered == pks


def expire_leases():
    long_ago = timezone.now() - timedelta(minutes=5)
    DeliveryBatch.objects.update(lease_expires=long_ago)
    DeliveryReport.objects.update(lease_expires=long_ago)


@pytest.mark.django_db
def test_recovery_takes_over_expired_leases_and_publishes_the_outbox(sessions):
    report = DeliveryReport.objects.create(payload="{}", selection={"filter": {}, "exclude": {}})
    with patch.object(tasks, "queue_batch"):
        tasks.plan_delivery(report.pk, BULK)  # planned; its batch's message "lost"
    unplanned = DeliveryReport.objects.create(payload="{}", selection={"filter": {}, "exclude": {}})
    # A send whose planning message was lost after publication.
    lost = DeliveryReport.objects.create(
        payload="{}",
        selection={"filter": {}, "exclude": {}},
        published_on=timezone.now(),
        lease_expires=timezone.now() + timedelta(seconds=30),
    )
    with capture_messages() as outbox:
        # Nothing has expired yet: only the outbox is published.
        assert tasks.recover_deliveries() == 1
        assert refreshed(unplanned).finished is not None
        expire_leases()
        assert tasks.recover_deliveries() == 2
    assert len(outbox) == 15  # the stuck batch, the unplanned send, the lost plan
    assert refreshed(report).finished is not None
    assert refreshed(lost).finished is not None
    assert tasks.recover_deliveries() == 0
    assert tasks.resume_stalled_deliveries() == 0  # the name earlier schedules use


@pytest.mark.django_db
def test_work_held_by_a_live_lease_is_left_alone(sessions):
    _, batch = planned_batch()
    DeliveryBatch.objects.update(lease_owner="other-worker")
    with capture_messages() as outbox:
        tasks.deliver_batch(batch.pk, 0)  # a duplicate message while another task works
        assert tasks.recover_deliveries() == 0
    assert outbox == []


class Inline:
    """An executor posting in the calling thread, where the test's transaction is."""

    @staticmethod
    def submit(fn, *args):
        future = Future()
        future.set_result(fn(*args))
        return future

    def __new__(cls):
        return cls


class Killed(BaseException):
    """What a SIGKILL looks like from inside: the task stops between two posts."""


@pytest.mark.django_db
def test_takeover_repeats_only_posts_since_the_last_progress(sessions, settings):
    settings.WEBSOCKETS = {"delivery_progress_every": 2, "delivery_concurrency": 1}
    report, batch = planned_batch()
    client = ScriptedClient({"c-3": [Killed()]})
    with patch(PATCH_CLIENT, return_value=client), pytest.raises(Killed):
        post.deliver(batch.pk, 0, "worker-1", Mock(), 0)
    batch.refresh_from_db()
    # Progress was written after c-0 and c-1; c-2 was posted but not yet written.
    assert (batch.delivered, len(batch.pending), batch.lease_owner) == (2, 3, "worker-1")
    recorded = set(batch.session_ids) - set(batch.pending)
    expire_leases()
    with capture_messages() as outbox:
        assert tasks.recover_deliveries() == 1
    assert {m.connection_id for m in outbox}.isdisjoint(
        WebSocketSession.objects.filter(pk__in=recorded).values_list("connection_id", flat=True)
    )
    report = refreshed(report)
    assert (report.delivered, report.finished is not None) == (5, True)


@pytest.mark.django_db
def test_the_lease_is_renewed_while_posts_hang(sessions, settings):
    settings.WEBSOCKETS = {"delivery_lease_seconds": 1, "delivery_lease_renew_seconds": 0.05}
    report, batch = planned_batch()

    class Slow(ScriptedClient):
        def post_to_connection(self, *, Data, ConnectionId):
            time.sleep(0.3)
            return super().post_to_connection(Data=Data, ConnectionId=ConnectionId)

    renewals = []
    checkpoint = settle.Progress.checkpoint

    def spy(progress):
        renewals.append(DeliveryBatch.objects.get(pk=batch.pk).lease_expires)
        checkpoint(progress)

    with (
        patch(PATCH_CLIENT, return_value=Slow({})),
        patch.object(settle.Progress, "checkpoint", spy),
    ):
        post.deliver(batch.pk, 0, "worker-1", Mock(), 0)
    assert len(renewals) >= 3 and renewals == sorted(renewals)
    assert refreshed(report).delivered == 5


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_records_nothing(sessions, settings):
    settings.WEBSOCKETS = {"delivery_progress_every": 1, "delivery_concurrency": 1}
    report, batch = planned_batch()

    class TakenOver(ScriptedClient):
        def post_to_connection(self, *, Data, ConnectionId):
            DeliveryBatch.objects.update(lease_owner="worker-2")
            return super().post_to_connection(Data=Data, ConnectionId=ConnectionId)

    with patch(PATCH_CLIENT, return_value=TakenOver({})), patch.object(post, "executor", Inline):
        post.deliver(batch.pk, 0, "worker-1", Mock(), 0)
    batch.refresh_from_db()
    assert (batch.delivered, batch.attempt, batch.lease_owner) == (0, 0, "worker-2")
    assert refreshed(report).delivered == 0


@pytest.mark.django_db
def test_planning_that_lost_its_lease_stops(sessions, settings):
    settings.WEBSOCKETS = {"delivery_batch_size": 2}
    report = DeliveryReport.objects.create(payload="{}", selection={"filter": {}, "exclude": {}})

    def taken_over(*args):
        DeliveryReport.objects.update(lease_owner="other")

    plan.plan(report.pk, "me", taken_over)
    report = refreshed(report)
    assert (report.planned, report.recipients, report.batches.count()) == (False, 2, 1)


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_database_errors_close_the_connection_and_retry_with_backoff(error):
    task = Mock(request=Mock(id="task-1", retries=3))
    task.app.conf.task_always_eager = False  # a worker's: it retries later
    task.retry.side_effect = lambda **kw: Retry(exc=kw["exc"], when=kw["countdown"])
    owners = []

    def work(owner):
        owners.append(owner)
        raise error("server closed the connection unexpectedly")

    with (
        patch("django_aws_api_gateway_websockets.tasks.close_old_connections") as close,
        pytest.raises(Retry),
    ):
        tasks.run_owned(task, work)
    close.assert_called_once()
    assert owners == ["task-1"]  # the lease owner is the task id, the same on its retries
    assert task.retry.call_args.kwargs["max_retries"] == tasks.DATABASE_RETRIES
    assert 4 <= task.retry.call_args.kwargs["countdown"] <= 8


def test_inline_tasks_raise_database_errors():
    task = Mock(request=Mock(id="t", retries=0))
    task.app.conf.task_always_eager = True  # the test transport: nothing would retry it
    with pytest.raises(OperationalError):
        tasks.run_owned(task, Mock(side_effect=OperationalError("gone")))
    task.retry.assert_not_called()


# Transactions


@pytest.mark.django_db
def test_send_in_a_rolled_back_transaction_is_never_delivered(sessions):
    with capture_messages() as outbox, pytest.raises(RuntimeError), transaction.atomic():
        WebSocketSession.objects.all().send_message({"type": "x"})
        raise RuntimeError("roll back")
    assert outbox == []
    assert not DeliveryReport.objects.exists()


@pytest.mark.django_db
def test_send_in_a_transaction_waits_for_commit(sessions, django_capture_on_commit_callbacks):
    with (
        capture_messages() as outbox,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        transaction.atomic(),
    ):
        WebSocketSession.objects.all().send_message({"type": "x"})
        assert outbox == []
    assert len(callbacks) == 1
    assert len(outbox) == 5


@pytest.mark.django_db
def test_enqueue_makes_no_aws_call(sessions):
    factory = Mock()
    with (
        patch(PATCH_CLIENT, factory),
        patch("django_aws_api_gateway_websockets.sending.queue_plan"),
    ):
        WebSocketSession.objects.all().send_message({"type": "x"})
    factory.assert_not_called()


@pytest.mark.django_db
def test_enqueue_is_constant_in_recipients(api_gateway, django_assert_num_queries):
    WebSocketSession.objects.bulk_create(
        WebSocketSession(connection_id=f"n-{n}", api_gateway=api_gateway) for n in range(300)
    )
    with patch("django_aws_api_gateway_websockets.sending.queue_plan") as queue_plan:
        with django_assert_num_queries(1):
            WebSocketSession.objects.filter(channel_name="").send_message({"type": "x"})
        with django_assert_num_queries(1):
            WebSocketSession.objects.send_to_all({"type": "x"})
    assert queue_plan.call_count == 2


@pytest.mark.django_db
def test_a_send_of_one_batch_is_posted_by_its_planning_on_the_fast_lane(sessions):
    report = DeliveryReport.objects.create(payload="{}", selection={"filter": {}, "exclude": {}})
    with (
        patch.object(tasks, "queue_batch") as queue_batch,
        patch.object(tasks, "continue_plan") as continue_plan,
        capture_messages() as outbox,
    ):
        tasks.plan_delivery(report.pk)
    assert len(outbox) == 5
    queue_batch.assert_not_called()
    continue_plan.assert_not_called()
    report = refreshed(report)
    assert (report.planned, report.delivered, report.batches.count()) == (True, 5, 1)
    assert report.finished is not None


@pytest.mark.django_db
def test_a_larger_send_hands_its_planning_to_the_bulk_lane(sessions, settings):
    settings.WEBSOCKETS = {"delivery_batch_size": 2}
    report = DeliveryReport.objects.create(payload="{}", selection={"filter": {}, "exclude": {}})
    with (
        patch.object(tasks, "queue_batch") as queue_batch,
        patch.object(tasks, "continue_plan") as continue_plan,
    ):
        tasks.plan_delivery(report.pk)
        batch = report.batches.get()
        queue_batch.assert_called_once_with(batch.pk, 0, None, BULK)
        continue_plan.assert_called_once_with(str(report.pk))
        report = refreshed(report)
        assert (report.planned, report.recipients, report.lease_owner) == (False, 2, "")
        # The bulk lane carries on from the cursor; the fast lane, given it again, hands over.
        tasks.plan_delivery(report.pk)
        assert continue_plan.call_count == 2
        tasks.plan_delivery(report.pk, BULK)
    report = refreshed(report)
    assert (report.planned, report.recipients, report.batches.count()) == (True, 5, 3)
    assert [call.args[3] for call in queue_batch.call_args_list] == [BULK] * 3


@pytest.mark.django_db
def test_recovery_queues_a_one_batch_send_on_the_fast_lane(sessions, settings):
    settings.WEBSOCKETS = {"delivery_batch_size": 2}
    small = {"filter": {"connection_id": "c-0"}, "exclude": {}}
    report = DeliveryReport.objects.create(payload="{}", selection=small)
    large = DeliveryReport.objects.create(payload="{}", selection={"filter": {}, "exclude": {}})
    with patch.object(tasks, "queue_batch"):
        tasks.plan_delivery(report.pk, BULK)
        tasks.plan_delivery(large.pk, BULK)
    batch = report.batches.get()
    expire_leases()
    with patch.object(tasks, "queue_batch") as queue_batch:
        assert tasks.recover_deliveries() == 4
    lanes = {call.args[0]: call.args[3] for call in queue_batch.call_args_list}
    assert lanes.pop(batch.pk) == REALTIME
    assert set(lanes.values()) == {BULK}


@pytest.mark.django_db
def test_a_one_recipient_send_costs_its_planning_task_few_statements(
    sessions, django_assert_max_num_queries
):
    """Claim, read, page, record the batch, read the recipient, settle, finish: 9 statements
    and two transactions (savepoints here), with no second claim or reload of the batch the
    planning task already holds."""
    report = DeliveryReport.objects.create(
        payload="{}", selection={"filter": {"connection_id": "c-0"}, "exclude": {}}
    )
    with capture_messages() as outbox, django_assert_max_num_queries(13):
        tasks.plan_delivery(report.pk)
    assert len(outbox) == 1
    assert refreshed(report).finished is not None

"""Delivery through real Celery workers on Redis, posting to the local gateway both ways."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from django_aws_api_gateway_websockets import tasks
from django_aws_api_gateway_websockets.aws.direct_post import DirectPoster
from django_aws_api_gateway_websockets.models import DeliveryReport, WebSocketSession
from tests.support import wait_until

from .conftest import WorkerProcess

pytestmark = pytest.mark.django_db(transaction=True)


def finished(report: DeliveryReport, timeout: float = 90, recover: bool = False) -> DeliveryReport:
    """Wait for ``report`` to finish; with ``recover``, run recovery meanwhile, as beat does."""
    last_recovery = 0.0

    def done() -> bool:
        nonlocal last_recovery
        report.refresh_from_db()
        if recover and report.finished is None and time.monotonic() - last_recovery > 1:
            tasks.recover_deliveries()
            last_recovery = time.monotonic()
        return report.finished is not None

    wait_until(done, timeout, 0.05, f"delivery {report.pk} to finish")
    return report


def test_channel_broadcast_to_2000_is_delivered_exactly_once(
    live_worker, make_sessions, gateway, transport, monkeypatch
):
    direct_posts: list[str] = []
    post_directly = DirectPoster.post_to_connection

    def spy(poster: DirectPoster, *, Data: bytes, ConnectionId: str) -> None:
        direct_posts.append(ConnectionId)
        post_directly(poster, Data=Data, ConnectionId=ConnectionId)

    monkeypatch.setattr(DirectPoster, "post_to_connection", spy)
    members = make_sessions(2000, "general")
    others = make_sessions(30, "other")
    report = finished(WebSocketSession.objects.send_to_channel("general", {"type": "news"}))
    assert len(direct_posts) == (2000 if transport == "direct" else 0)
    assert (report.recipients, report.delivered, report.gone, report.failed) == (2000, 2000, 0, 0)
    assert {gateway.state.deliveries(cid) for cid in members} == {1}
    assert {gateway.state.deliveries(cid) for cid in others} == {0}
    assert report.batches.count() == 8


def test_gone_connections_are_marked_disconnected(live_worker, make_sessions, gateway):
    live = make_sessions(40, "general")
    closed = make_sessions(10, "general", live=False)
    report = finished(
        WebSocketSession.objects.filter(channel_name="general").send_message({"n": 1})
    )
    assert (report.delivered, report.gone, report.failed) == (40, 10, 0)
    disconnected = set(
        WebSocketSession.objects.filter(connected=False).values_list("connection_id", flat=True)
    )
    assert disconnected == set(closed)
    assert all(gateway.state.deliveries(cid) == 1 for cid in live)


def test_throttled_recipients_are_retried_until_delivered(live_worker, make_sessions, gateway):
    ids = make_sessions(100)
    throttled = ids[::5]
    gateway.state.set_faults(throttle_counts={cid: 2 for cid in throttled})
    report = finished(WebSocketSession.objects.send_to_all({"type": "x"}))
    # Each throttled recipient is posted again within its attempt, after the budget let it.
    assert (report.delivered, report.failed, report.retried) == (100, 0, 0)
    assert gateway.state.snapshot()["throttled_answers"] == 2 * len(throttled)
    assert {gateway.state.deliveries(cid) for cid in ids} == {1}


def test_rolled_back_send_is_never_delivered(live_worker, make_sessions, gateway):
    make_sessions(5)
    with pytest.raises(RuntimeError), transaction.atomic():
        WebSocketSession.objects.send_to_all({"type": "never"})
        raise RuntimeError("roll back")
    committed = finished(WebSocketSession.objects.send_to_all({"type": "after"}))
    assert committed.delivered == 5
    # Both sends were queued in order; only the committed one reached anyone.
    assert gateway.state.snapshot()["delivered"] == 5
    assert DeliveryReport.objects.count() == 1


def test_cleanup_task_runs_on_the_worker(live_worker, make_sessions):
    make_sessions(3)
    WebSocketSession.objects.filter(connection_id="conn-general-1").update(connected=False)
    tasks.cleanup_sessions.delay()
    wait_until(lambda: WebSocketSession.objects.count() == 2, 30, 0.05, "cleanup")
    assert not WebSocketSession.objects.filter(connection_id="conn-general-1").exists()


def test_worker_killed_mid_broadcast_loses_no_recipient(
    transactional_db,
    broker,
    websockets_settings,
    not_eager,
    make_sessions,
    gateway,
    tmp_path,
    settings,
):
    ids = make_sessions(1500)
    gateway.state.set_faults(latency_ms=20)
    websockets = {
        **websockets_settings,
        "delivery_batch_size": 100,
        "delivery_concurrency": 4,
        # Short leases, so that recovery (below, as beat would run it) takes over quickly.
        "delivery_lease_seconds": 6,
        "delivery_lease_renew_seconds": 2,
    }
    settings.WEBSOCKETS = websockets
    first = WorkerProcess(websockets, visibility_timeout=3, log=tmp_path / "worker-1.log")
    try:
        report = WebSocketSession.objects.send_to_all({"type": "x"})
        wait_until(
            lambda: gateway.state.snapshot()["delivered"] >= 300, 60, 0.05, "first deliveries"
        )
        first.kill()
    finally:
        first.stop()
    delivered_before = gateway.state.snapshot()["delivered"]
    assert delivered_before < len(ids), "the worker finished before it could be killed"
    time.sleep(3.5)  # past the visibility timeout: Redis hands the unacked batches back
    second = WorkerProcess(websockets, visibility_timeout=3, log=tmp_path / "worker-2.log")
    try:
        # Redis hands back the messages the dead worker held; what it never got to publish
        # (a retry it had recorded, say) is found by recovery, which beat runs in production.
        report = finished(report, timeout=120, recover=True)
    finally:
        second.stop()
    counts = [gateway.state.deliveries(cid) for cid in ids]
    assert min(counts) >= 1, "a recipient was lost"
    assert (report.recipients, report.delivered, report.failed) == (1500, 1500, 0)
    # At-least-once: only the batches in flight at the kill may repeat.
    assert sum(c - 1 for c in counts) <= 2 * 100

"""Publications: offsets and epochs, bounded history, recovery, and the wire envelope."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from django_aws_api_gateway_websockets import channels
from django_aws_api_gateway_websockets.channels import streams
from django_aws_api_gateway_websockets.payload import encode_message
from django_aws_api_gateway_websockets.testing import capture_messages

pytestmark = pytest.mark.django_db


def test_publications_get_consecutive_offsets_and_the_envelope(make_session):
    member = make_session(channel="room-1")
    with capture_messages() as outbox:
        first = channels.publish("room-1", {"text": "a", "$ws": "app data may hold it"})
        second = channels.publish("room-1", [1, 2])
    assert (first.offset, second.offset) == (1, 2)
    assert first.epoch == second.epoch
    assert outbox.to(member.connection_id) == [
        {
            "$ws": {
                "kind": "publication",
                "id": first.id,
                "channel": "room-1",
                "offset": 1,
                "epoch": first.epoch,
            },
            "data": {"text": "a", "$ws": "app data may hold it"},
        },
        {
            "$ws": {
                "kind": "publication",
                "id": second.id,
                "channel": "room-1",
                "offset": 2,
                "epoch": first.epoch,
            },
            "data": [1, 2],
        },
    ]


def test_plain_sends_refuse_the_reserved_key():
    with pytest.raises(ValueError, match=r"\$ws"):
        encode_message({"$ws": {}}, "id-1")


def test_publish_refuses_what_cannot_be_sent_and_keeps_nothing():
    with pytest.raises(TypeError):
        channels.publish("room-1", {"x": object()})
    with pytest.raises(ValueError, match="AWS limit"):
        channels.publish("room-1", "x" * (128 * 1024))
    with pytest.raises(ValueError, match="Invalid channel name"):
        channels.publish("no spaces", {})
    assert channels.position("room-1")[0] == 0


def test_a_rolled_back_publish_takes_no_offset(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                assert channels.publish("room-1", {"n": 1}) is None  # waits for the commit
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert channels.position("room-1")[0] == 0
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        channels.publish("room-1", {"n": 2})
    assert len(callbacks) == 1
    offset, epoch = channels.position("room-1")
    assert offset == 1
    recovery = channels.history("room-1", since=0, epoch=epoch)
    assert recovery.recovered is True
    assert [json.loads(e.data_json) for e in recovery.entries] == [{"n": 2}]


def test_recovery_gives_what_was_missed_in_order():
    for n in range(1, 6):
        channels.publish("room-1", {"n": n})
    _, epoch = channels.position("room-1")
    recovery = channels.history("room-1", since=2, epoch=epoch)
    assert (recovery.recovered, recovery.offset) == (True, 5)
    frames = channels.publication_frames("room-1", recovery)
    assert [(f["$ws"]["offset"], f["data"]) for f in frames] == [
        (3, {"n": 3}),
        (4, {"n": 4}),
        (5, {"n": 5}),
    ]
    assert channels.history("room-1", since=5, epoch=epoch).recovered is True
    assert channels.history("room-1", since=5, epoch=epoch).entries == []


def test_not_recovered_when_the_history_no_longer_covers_the_gap(settings):
    settings.WEBSOCKETS = {"channel_history": {"room-*": {"size": 3, "age_seconds": 60}}}
    for n in range(6):
        channels.publish("room-1", {"n": n})
    _, epoch = channels.position("room-1")
    gap = channels.history("room-1", since=1, epoch=epoch)
    assert (gap.recovered, gap.reason, gap.entries) == (False, "history_gap", [])
    assert channels.history("room-1", since=3, epoch=epoch).recovered is True


def test_channels_without_a_history_pattern_keep_none_but_count(settings):
    settings.WEBSOCKETS = {"channel_history": {"room-*": {"size": 3, "age_seconds": 60}}}
    channels.publish("lobby", {})
    offset, epoch = channels.position("lobby")
    assert offset == 1
    assert channels.history("lobby", since=0, epoch=epoch).reason == "history_gap"


def test_a_lost_stream_changes_the_epoch():
    channels.publish("room-1", {})
    _, epoch = channels.position("room-1")
    streams.forget("room-1")  # as a Redis restart without persistence would
    assert channels.history("room-1", since=1, epoch=epoch).reason == "epoch_changed"
    assert channels.publish("room-1", {}).offset == 1
    assert channels.position("room-1")[1] != epoch


def test_an_offset_ahead_of_the_channel_is_not_recovered():
    channels.publish("room-1", {})
    _, epoch = channels.position("room-1")
    assert channels.history("room-1", since=7, epoch=epoch).reason == "unknown_offset"


def test_resubscribing_with_recover_gets_the_missed_publications_inline(
    websocket_session, event, websocket_outbox
):
    channels.subscribe(websocket_session, "room-1")
    channels.publish("room-1", {"n": 1})
    _, epoch = channels.position("room-1")
    channels.publish("room-1", {"n": 2})
    channels.publish("room-1", {"n": 3})
    reply = event(
        {"action": "subscribe", "channel": "room-1", "recover": {"offset": 1, "epoch": epoch}}
    ).json()
    assert reply["$ws"] == {
        "kind": "subscribed",
        "channel": "room-1",
        "epoch": epoch,
        "offset": 3,
        "recovered": True,
    }
    assert [(p["$ws"]["offset"], p["data"]) for p in reply["publications"]] == [
        (2, {"n": 2}),
        (3, {"n": 3}),
    ]
    stale = event(
        {"action": "subscribe", "channel": "room-1", "recover": {"offset": 1, "epoch": "old"}}
    ).json()
    assert stale["$ws"]["recovered"] is False
    assert stale["$ws"]["reason"] == "epoch_changed"
    assert "publications" not in stale


def test_large_recoveries_post_what_does_not_fit_the_reply(websocket_session, event):
    channels.subscribe(websocket_session, "room-1")
    _, epoch = channels.position("room-1")
    with capture_messages():
        for n in range(10):
            channels.publish("room-1", {"n": n, "pad": "x" * 10_000})
    with capture_messages() as outbox:
        reply = event(
            {"action": "subscribe", "channel": "room-1", "recover": {"offset": 0, "epoch": epoch}}
        ).json()
    inline = [p["$ws"]["offset"] for p in reply["publications"]]
    posted = [m["$ws"]["offset"] for m in outbox.to("connection-1")]
    assert inline and posted
    assert sorted(inline + posted) == list(range(1, 11))


def test_history_older_than_its_age_is_not_served(settings, monkeypatch):
    settings.WEBSOCKETS = {"channel_history": {"room-*": {"size": 100, "age_seconds": 60}}}
    channels.publish("room-1", {"n": 1})
    channels.publish("room-1", {"n": 2})
    _, epoch = channels.position("room-1")
    later = streams.time.time() + 61
    monkeypatch.setattr(streams.time, "time", lambda: later)
    assert channels.history("room-1", since=0, epoch=epoch).reason == "history_gap"
    assert channels.history("room-1", since=2, epoch=epoch).recovered is True


def test_offsets_are_assigned_atomically_under_concurrent_publishers():
    from concurrent.futures import ThreadPoolExecutor

    def publish_many(worker: int) -> list[int]:
        return [streams.append("room-1", f"{worker}-{n}", "{}")[0] for n in range(25)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        offsets = [o for found in pool.map(publish_many, range(8)) for o in found]
    assert sorted(offsets) == list(range(1, 201))
    _, epoch = channels.position("room-1")
    kept = channels.history("room-1", since=100, epoch=epoch)
    assert [e.offset for e in kept.entries] == list(range(101, 201))


def test_subscribe_answers_503_when_history_is_unavailable(websocket_session, event, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args, **kwargs):
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(streams, "read", down)
    reply = event({"action": "subscribe", "channel": "room-1"})
    assert reply.status_code == 503
    assert reply.json() == {
        "$ws": {"kind": "error", "action": "subscribe", "channel": "room-1"},
        "error": "Channel history is unavailable.",
    }
    assert "room-1" in channels.channels_of(websocket_session)

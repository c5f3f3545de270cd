"""Pure pieces: config normalisation, ids, route selection and fault decisions."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from django_aws_api_gateway_websockets.localgateway import (
    Fault,
    Faults,
    GatewayConfig,
    GatewayState,
    new_connection_id,
    new_trace_id,
    select_route,
)
from django_aws_api_gateway_websockets.localgateway import faults as faults_module
from django_aws_api_gateway_websockets.localgateway.frames import FrameScanner
from django_aws_api_gateway_websockets.localgateway.ids import iso8601

from .helpers import CONNECTION_ID


def config(**overrides: object) -> GatewayConfig:
    values: dict[str, object] = {
        "api_id": "abc",
        "stage": "dev",
        "target_base_url": "http://127.0.0.1:8000/ws",
    }
    values.update(overrides)
    return GatewayConfig(**values)  # type: ignore[arg-type]


def test_config_normalises_target_and_derives_event_urls() -> None:
    routes = {"chat": "http://127.0.0.1:8000/chat/"}
    cfg = config(routes=routes)
    assert cfg.target_base_url == "http://127.0.0.1:8000/ws/"
    assert cfg.connect_url == "http://127.0.0.1:8000/ws/connect"
    assert cfg.disconnect_url == "http://127.0.0.1:8000/ws/disconnect"
    assert cfg.default_url == "http://127.0.0.1:8000/ws/default"
    routes["other"] = "x"
    assert cfg.routes == {"chat": "http://127.0.0.1:8000/chat/"}  # Copied, not shared.
    assert (cfg.host, cfg.port, cfg.max_message_bytes) == ("127.0.0.1", 8001, 131072)
    # AWS's limits, and the test controls off.
    assert (cfg.max_frame_bytes, cfg.enable_controls) == (32768, False)
    assert config(target_base_url="http://h/ws/").target_base_url == "http://h/ws/"


@pytest.mark.parametrize(
    "overrides",
    [
        {"stage": "bad/stage"},
        {"stage": ""},
        {"api_id": ""},
        {"target_base_url": ""},
        {"idle_timeout": 0},
        {"max_lifetime": -1},
        {"throttle_rate": 1.5},
        {"gone_rate": -0.5},
        {"latency_ms": -1},
        {"max_message_bytes": 0},
        {"max_frame_bytes": 0},
    ],
)
def test_config_rejects_invalid_values(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        config(**overrides)


def test_connection_ids_look_like_aws_ids() -> None:
    ids = {new_connection_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(CONNECTION_ID.fullmatch(i) for i in ids)


def test_trace_id_encodes_the_epoch() -> None:
    trace = new_trace_id(now=0x5F5E1000)
    assert trace.startswith("Root=1-5f5e1000-")
    assert len(trace.rsplit("-", 1)[1]) == 24


def test_iso8601_has_milliseconds_and_z() -> None:
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert iso8601(moment) == "2024-05-06T07:08:09.123Z"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"action": "chat"}', "chat"),
        ('{"action": "Chat"}', "$default"),
        ('{"action": "nope"}', "$default"),
        ('{"action": ["chat"]}', "$default"),
        ('"chat"', "$default"),
        ("{broken", "$default"),
        ('{"kind": "chat"}', "$default"),
    ],
)
def test_select_route(frame: str, expected: str) -> None:
    cfg = config(routes={"chat": "http://chat/"})
    key, url = select_route(cfg, frame)
    assert key == expected
    assert url == ("http://chat/" if expected == "chat" else cfg.default_url)


def test_explicit_faults_win_and_counts_are_consumed() -> None:
    faults = Faults(gone_ids={"g"}, throttle_counts={"t": 2, "g": 5})
    rng = random.Random(0)
    assert faults.decide("g", rng) is Fault.GONE
    assert [faults.decide("t", rng) for _ in range(3)] == [Fault.THROTTLED, Fault.THROTTLED, None]
    assert faults.throttle_counts == {"g": 5}


def test_a_rate_limit_is_a_token_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(faults_module.time, "monotonic", lambda: clock[0])
    faults = Faults(rate_limit=10, rate_burst=3)
    rng = random.Random(0)
    # The burst goes through, then the bucket is empty...
    assert [faults.decide("x", rng) for _ in range(4)] == [None, None, None, Fault.THROTTLED]
    # ...and refills at the rate: one request per 100 ms, never more than the burst.
    clock[0] += 0.1
    assert [faults.decide("x", rng) for _ in range(2)] == [None, Fault.THROTTLED]
    clock[0] += 60
    assert [faults.decide("x", rng) for _ in range(4)].count(None) == 3


def test_seeded_rates_replay_the_same_sequence() -> None:
    def sequence(seed: int) -> list[Fault | None]:
        faults = Faults(throttle_rate=0.3, gone_rate=0.3)
        rng = random.Random(seed)
        return [faults.decide("x", rng) for _ in range(200)]

    first = sequence(42)
    assert first == sequence(42)
    assert first != sequence(43)
    throttled = first.count(Fault.THROTTLED)
    gone = first.count(Fault.GONE)
    assert 30 < throttled < 90  # ~30% of 200
    assert 20 < gone < 70  # ~30% of the remaining ~70%
    assert first.count(None) == 200 - throttled - gone


def test_state_starts_with_config_faults_and_reseeds() -> None:
    state = GatewayState(config(throttle_rate=0.5, latency_ms=3, seed=1))
    assert state.faults_snapshot()["throttle_rate"] == 0.5
    assert state.faults_snapshot()["latency_ms"] == 3
    first = [state.decide_fault("x") for _ in range(20)]
    state.set_faults(seed=1)
    assert [state.decide_fault("x") for _ in range(20)] == first
    with pytest.raises(ValueError):
        state.set_faults(throttle_rate=2)


@pytest.mark.parametrize("chunk", [1, 3, 7, 4096])
def test_frame_scanner_follows_frames_split_anywhere(chunk: int) -> None:
    from .test_aws_fidelity import client_frame

    ok = b"".join(
        [
            client_frame(b"a" * 125),
            client_frame(b"b" * 126, fin=False),  # 16-bit length
            client_frame(b"c" * 32768, 0x0),
            client_frame(b"ping", 0x9),
        ]
    )
    scanner = FrameScanner(32768)
    assert not any(scanner.oversized_frame_in(ok[i : i + chunk]) for i in range(0, len(ok), chunk))
    too_big = client_frame(b"d" * 70000)  # 64-bit length
    found = [scanner.oversized_frame_in(too_big[i : i + chunk]) for i in range(0, 14, chunk)]
    assert any(found)


def test_config_knows_which_routes_relay_replies() -> None:
    cfg = config(
        routes={"chat": "http://h/c", "typing": "http://h/t"}, routes_without_response={"typing"}
    )
    assert [cfg.relays_reply(key) for key in ("$default", "chat", "typing")] == [True, True, False]
    assert not cfg.relays_reply("$connect") and not cfg.relays_reply("$disconnect")
    with pytest.raises(ValueError, match="unknown routes: nope"):
        config(routes_without_response={"nope"})

"""Faults with real processes: every recipient delivered within 90 s of the fault ending.

Each scenario runs a Redis of its own, prefork workers, beat (recovery every second) and
the local gateway counting posts per connection, with short leases (4 s, renewed every
second). Redis's visibility timeout stays at 3,600 s: recovery never waits for it.
"""

from __future__ import annotations

import time

from .harness import FAST_RECOVERY, System, terminate_connections

RECIPIENTS = 2000
RECOVERY_BOUND = 90
# Per process: posts since the last progress write, plus those in flight.
CONCURRENCY = 4
PROCESSES = 2
REPEATABLE = PROCESSES * (FAST_RECOVERY["delivery_progress_every"] + CONCURRENCY)
SETTINGS = {"delivery_batch_size": 250, "delivery_concurrency": CONCURRENCY}


def assert_all_delivered(system: System, ids: list[str], report_id: str, since: float) -> None:
    system.wait_delivered(ids, RECOVERY_BOUND - (time.monotonic() - since))
    deadline = time.monotonic() + 30
    while not (report := system.action("report", report_id))["finished"]:
        assert time.monotonic() < deadline, report
        time.sleep(0.5)
    assert (report["recipients"], report["delivered"], report["gone"], report["failed"]) == (
        len(ids),
        len(ids),
        0,
        0,
    )


def test_whole_worker_killed_mid_broadcast(start_system):
    system = start_system(websockets=SETTINGS)
    ids = system.seed(RECIPIENTS, "general")
    first = system.start_worker(PROCESSES)
    report = system.action("send", "general")
    system.wait_posts(400)
    first.kill()  # main process and pool children, at once
    assert min(system.deliveries(ids)) == 0, "finished before the kill"
    ended = time.monotonic()
    system.start_worker(PROCESSES)
    assert_all_delivered(system, ids, report["id"], ended)
    duplicates = sum(count - 1 for count in system.deliveries(ids))
    assert duplicates <= REPEATABLE


def test_broker_killed_and_restarted_empty_with_a_send_during_the_outage(start_system):
    system = start_system(websockets=SETTINGS)
    ids = system.seed(RECIPIENTS, "general")
    during = system.seed(100, "during")
    system.start_worker(PROCESSES)
    report = system.action("send", "general")
    system.wait_posts(400)
    system.redis.kill()
    outage_send = system.action("send", "during")  # returns normally, at once
    assert outage_send["seconds"] < 1
    time.sleep(3)
    system.redis.start()  # empty: every queued message is gone
    ended = time.monotonic()
    assert_all_delivered(system, ids, report["id"], ended)
    assert_all_delivered(system, during, outage_send["id"], ended)
    assert set(system.deliveries(during)) == {1}
    assert sum(count - 1 for count in system.deliveries(ids)) <= REPEATABLE


def test_send_while_the_broker_is_down_is_delivered_once_when_it_returns(start_system):
    system = start_system(websockets=SETTINGS)
    ids = system.seed(500, "general")
    system.start_worker(PROCESSES)
    system.redis.kill()
    sent = system.action("send", "general")
    assert sent["seconds"] < 1
    assert system.action("report", sent["id"])["published"] is False  # waits in the outbox
    time.sleep(3)
    system.redis.start()
    ended = time.monotonic()
    assert_all_delivered(system, ids, sent["id"], ended)
    time.sleep(3)  # recovery runs several more times: nothing is published again
    assert set(system.deliveries(ids)) == {1}


def test_database_connections_terminated_mid_broadcast(start_system):
    system = start_system(postgres=True, websockets=SETTINGS)
    ids = system.seed(RECIPIENTS, "general")
    system.start_worker(PROCESSES)
    report = system.action("send", "general")
    system.wait_posts(400)
    assert terminate_connections(system.database_url) > 0
    ended = time.monotonic()
    assert_all_delivered(system, ids, report["id"], ended)
    assert sum(count - 1 for count in system.deliveries(ids)) <= REPEATABLE

"""The caller's side of a send: validate, record, and queue after commit. No AWS call here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from .models import DeliveryReport
from .payload import encode_message
from .selection import Selection, describe


def enqueue(data: Any, selection: Selection) -> DeliveryReport:
    """Record a send and queue its planning task once the current transaction commits.

    A send made inside a transaction that rolls back is never queued.
    """
    report_id = uuid.uuid4()
    report = DeliveryReport.objects.create(
        id=report_id,
        payload=encode_message(data, str(report_id)),
        selection=selection,
        description=describe(selection),
    )
    run_after_commit(lambda: _queue_plan(report_id))
    return report


def _queue_plan(report_id: uuid.UUID) -> None:
    from .tasks import plan_delivery

    plan_delivery.delay(str(report_id))


def run_after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` when the transaction commits, or now outside one.

    Atomic blocks opened by Django's ``TestCase`` never commit; they count as outside a
    transaction here, so that eager tasks deliver inside tests as they would in production.
    """
    blocks = getattr(connection, "atomic_blocks", [])
    if all(getattr(block, "_from_testcase", False) for block in blocks):
        callback()
    else:
        transaction.on_commit(callback)

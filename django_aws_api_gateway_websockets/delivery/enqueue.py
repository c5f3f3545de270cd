"""The caller's side of a send: validate, record, and run a callback after commit.

No AWS call and no recipient row is touched here, so a send costs the caller the same for
one recipient as for a million.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from ..models import DeliveryReport
from ..models.selections import Selection, describe
from ..payload import encode_message


def record(data: Any, selection: Selection) -> DeliveryReport:
    """Encode ``data`` (``TypeError``/``ValueError`` when it cannot be sent) and save its report."""
    report_id = uuid.uuid4()
    return DeliveryReport.objects.create(
        id=report_id,
        payload=encode_message(data, str(report_id)),
        selection=selection,
        description=describe(selection),
    )


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

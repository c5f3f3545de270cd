"""The outbox: a send's report, recorded in the caller's transaction and claimed once to publish.

``sending.send()`` is the caller's side that uses it. The report carries whether its planning
was handed to the broker (``published_on``); no AWS call and no recipient row is touched here,
so a send costs the caller the same for one recipient as for a million.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from ..models import DeliveryReport
from ..models.selections import Selection, describe
from ..payload import encode_message
from ..transactions import outside_transactions, run_after_commit
from . import lease

__all__ = ["claim_and_publish", "outside_transactions", "record", "run_after_commit"]


def record(data: Any, selection: Selection) -> DeliveryReport:
    """Encode ``data`` (``TypeError``/``ValueError`` when it cannot be sent) and save its report."""
    report_id = uuid.uuid4()
    return DeliveryReport.objects.create(
        id=report_id,
        payload=encode_message(data, str(report_id)),
        selection=selection,
        description=describe(selection),
    )


def claim_and_publish(report_id: str, publish: Callable[[], bool]) -> bool:
    """Publish a send's planning unless someone already did; return whether this call did.

    The row is claimed first (one conditional UPDATE), so the caller and the recovery task
    never both publish it; when the broker does not take the message the claim is undone
    and the send waits in the outbox for the next recovery run.
    """
    waiting = DeliveryReport.objects.filter(pk=report_id, published_on=None)
    if not waiting.update(published_on=timezone.now(), **lease.queued()):
        return False
    if publish():
        return True
    DeliveryReport.objects.filter(pk=report_id).update(published_on=None)
    return False

"""The caller's side of every send: validate and record it, publish its planning after commit.

Every send of the app comes through ``send()``: 4.x's model methods, the channels API, the
built-in actions. It costs the caller one INSERT (the outbox, ``delivery.enqueue``) and, once
the caller's transaction commits, one publish: no AWS call and no recipient row, so a send
costs the same for one recipient as for a million. The worker resolves the recipients.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from . import metrics, tracing
from .delivery import enqueue
from .models import DeliveryReport
from .models.selections import Selection
from .publishing import publisher
from .tasks import plan_delivery, release_from_outbox


def send(data: Any, selection: Selection) -> DeliveryReport:
    """Record a send in the caller's transaction; publish its planning after commit.

    Raises ``TypeError`` or ``ValueError``, and records nothing, when ``data`` cannot be sent.
    """
    with tracing.span("websockets.send", kind="producer") as span:
        report = enqueue.record(data, selection)
        tracing.set_attributes(span, {"websockets.delivery_id": str(report.pk)})
        # Captured now: the planning is published after commit, maybe outside this span.
        queue_plan(str(report.pk), tracing.carrier())
    metrics.send_recorded()
    return report


def queue_plan(report_id: str, headers: dict[str, str] | None = None) -> None:
    """Publish a send's planning from the outbox once the caller's transaction commits."""
    publisher(plan_delivery.app).after_commit(partial(release_from_outbox, report_id, headers))


def delivers_eagerly() -> bool:
    """Whether sends are delivered before they return (``CELERY_TASK_ALWAYS_EAGER``)."""
    return publisher(plan_delivery.app).inline

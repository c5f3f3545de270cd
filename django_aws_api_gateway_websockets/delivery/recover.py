"""Take over delivery work nobody holds any more, and publish sends left in the outbox.

Run often (every 15 s on beat): a dead worker stops renewing its leases, a broker that lost
its messages leaves leases that no task claims; either way the lease expires and the work
is queued again here. Every takeover is a conditional UPDATE, so two recoverers never both
queue the same work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..conf import app_settings
from ..models import DeliveryBatch, DeliveryReport
from . import BULK, REALTIME, QueueBatch, QueuePlan, lease

logger = logging.getLogger(__name__)

# Rows looked at per kind and run, so one run stays short however much is stuck.
LIMIT = 1000


def recover(
    release_from_outbox: Callable[[str], bool], queue_plan: QueuePlan, queue_batch: QueueBatch
) -> int:
    """Publish what waits in the outbox, queue again work whose lease expired; return how many."""
    recovered = sum(
        release_from_outbox(str(pk))
        for pk in DeliveryReport.objects.filter(planned=False, published_on=None)
        .order_by("created_on")
        .values_list("pk", flat=True)[:LIMIT]
    )
    plans = DeliveryReport.objects.filter(planned=False, published_on__isnull=False)
    for pk in plans.filter(lease.expired()).values_list("pk", flat=True)[:LIMIT]:
        if plans.filter(lease.expired(), pk=pk).update(**lease.queued()):
            queue_plan(str(pk))
            recovered += 1
    batches = DeliveryBatch.objects.filter(done=False)
    expired = batches.filter(lease.expired()).values_list(
        "pk", "attempt", "report__planned", "report__recipients"
    )
    size = app_settings.delivery_batch_size
    for batch_pk, attempt, planned, recipients in expired[:LIMIT]:
        if batches.filter(lease.expired(), pk=batch_pk, attempt=attempt).update(**lease.queued()):
            # The batch of a one-batch send goes back to the fast lane.
            lane = REALTIME if planned and recipients <= size else BULK
            queue_batch(batch_pk, attempt, None, lane)
            recovered += 1
    if recovered:
        logger.warning("Recovered %d delivery items (outbox, expired leases)", recovered)
    return recovered

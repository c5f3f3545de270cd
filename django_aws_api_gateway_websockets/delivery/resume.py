"""Find the work a lost task message left behind, and queue it again."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from ..conf import app_settings
from ..models import DeliveryBatch, DeliveryReport
from . import QueueBatch, QueuePlan

logger = logging.getLogger(__name__)


def resume_stalled(queue_batch: QueueBatch, queue_plan: QueuePlan) -> int:
    """Queue again batches and plans untouched for too long; return how many were resumed."""
    cutoff = timezone.now() - timedelta(seconds=app_settings.delivery_stall_seconds)
    resumed = 0
    for batch_id, attempt in DeliveryBatch.objects.filter(
        done=False, updated_on__lt=cutoff
    ).values_list("pk", "attempt"):
        DeliveryBatch.objects.filter(pk=batch_id).update(updated_on=timezone.now())
        queue_batch(batch_id, attempt, None)
        resumed += 1
    for report_id in DeliveryReport.objects.filter(
        planned=False, created_on__lt=cutoff
    ).values_list("pk", flat=True):
        queue_plan(str(report_id))
        resumed += 1
    if resumed:
        logger.warning("Resumed %d stalled delivery items", resumed)
    return resumed

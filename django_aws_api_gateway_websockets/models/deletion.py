"""Delete many rows without holding locks for long."""

from __future__ import annotations

import logging

from django.db.models import QuerySet

from ..conf import app_settings

logger = logging.getLogger(__name__)


def delete_in_batches(queryset: QuerySet, what: str, batch_size: int | None = None) -> int:
    """Delete the rows of ``queryset`` ``batch_size`` at a time; return how many went.

    Each batch is one statement, ``DELETE ... WHERE pk IN (SELECT pk ... LIMIT size)``, so no
    statement holds locks for long however many rows are due, and a second run removes
    nothing more.
    """
    size = batch_size or app_settings.cleanup_batch_size
    model = queryset.model
    total = 0
    batch = model._default_manager.filter(pk__in=queryset.values("pk")[:size])
    while deleted := batch.delete()[1].get(model._meta.label, 0):
        total += deleted
        if total % (size * 10) == 0:
            logger.info("Deleting %s: %d so far", what, total)
    logger.info("Deleted %d %s", total, what)
    return total

"""Delivery reports (one per send) and their batches (one per slice of recipients).

Both are units of work held through a lease: whoever holds an unexpired lease (a worker,
or the broker while the task message waits in a queue) owns the work; an expired lease
means the work was lost (a dead worker, a broker that lost its messages) and is taken over.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import models


class LeasedWork(models.Model):
    """A unit of delivery work and who holds it until when."""

    lease_owner = models.CharField(
        max_length=64, blank=True, default="", help_text="The task running it; empty: queued."
    )
    lease_expires = models.DateTimeField(
        null=True, blank=True, help_text="Taken over by recovery after this."
    )

    class Meta:
        abstract = True


class DeliveryReport(LeasedWork):
    """What happened to one send: who it was for and how each recipient fared.

    Its id travels inside the posted JSON as ``delivery_id``, so clients can drop the
    duplicates that at-least-once delivery may produce.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    description = models.CharField(max_length=255, blank=True, default="")
    payload = models.TextField(help_text="The JSON posted to each connection.")
    selection = models.JSONField(help_text="Which sessions receive it, resolved by the worker.")
    planned = models.BooleanField(
        default=False, help_text="Every recipient has been assigned to a batch."
    )
    plan_cursor = models.BigIntegerField(default=0)
    published_on = models.DateTimeField(
        null=True, blank=True, help_text="When its planning was queued; empty: in the outbox."
    )
    batches_pending = models.IntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    gone = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    retried = models.PositiveIntegerField(default=0)
    created_on = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    error = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Why the send failed as a whole (its recipients could not be resolved).",
    )

    class Meta(LeasedWork.Meta):
        ordering = ["-created_on"]
        indexes = [
            models.Index(fields=["finished", "created_on"]),
            models.Index(fields=["planned", "published_on"], name="report_outbox_idx"),
            models.Index(fields=["planned", "lease_expires"], name="report_lease_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.description or 'send'} ({self.id})"

    @property
    def settled(self) -> int:
        """Recipients with a final outcome."""
        return self.delivered + self.gone + self.failed

    @property
    def recipients_known(self) -> bool:
        """Whether planning has counted the recipients (until then ``progress`` is 0.0)."""
        return self.planned or bool(self.recipients)

    @property
    def progress(self) -> float:
        """Share of recipients settled, 0.0-1.0: 0.0 until ``recipients_known``."""
        if not self.recipients:
            return 1.0 if self.planned else 0.0
        return self.settled / self.recipients


class DeliveryBatch(LeasedWork):
    """A slice of one send's recipients, posted by one task and retried as a unit of work."""

    report = models.ForeignKey(DeliveryReport, on_delete=models.CASCADE, related_name="batches")
    if TYPE_CHECKING:  # what Django adds, declared for checkers without the Django plugin
        report_id: int
    session_ids = models.JSONField()
    pending = models.JSONField(help_text="Session ids still to post on the next attempt.")
    attempt = models.PositiveSmallIntegerField(default=0)
    failed_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts that met real errors (5xx, network), not throttling."
    )
    done = models.BooleanField(default=False)
    delivered = models.PositiveIntegerField(default=0)
    gone = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta(LeasedWork.Meta):
        verbose_name_plural = "delivery batches"
        indexes = [
            models.Index(fields=["done", "updated_on"]),
            models.Index(fields=["done", "lease_expires"], name="batch_lease_idx"),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.report_id}"

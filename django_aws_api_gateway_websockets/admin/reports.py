"""Admin pages for delivery reports and their batches."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from ..models import (
    DeliveryBatch,
    DeliveryReport,
)
from .base import ReadOnlyAdmin


class DeliveryBatchInline(admin.TabularInline):
    model = DeliveryBatch
    fields = readonly_fields = (
        "attempt",
        "done",
        "delivered",
        "gone",
        "failed",
        "recipients",
        "updated_on",
        "lease_expires",
    )
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="recipients")
    def recipients(self, obj: DeliveryBatch) -> int:
        return len(obj.session_ids)


def count_column(name: str) -> Any:
    """A list column of the count ``name``, with thousands separators, on one line."""

    @admin.display(description=name, ordering=name)
    def column(obj: DeliveryReport) -> str:
        return format_html(NOWRAP, f"{getattr(obj, name):,}")

    return column


NOWRAP = '<span style="white-space: nowrap">{}</span>'


@admin.register(DeliveryReport)
class DeliveryReportAdmin(ReadOnlyAdmin):
    COUNTS = ["recipients", "delivered", "gone", "failed", "retried"]
    # Narrow enough for 1400 px beside the admin's navigation: a short id, the state in the
    # progress column, no filter sidebar (the date drill-down sits above the list).
    list_display = [
        "short_id",
        "description",
        "created_on",
        "progress_bar",
        *(count_column(name) for name in COUNTS),
    ]
    list_display_links = ["short_id"]
    date_hierarchy = "created_on"
    search_fields = ["id", "description"]
    fields = readonly_fields = (
        "id",
        "description",
        "progress_bar",
        *COUNTS,
        "batches_pending",
        "planned",
        "published_on",
        "created_on",
        "started",
        "finished",
        "payload",
        "selection",
    )
    inlines = [DeliveryBatchInline]

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: DeliveryReport) -> str:
        """The first 8 hex digits (the whole id on hover and on the report's page)."""
        return format_html(
            '<span style="font-family: monospace" title="{}">{}</span>', obj.pk, str(obj.pk)[:8]
        )

    @admin.display(description="progress")
    def progress_bar(self, obj: DeliveryReport) -> str:
        if not obj.recipients_known:
            return "planning…"
        progress = obj.progress
        state = "done" if obj.finished else "running"
        return format_html(
            '<progress max="100" value="{}"></progress> {} {}',
            round(progress * 100),
            format_html(NOWRAP, f"{round(progress * 100)}% {state}"),
            format_html(NOWRAP, f"({obj.settled:,} of {obj.recipients:,})"),
        )

"""Admin pages for gateways, sessions, tokens, rate-limit rows and delivery reports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .aws.remote import ApiGatewaySyncError
from .aws.sync import check
from .models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ConnectionRateLimit,
    DeliveryBatch,
    DeliveryReport,
    WebSocketSession,
    WebSocketToken,
)
from .models.gateways import push_enabled

logger = logging.getLogger(__name__)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the system itself: viewable only.

    Cleanup removes them on its schedule; deleting one by hand (a report under delivery, a
    token in use) would only confuse the work that owns it.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApiGatewayAdditionalRouteInline(admin.TabularInline):
    model = ApiGatewayAdditionalRoute
    extra = 1
    readonly_fields = ["deployed"]


@admin.register(ApiGateway)
class ApiGatewayAdmin(admin.ModelAdmin):
    search_fields = ["api_name", "domain_name", "api_id"]
    list_display = [
        "api_name",
        "domain_name",
        "default_channel_name",
        "api_id",
        "stage_name",
        "api_created",
        "custom_domain_created",
        "created_on",
    ]
    list_filter = ["api_created", "custom_domain_created"]
    date_hierarchy = "created_on"
    readonly_fields = ["deployment_id", "api_created", "custom_domain_created"]
    inlines = [ApiGatewayAdditionalRouteInline]
    actions = [
        "create_api_gateway",
        "create_custom_domain",
        "sync_to_aws",
        "sync_from_aws",
        "check_api_gateway",
        "rotate_gateway_secret",
    ]

    @admin.action(description="Create API Gateway in AWS")
    def create_api_gateway(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._provision(request, queryset, "create_gateway", "API Gateway")

    @admin.action(description="Create custom domain in AWS")
    def create_custom_domain(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._provision(request, queryset, "create_custom_domain", "custom domain")

    @admin.action(description="Sync to AWS (routes, route responses, integrations, stage)")
    def sync_to_aws(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._each(request, queryset, "syncing to AWS", lambda g: _changes(g.sync_to_aws()))

    @admin.action(description="Sync from AWS (read the deployed API into the records)")
    def sync_from_aws(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._each(request, queryset, "syncing from AWS", lambda g: _changes(g.sync_from_aws()))

    @admin.action(description="Check the deployed API in AWS")
    def check_api_gateway(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._each(request, queryset, "checking", _check)

    @admin.action(description="Rotate the gateway secret")
    def rotate_gateway_secret(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        def rotate(gateway: ApiGateway) -> tuple[int, str]:
            gateway.rotate_gateway_secret()
            return messages.SUCCESS, (
                "new secret sent to AWS; the old one is accepted until a later 'Sync to AWS' "
                "finds nothing to change."
            )

        self._each(request, queryset, "rotating the secret", rotate)

    def save_model(self, request: HttpRequest, obj: ApiGateway, form: Any, change: bool) -> None:
        """Saved here, pushed to AWS after the commit; an AWS failure is a message, not a 500."""
        obj.save(push_to_aws=False)
        if change and obj.is_deployed and push_enabled(None) and form.changed_data:
            queryset = ApiGateway.objects.filter(pk=obj.pk)
            transaction.on_commit(
                lambda: self._each(
                    request, queryset, "syncing to AWS", lambda g: _changes(g.sync_to_aws())
                )
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not ApiGatewayAdditionalRoute:
            return super().save_formset(request, form, formset, change)
        for route in formset.save(commit=False):
            save_route(self, request, route)
        for route in formset.deleted_objects:
            route.delete()

    def _provision(
        self, request: HttpRequest, queryset: QuerySet[ApiGateway], method: str, what: str
    ) -> None:
        def provision(gateway: ApiGateway) -> tuple[int, str]:
            if getattr(gateway, method)():
                return messages.SUCCESS, f"{what} created."
            return messages.INFO, f"{what} already existed."

        self._each(
            request,
            queryset,
            f"creating the {what}",
            provision,
            "; nothing was marked created, so the action can be repeated",
        )

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[ApiGateway],
        doing: str,
        run: Callable[[ApiGateway], tuple[int, str]],
        after_failure: str = "",
    ) -> None:
        """``run`` each gateway; its answer, a ValueError or an AWS failure as a message."""
        for gateway in queryset:
            logger.info("%s: %s %r (pk %s)", request.user, doing, gateway.api_name, gateway.pk)
            try:
                level, text = run(gateway)
            except ValueError as exc:
                self.message_user(request, f"{gateway}: {exc}", messages.ERROR)
            except Exception as exc:
                logger.exception("%s %r failed", doing, gateway.api_name)
                self.message_user(
                    request,
                    f"{gateway}: {doing} failed ({type(exc).__name__}: {exc}){after_failure}.",
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"{gateway}: {text}", level)


def save_route(
    modeladmin: admin.ModelAdmin, request: HttpRequest, route: ApiGatewayAdditionalRoute
) -> None:
    """Save a route; when AWS refuses it, the record is kept and the admin says so."""
    try:
        route.save()
    except ApiGatewaySyncError as exc:
        modeladmin.message_user(
            request,
            f"{route}: saved, but AWS refused the change ({exc}); run 'Sync to AWS' on its "
            "gateway to try again.",
            messages.ERROR,
        )


def _changes(changes: list[str]) -> tuple[int, str]:
    if not changes:
        return messages.INFO, "already up to date."
    return messages.SUCCESS, "; ".join(changes) + "."


def _check(gateway: ApiGateway) -> tuple[int, str]:
    if not gateway.is_deployed:
        raise ValueError("not deployed in AWS yet.")
    differences = check(gateway)
    if not differences:
        return messages.SUCCESS, "the deployed API has everything this package needs."
    return messages.WARNING, "; ".join(str(d) for d in differences) + "."


@admin.register(ApiGatewayAdditionalRoute)
class ApiGatewayAdditionalRouteAdmin(admin.ModelAdmin):
    search_fields = ["name", "route_key"]
    list_display = [
        "name",
        "api_gateway",
        "route_key",
        "integration_url",
        "route_response",
        "deployed",
    ]
    list_filter = ["api_gateway", "deployed"]
    readonly_fields = ["deployed"]

    def save_model(
        self, request: HttpRequest, obj: ApiGatewayAdditionalRoute, form: Any, change: bool
    ) -> None:
        save_route(self, request, obj)


@admin.register(WebSocketSession)
class WebSocketSessionAdmin(admin.ModelAdmin):
    search_fields = ["connection_id", "channel_name"]
    raw_id_fields = ["user"]
    list_display = [
        "connection_id",
        "channel_name",
        "api_gateway",
        "user",
        "connected",
        "request_count",
        "created_on",
        "updated_on",
    ]
    list_filter = ["connected", "api_gateway"]
    list_select_related = ["user", "api_gateway"]
    date_hierarchy = "created_on"
    actions = ["send_test_message", "disconnect_sessions"]

    @admin.action(description="Send a test message")
    def send_test_message(self, request: HttpRequest, queryset: QuerySet[WebSocketSession]) -> None:
        report = queryset.send_message(
            {
                "type": "test",
                "message": f"Test message from {request.user} at {timezone.now():%H:%M:%S}",
            }
        )
        self.message_user(
            request,
            format_html(
                'Test message queued for the connected sessions selected; see its <a href="{}">'
                "delivery report</a>.",
                reverse(
                    "admin:django_aws_api_gateway_websockets_deliveryreport_change",
                    args=[report.pk],
                ),
            ),
            messages.SUCCESS,
        )

    @admin.action(description="Disconnect (close the WebSocket)")
    def disconnect_sessions(
        self, request: HttpRequest, queryset: QuerySet[WebSocketSession]
    ) -> None:
        closed = failed = 0
        for session in queryset.filter(connected=True).select_related("api_gateway"):
            try:
                session.disconnect()
            except Exception as exc:
                failed += 1
                logger.exception("Disconnecting %s failed", session.connection_id)
                self.message_user(request, f"{session}: disconnect failed ({exc}).", messages.ERROR)
            else:
                closed += 1
        self.message_user(
            request,
            f"{closed} session(s) disconnected, {failed} failed.",
            messages.SUCCESS if not failed else messages.WARNING,
        )


@admin.register(WebSocketToken)
class WebSocketTokenAdmin(ReadOnlyAdmin):
    list_display = ["token_preview", "user", "session_key", "created_at", "used"]
    list_filter = ["used", "created_at"]
    search_fields = ["user__username", "user__email", "session_key"]
    list_select_related = ["user"]

    @admin.display(description="token")
    def token_preview(self, obj: WebSocketToken) -> str:
        return str(obj)


@admin.register(ConnectionRateLimit)
class ConnectionRateLimitAdmin(ReadOnlyAdmin):
    list_display = ["ip_address", "user", "attempt_time", "successful"]
    list_filter = ["successful", "attempt_time"]
    search_fields = ["ip_address", "user__username", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "attempt_time"


class DeliveryBatchInline(admin.TabularInline):
    model = DeliveryBatch
    fields = ["attempt", "done", "delivered", "gone", "failed", "recipients", "updated_on"]
    readonly_fields = fields
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
    readonly_fields = [
        "id",
        "description",
        "progress_bar",
        *COUNTS,
        "batches_pending",
        "planned",
        "created_on",
        "started",
        "finished",
        "payload",
        "selection",
    ]
    fields = readonly_fields
    inlines = [DeliveryBatchInline]

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: DeliveryReport) -> str:
        """The first 8 hex digits (the whole id on hover and on the report's page)."""
        return format_html(
            '<span style="font-family: monospace" title="{}">{}</span>', obj.pk, str(obj.pk)[:8]
        )

    @admin.display(description="progress")
    def progress_bar(self, obj: DeliveryReport) -> str:
        progress = obj.progress
        if progress is None:
            return "planning…"
        state = "done" if obj.finished else "running"
        return format_html(
            '<progress max="100" value="{}"></progress> {} {}',
            round(progress * 100),
            format_html(NOWRAP, f"{round(progress * 100)}% {state}"),
            format_html(NOWRAP, f"({obj.settled:,} of {obj.recipients:,})"),
        )

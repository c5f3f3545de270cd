"""Admin pages for gateways, sessions, tokens, rate-limit rows and delivery reports."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ConnectionRateLimit,
    DeliveryBatch,
    DeliveryReport,
    WebSocketSession,
    WebSocketToken,
)

logger = logging.getLogger(__name__)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the system itself: viewable and deletable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
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
    actions = ["create_api_gateway", "create_custom_domain"]

    @admin.action(description="Create API Gateway in AWS")
    def create_api_gateway(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._provision(request, queryset, "create_gateway", "API Gateway")

    @admin.action(description="Create custom domain in AWS")
    def create_custom_domain(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._provision(request, queryset, "create_custom_domain", "custom domain")

    def _provision(
        self, request: HttpRequest, queryset: QuerySet[ApiGateway], method: str, what: str
    ) -> None:
        for gateway in queryset:
            logger.info("%s: %s for %r (pk %s)", request.user, method, gateway.api_name, gateway.pk)
            try:
                created = getattr(gateway, method)()
            except ValueError as exc:
                self.message_user(request, f"{gateway}: {exc}", messages.ERROR)
            except Exception as exc:
                logger.exception("%s failed for %r", method, gateway.api_name)
                self.message_user(
                    request,
                    f"{gateway}: creating the {what} failed ({type(exc).__name__}: {exc}); "
                    "nothing was marked created, so the action can be repeated.",
                    messages.ERROR,
                )
            else:
                if created:
                    self.message_user(request, f"{gateway}: {what} created.", messages.SUCCESS)
                else:
                    self.message_user(request, f"{gateway}: {what} already existed.", messages.INFO)


@admin.register(ApiGatewayAdditionalRoute)
class ApiGatewayAdditionalRouteAdmin(admin.ModelAdmin):
    search_fields = ["name", "route_key"]
    list_display = ["name", "api_gateway", "route_key", "integration_url", "deployed"]
    list_filter = ["api_gateway", "deployed"]
    readonly_fields = ["deployed"]


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
    fields = [
        "attempt",
        "done",
        "delivered",
        "gone",
        "failed",
        "recipients",
        "updated_on",
        "lease_expires",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="recipients")
    def recipients(self, obj: DeliveryBatch) -> int:
        return len(obj.session_ids)


@admin.register(DeliveryReport)
class DeliveryReportAdmin(ReadOnlyAdmin):
    COUNTS = ["recipients", "delivered", "gone", "failed", "retried"]
    list_display = ["id", "description", "created_on", "progress_bar", *COUNTS, "finished"]
    list_filter = ["created_on", "finished"]
    search_fields = ["id", "description"]
    readonly_fields = [
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
    ]
    fields = readonly_fields
    inlines = [DeliveryBatchInline]

    @admin.display(description="progress")
    def progress_bar(self, obj: DeliveryReport) -> str:
        progress = obj.progress
        if progress is None:
            return "planning…"
        state = "done" if obj.finished else "running"
        return format_html(
            '<progress max="100" value="{}"></progress> {}% {} ({} of {})',
            round(progress * 100),
            round(progress * 100),
            state,
            obj.settled,
            obj.recipients,
        )

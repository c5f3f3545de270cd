"""Admin pages for sessions, channel rules, tokens and connection attempts."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from ..models import (
    ChannelPermission,
    ChannelPermissionRule,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketSessionQuerySet,
    WebSocketToken,
)
from .base import PermissionCheckedAdmin, ReadOnlyAdmin

logger = logging.getLogger(__name__)


@admin.register(WebSocketSession)
class WebSocketSessionAdmin(PermissionCheckedAdmin):
    """Read-only: sessions are made by ``$connect``; editing one would let staff attach a
    live connection to another user. Deleting and the actions follow their permissions."""

    search_fields = ["connection_id", "channel_name"]
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
    # Keyed hashes of credentials: of no use to read, so neither shown nor filtered on.
    exclude = hidden_fields = ("session_key_hash", "auth_hash")
    actions = ["send_test_message", "disconnect_sessions"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_send_test_message_permission(self, request: HttpRequest) -> bool:
        return self.has_model_permission(request, "send_test_message")

    def has_disconnect_session_permission(self, request: HttpRequest) -> bool:
        return self.has_model_permission(request, "disconnect_session")

    @admin.action(description="Send a test message", permissions=["send_test_message"])
    def send_test_message(self, request: HttpRequest, queryset: WebSocketSessionQuerySet) -> None:
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

    @admin.action(
        description="Disconnect (close the WebSocket)", permissions=["disconnect_session"]
    )
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
    list_display = ["token_preview", "user", "created_at", "used"]
    list_filter = ["used", "created_at"]
    search_fields = ["user__username", "user__email"]
    # Keyed hashes of the browser's session key and of the token: neither listed, searched,
    # filtered nor shown (the list shows a fingerprint of the token's hash, to tell rows apart).
    exclude = hidden_fields = ("session_key", "token")
    list_select_related = ["user"]

    @admin.display(description="token fingerprint")
    def token_preview(self, obj: WebSocketToken) -> str:
        return obj.fingerprint


class ChannelPermissionRuleInline(admin.TabularInline):
    model = ChannelPermissionRule
    extra = 0
    filter_horizontal = ["permissions"]


@admin.register(ChannelPermission)
class ChannelPermissionAdmin(PermissionCheckedAdmin):
    list_display = ["channel_name", "access", "rules_summary", "updated_on"]
    list_filter = ["access"]
    search_fields = ["channel_name", "description"]
    inlines = [ChannelPermissionRuleInline]

    @admin.display(description="rules")
    def rules_summary(self, obj: ChannelPermission) -> str:
        """The rules, OR-ed; they only matter with the "permissions" access."""
        if obj.access != ChannelPermission.Access.PERMISSIONS:
            return "-"
        return "  OR  ".join(str(rule) for rule in obj.rules.all()) or "(no rules: nobody)"


@admin.register(ConnectionRateLimit)
class ConnectionRateLimitAdmin(ReadOnlyAdmin):
    list_display = ["ip_address", "user", "attempt_time", "successful"]
    list_filter = ["successful", "attempt_time"]
    search_fields = ["ip_address", "user__username", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "attempt_time"

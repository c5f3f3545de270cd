"""API Gateway connections, and the queryset that sends to them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import models

from .. import signals
from .credentials import user_auth_matches
from .gateways import ApiGateway
from .selections import Selection, apply, from_queryset, structured

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from .reports import DeliveryReport


def send(data: Any, selection: Selection) -> DeliveryReport:
    """Queue ``data`` for the sessions ``selection`` stands for (the delivery engine's entry)."""
    # The one import up the layers: the 4.x send methods live on models, the engine above.
    from .. import tasks

    return tasks.send(data, selection)


class WebSocketSessionQuerySet(models.QuerySet["WebSocketSession"]):
    def connected(self) -> WebSocketSessionQuerySet:
        return self.filter(connected=True)

    def selected(self, selection: Selection) -> WebSocketSessionQuerySet:
        """The connected sessions ``selection`` stands for, unordered."""
        return apply(selection, self.all()).filter(connected=True)

    def send_message(self, data: Any, max_workers: int | None = None) -> DeliveryReport:
        """Queue ``data`` for every connected session of this queryset; return its report.

        ``max_workers`` is accepted for 4.x callers and has no effect: the posting threads
        belong to the workers (``WEBSOCKETS["delivery_concurrency"]``), not to the caller.
        """
        return send(data, from_queryset(self))

    def send_to_channel(
        self, channel_name: str, data: Any, *, exclude: str | None = None
    ) -> DeliveryReport:
        """Queue ``data`` for a channel, optionally leaving out one connection (the sender).

        Every connection in the channel gets it once: those that connected to it and those
        subscribed to it (``models.subscriptions.in_channel``).
        """
        return self._send_structured(data, {}, exclude, channel=channel_name)

    def send_to_user(
        self, user: AbstractBaseUser | int, data: Any, *, exclude: str | None = None
    ) -> DeliveryReport:
        """Queue ``data`` for every connection of one user (all tabs and devices)."""
        return self._send_structured(data, {"user_id": getattr(user, "pk", user)}, exclude)

    def send_to_all(self, data: Any, *, exclude: str | None = None) -> DeliveryReport:
        """Queue ``data`` for every connected session."""
        return self._send_structured(data, {}, exclude)

    def _send_structured(
        self,
        data: Any,
        filters: dict[str, Any],
        exclude: str | None,
        channel: str | None = None,
    ) -> DeliveryReport:
        excludes = {"connection_id": exclude} if exclude else {}
        return send(data, structured(filters, excludes, channel))


class WebSocketSession(models.Model):
    """One API Gateway connection."""

    connection_id = models.CharField(max_length=255, unique=True)
    channel_name = models.CharField(
        max_length=128, blank=True, default="", help_text="Used to group connections together"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        default=None,
        on_delete=models.CASCADE,
        related_name="websocket_sessions",
    )
    connected = models.BooleanField(default=True)
    api_gateway = models.ForeignKey(
        ApiGateway,
        null=True,
        blank=True,
        default=None,
        on_delete=models.SET_NULL,
        related_name="sessions",
    )
    request_count = models.PositiveBigIntegerField(default=1)
    session_key_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        help_text="Keyed hash of the Django session that connected: logging out closes it.",
    )
    auth_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Keyed hash of the user's login: a password change closes the connection.",
    )
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    if TYPE_CHECKING:
        objects: ClassVar[WebSocketSessionQuerySet]
        user_id: int | None  # what Django adds, for checkers without the Django plugin
    else:
        objects = WebSocketSessionQuerySet.as_manager()

    class Meta:
        verbose_name = "WebSocket session"
        # The admin's actions on sessions (docs/commands.md, "Admin"); the page itself is
        # read-only for everyone.
        permissions = [
            ("disconnect_session", "Can close connections through AWS (DeleteConnection)"),
            ("send_test_message", "Can send a test message to connections"),
        ]
        indexes = [
            models.Index(fields=["connection_id", "connected"]),
            models.Index(fields=["channel_name", "connection_id"]),
            models.Index(fields=["channel_name", "connected"]),
            models.Index(fields=["connected", "created_on"]),
        ]

    def __str__(self) -> str:
        return self.connection_id

    def send_message(self, data: Any) -> DeliveryReport:
        """Queue ``data`` for this connection; return its delivery report."""
        return WebSocketSession.objects.all()._send_structured(data, {"pk": self.pk}, None)

    def login_still_holds(self) -> bool:
        """False once the user was deactivated or changed their password since connecting.

        Sessions recorded without an ``auth_hash`` (anonymous, or before 4.x stored one)
        are only checked for ``is_active``. A hash made before ``SECRET_KEY`` was rotated
        still holds while the old key is in ``SECRET_KEY_FALLBACKS``.
        """
        user = self.user
        if user is None:
            return True
        if not user.is_active:
            return False
        return not self.auth_hash or user_auth_matches(self.auth_hash, user)

    def disconnect(self) -> None:
        """Ask API Gateway to close the connection and mark the session disconnected."""
        from ..aws.clients import delete_connection
        from .gone import mark_one_gone

        delete_connection(self)
        mark_one_gone(self, signals.REASON_CLOSED)

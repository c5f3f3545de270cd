"""API Gateway connections, the queryset that sends to them, and how a connection ends.

``mark_gone`` is the one way a connection stops being connected, whatever told us it ended:
``$disconnect``, a 410 from AWS, cleanup past the connection limit,
``WebSocketSession.disconnect()``, a logout or an ended login, and a deleted gateway all call
it. Presence is read from the connected sessions, so marking a session here is what removes
it from every channel's presence; the ``disconnected`` signal (and ``connection_gone`` when no
``$disconnect`` came) follows once the transaction commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .. import signals
from ..conf import app_settings
from .credentials import user_auth_matches
from .gateways import ApiGateway
from .selections import Selection, apply, from_queryset, structured

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from .reports import DeliveryReport


def send(data: Any, selection: Selection) -> DeliveryReport:
    """Queue ``data`` for the sessions ``selection`` stands for (the delivery engine's entry)."""
    # The one import up the layers: the 4.x send methods live on models, the engine above.
    from .. import sending

    return sending.send(data, selection)


class WebSocketSessionQuerySet(models.QuerySet["WebSocketSession"]):
    def in_channel(self, channel: str) -> WebSocketSessionQuerySet:
        """The sessions in ``channel``: connected to it (``channel_name``, 4.x's way) or
        subscribed to it (``models.subscriptions``), each once.

        One filter, ``channel_name = c OR pk IN (subscribers of c)``: never a join, which
        would repeat a session once per subscription. The subscriptions' model is reached
        through the reverse relation, as it is defined on top of this one.
        """
        relation = self.model._meta.get_field("subscriptions")
        subscriptions = cast("type[models.Model]", relation.related_model)
        subscribers = subscriptions._default_manager.filter(channel=channel)
        return self.filter(Q(channel_name=channel) | Q(pk__in=subscribers.values("session_id")))

    def connected(self) -> WebSocketSessionQuerySet:
        return self.filter(connected=True)

    def selected(self, selection: Selection) -> WebSocketSessionQuerySet:
        """The connected sessions ``selection`` stands for, unordered."""
        sessions: WebSocketSessionQuerySet = apply(selection, self.all())
        if "channel" in selection:
            sessions = sessions.in_channel(selection["channel"])
        return sessions.filter(connected=True)

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
        subscribed to it (``in_channel``).
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

        delete_connection(self)
        mark_one_gone(self, signals.REASON_CLOSED)


# What each signal's ``session`` carries (a partial instance: other fields load on access).
_FIELDS = ("pk", "connection_id", "user", "channel_name", "api_gateway", "created_on")


def mark_gone(sessions: QuerySet[WebSocketSession], reason: str) -> int:
    """Mark the connected sessions of ``sessions`` disconnected; return how many were.

    The rows are locked while they are read (``SELECT ... FOR UPDATE`` where the database has
    it), so two paths marking the same connection at once send its signals once.
    """
    total = 0
    size = app_settings.cleanup_batch_size
    cursor = 0
    while True:
        with transaction.atomic():
            batch = list(
                sessions.filter(connected=True, pk__gt=cursor)
                .order_by("pk")
                .select_for_update()
                .only(*_FIELDS)[:size]
            )
            if not batch:
                return total
            WebSocketSession.objects.filter(pk__in=[s.pk for s in batch]).update(
                connected=False, updated_on=timezone.now()
            )
            for session in batch:
                session.connected = False
        # Registered outside this block: a savepoint's callbacks would wait for the outer
        # transaction even when there is none but a test case's.
        signals.send_after_commit_call(lambda gone=batch: _announce(gone, reason))
        total += len(batch)
        cursor = batch[-1].pk
        if len(batch) < size:
            return total


def mark_one_gone(session: WebSocketSession, reason: str) -> bool:
    """``mark_gone`` for one loaded session, which is updated in place."""
    marked = mark_gone(WebSocketSession.objects.filter(pk=session.pk), reason) == 1
    session.connected = False
    return marked


def _announce(sessions: list[WebSocketSession], reason: str) -> None:
    for session in sessions:
        signals.disconnected.send(sender=WebSocketSession, session=session, reason=reason)
    if reason in signals.UNANNOUNCED:
        for session in sessions:
            signals.connection_gone.send(sender=WebSocketSession, session=session, reason=reason)

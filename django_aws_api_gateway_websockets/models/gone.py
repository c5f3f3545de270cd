"""The one way a connection stops being connected, whatever told us it ended.

``$disconnect``, a 410 from AWS, cleanup past the connection limit, ``WebSocketSession.
disconnect()``, a logout or an ended login, and a deleted gateway all call ``mark_gone``.
Presence is read from the connected sessions, so marking a session here is what removes it
from every channel's presence; the ``disconnected`` signal (and ``connection_gone`` when no
``$disconnect`` came) follows once the transaction commits.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import signals
from ..conf import app_settings
from .sessions import WebSocketSession

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

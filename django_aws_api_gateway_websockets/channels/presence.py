"""Who is in a channel, read from the connected sessions in the database, and join/leave events.

Presence is a query, not a cache: a connection is present while its session is connected,
younger than API Gateway's connection limit, and in the channel (``subscriptions.members``).
Every path that ends a connection goes through ``models.mark_gone``, so a crash, a 410
or a lost ``$disconnect`` leaves presence as soon as it is known, and at the latest after the
connection limit — nothing has to be reconciled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from .. import sending, tasks
from ..conf import app_settings
from ..models import WebSocketSession
from ..models.selections import structured
from ..models.subscriptions import members
from ..payload import library_frame
from ..shared_state import connection
from .patterns import has_presence_events


@dataclass(frozen=True)
class Presence:
    """A channel's members: users with their connection counts, the anonymous connections.

    ``users`` holds at most ``presence_member_cap`` users (``truncated`` says more exist).
    """

    channel: str
    users: list[dict[str, Any]] = field(default_factory=list)
    anonymous: int = 0
    connections: int = 0
    truncated: bool = False

    def as_frame(self) -> dict[str, Any]:
        """The reply to a client's ``presence`` action (docs/channels.md)."""
        return library_frame(
            "presence",
            self.channel,
            users=self.users,
            anonymous=self.anonymous,
            connections=self.connections,
            truncated=self.truncated,
        )


def present(channel: str) -> Any:
    """The sessions present in ``channel`` (connected, within the connection limit)."""
    cutoff = timezone.now() - timedelta(seconds=app_settings.connection_max_age_seconds)
    return members(channel).filter(created_on__gte=cutoff)


def presence(channel: str, cap: int | None = None) -> Presence:
    """Who is in ``channel`` now."""
    cap = app_settings.presence_member_cap if cap is None else cap
    sessions = present(channel)
    total, anonymous = _counts(sessions)
    rows = list(
        sessions.exclude(user=None)
        .values("user")
        .annotate(connections=Count("pk"))
        .order_by("user")[: cap + 1]
    )
    names = get_user_model().objects.in_bulk([row["user"] for row in rows[:cap]])
    users = [
        {"id": row["user"], "name": str(names[row["user"]]), "connections": row["connections"]}
        for row in rows[:cap]
        if row["user"] in names
    ]
    return Presence(channel, users, anonymous, total, len(rows) > cap)


def announce(channel: str, kind: str, session: WebSocketSession) -> None:
    """Send a ``join``/``leave`` event to ``channel``'s members, when it has presence events.

    Beyond ``presence_member_cap`` connections only counts are sent (``presence_count``), at
    most once per ``presence_count_interval_seconds`` per channel, so a large channel's
    members are not flooded: the first change of an interval is sent at once, the others
    once, at its end, with the counts of that moment (``send_count``).
    """
    if not has_presence_events(channel):
        return
    sessions = present(channel)
    total, anonymous = _counts(sessions)
    if total > app_settings.presence_member_cap:
        if _throttle(channel, "sent"):
            _send_counts(channel, total, anonymous)
        elif _throttle(channel, "pending"):
            tasks.queue_presence_count(channel, app_settings.presence_count_interval_seconds)
        return
    else:
        user = None
        mine = 0
        if session.user_id is not None:
            user_model = get_user_model()
            found = user_model.objects.filter(pk=session.user_id).first()
            user = {"id": session.user_id, "name": str(found) if found else ""}
            mine = sessions.filter(user_id=session.user_id).count()
        frame = library_frame(
            kind, channel, user=user, connections=mine, total=total, anonymous=anonymous
        )
    sending.send(frame, structured({}, {}, channel))


def _counts(sessions: Any) -> tuple[int, int]:
    """(connections, anonymous connections) of ``sessions``, in one query."""
    counts = sessions.aggregate(
        total=Count("pk"), anonymous=Count("pk", filter=Q(user__isnull=True))
    )
    return counts["total"], counts["anonymous"]


def send_count(channel: str) -> None:
    """The trailing ``presence_count`` of an interval: the channel's counts now."""
    _send_counts(channel, *_counts(present(channel)))


def _send_counts(channel: str, total: int, anonymous: int) -> None:
    frame = library_frame("presence_count", channel, total=total, anonymous=anonymous)
    sending.send(frame, structured({}, {}, channel))


def _throttle(channel: str, what: str) -> bool:
    """True at most once per ``presence_count_interval_seconds`` per channel and ``what``."""
    interval_ms = int(app_settings.presence_count_interval_seconds * 1000)
    key = f"ws:presence-count:{{{channel}}}:{what}"
    return bool(connection().set(key, b"1", nx=True, px=max(1, interval_ms)))

"""Presence events follow the lifecycle signals (connected through ``apps.ready``)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from .. import signals
from ..conf import app_settings
from ..models import WebSocketSession
from ..models.subscriptions import channels_of
from .patterns import has_presence_events
from .presence import announce


@receiver(signals.subscribed, dispatch_uid="websockets-presence-join")
def announce_join(sender: Any, session: WebSocketSession, channel: str, **kwargs: Any) -> None:
    announce(channel, "join", session)


@receiver(signals.unsubscribed, dispatch_uid="websockets-presence-leave")
def announce_leave(sender: Any, session: WebSocketSession, channel: str, **kwargs: Any) -> None:
    announce(channel, "leave", session)


@receiver(signals.disconnected, dispatch_uid="websockets-presence-gone")
def announce_gone(sender: Any, session: WebSocketSession, **kwargs: Any) -> None:
    """A connection that ended leaves every channel it was in (read from its rows, which
    cleanup deletes only later)."""
    if not app_settings.presence_channels:
        return
    for channel in sorted(channels_of([session.pk])[session.pk]):
        if has_presence_events(channel):
            announce(channel, "leave", session)

"""Which channels a connection is in: its connect-time ``channel_name`` and its subscriptions.

A connection is in channel ``c`` when its ``channel_name`` is ``c`` (4.x: the channel it
connected to, its first subscription) or when it has a ``ChannelSubscription`` row for ``c``.
The sessions' queryset method ``in_channel`` is the one selection of a channel's connections:
a filter on the sessions table (``channel_name = c OR pk IN (subscribers of c)``), so a
connection subscribed through both paths is selected once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from .channels import CHANNEL_NAME_MAX_LENGTH
from .sessions import WebSocketSession

if TYPE_CHECKING:
    from .sessions import WebSocketSessionQuerySet


class ChannelSubscription(models.Model):
    """One connection's subscription to one channel, beyond its connect-time channel."""

    session = models.ForeignKey(
        WebSocketSession, on_delete=models.CASCADE, related_name="subscriptions"
    )
    channel = models.CharField(max_length=CHANNEL_NAME_MAX_LENGTH)
    created_on = models.DateTimeField(auto_now_add=True)

    if TYPE_CHECKING:  # what Django adds, for checkers without the Django plugin
        session_id: int

    class Meta:
        verbose_name = "channel subscription"
        constraints = [
            models.UniqueConstraint(fields=["session", "channel"], name="channel_subscription_once")
        ]
        indexes = [models.Index(fields=["channel", "session"], name="channel_subscribers_idx")]

    def __str__(self) -> str:
        return f"{self.session_id} in {self.channel}"


def members(channel: str) -> WebSocketSessionQuerySet:
    """The connected sessions in ``channel`` (``WebSocketSessionQuerySet.in_channel``)."""
    return WebSocketSession.objects.connected().in_channel(channel)


def channels_of(session_ids: list[int]) -> dict[int, set[str]]:
    """Each session's channels (connect-time channel and subscriptions)."""
    found: dict[int, set[str]] = {pk: set() for pk in session_ids}
    rows = WebSocketSession.objects.filter(pk__in=session_ids).values_list("pk", "channel_name")
    for pk, channel in rows:
        if channel:
            found[pk].add(channel)
    subscribed = ChannelSubscription.objects.filter(session_id__in=session_ids)
    for pk, channel in subscribed.values_list("session_id", "channel"):
        found[pk].add(channel)
    return found

"""Channels: subscriptions, publications with history, presence — from anywhere in Django.

A connection is in a channel through its connect-time ``channel_name`` (4.x) or a
subscription; clients subscribe with the built-in ``subscribe``/``unsubscribe``/``presence``
actions of ``WebSocketView``, server code with the functions here (a view, a signal
receiver, a task). Documented in docs/channels.md.

- ``subscribe(session_or_user, channel)`` / ``unsubscribe(...)``: one connection, or every
  connected session of a user.
- ``publish(channel, data)``: the channel's next offset, kept in its history, to every member.
- ``presence(channel)``: users with their connection counts, the anonymous count.
- ``history(channel, since=..., epoch=...)``: what a client missed, or why it cannot be had.
- ``channels_of(session)``, ``members(channel)``, ``position(channel)``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from .. import sending, signals
from ..models import ChannelSubscription, DeliveryReport, WebSocketSession
from ..models.channels import is_valid_channel_name, may_join
from ..models.selections import structured
from ..models.subscriptions import channels_of as _channels_of
from ..models.subscriptions import members
from ..payload import encode_frame, library_frame, publication
from ..transactions import run_after_commit
from . import streams
from .presence import Presence, presence
from .streams import Recovery, position

__all__ = [
    "Presence",
    "Publication",
    "Recovery",
    "channels_of",
    "history",
    "members",
    "position",
    "presence",
    "publish",
    "subscribe",
    "unsubscribe",
]


@dataclass(frozen=True)
class Publication:
    """One published message: its channel, offset and epoch, and the send that delivers it."""

    channel: str
    offset: int
    epoch: str
    id: str
    report: DeliveryReport


def check_channel_name(channel: Any) -> str:
    """``channel`` if it is a valid channel name, else ``ValueError``."""
    if not is_valid_channel_name(channel):
        raise ValueError(f"Invalid channel name: {channel!r}.")
    return channel


def subscribe(target: Any, channel: str, *, check_access: bool = True) -> int:
    """Subscribe a connection (a ``WebSocketSession``) or every connected session of a user.

    ``ValueError`` for a name the channel name rule refuses; with ``check_access``,
    ``PermissionDenied`` for a user the channel's ``ChannelPermission`` does not allow.
    Returns how many connections joined (those already in it do not count); ``subscribed``
    is sent for each once the transaction commits.
    """
    check_channel_name(channel)
    sessions = list(_sessions(target))
    if check_access:
        for user in {s.user_id: s.user for s in sessions}.values():
            if not may_join(user, channel):
                raise PermissionDenied(f"Not allowed to join channel {channel!r}.")
    return join(sessions, channel)


def join(sessions: list[WebSocketSession], channel: str) -> int:
    """Subscribe ``sessions`` to ``channel``, already checked (the view's actions: the view's
    own name pattern and access hooks decided). Returns how many joined."""
    joining = [s for s in sessions if s.channel_name != channel]
    existing = set(
        ChannelSubscription.objects.filter(
            session__in=[s.pk for s in joining], channel=channel
        ).values_list("session_id", flat=True)
    )
    joining = [s for s in joining if s.pk not in existing]
    ChannelSubscription.objects.bulk_create(
        [ChannelSubscription(session=s, channel=channel) for s in joining],
        ignore_conflicts=True,
    )
    for session in joining:
        signals.send_after_commit(
            signals.subscribed, WebSocketSession, session=session, channel=channel
        )
    return len(joining)


def unsubscribe(target: Any, channel: str, *, notify: bool = True) -> int:
    """Take a connection, or every connection of a user, out of ``channel``.

    Leaving the connect-time channel clears ``channel_name``. With ``notify``, the
    connections that left are sent ``{"$ws": {"kind": "unsubscribed", "channel": c}}``, so
    their client stops holding the channel (and does not resubscribe after a reconnect).
    Returns how many left; ``unsubscribed`` is sent for each once the transaction commits.
    """
    sessions = {s.pk: s for s in _sessions(target)}
    with transaction.atomic():
        rows = ChannelSubscription.objects.filter(session__in=list(sessions), channel=channel)
        leaving = set(rows.values_list("session_id", flat=True))
        rows.delete()
        by_name = [pk for pk, s in sessions.items() if s.channel_name == channel]
        WebSocketSession.objects.filter(pk__in=by_name).update(channel_name="")
        for pk in by_name:
            sessions[pk].channel_name = ""
        leaving.update(by_name)
    if notify and leaving:  # sent outside the block, as sends made in it would wait for it
        frame = library_frame("unsubscribed", channel)
        sending.send(frame, structured({"pk__in": sorted(leaving)}, {}))
    for pk in leaving:
        signals.send_after_commit(
            signals.unsubscribed, WebSocketSession, session=sessions[pk], channel=channel
        )
    return len(leaving)


def channels_of(session: WebSocketSession) -> set[str]:
    """The channels ``session`` is in (its connect-time channel and its subscriptions)."""
    return _channels_of([session.pk])[session.pk]


def publish(channel: str, data: Any, *, exclude: str | None = None) -> Publication | None:
    """Publish ``data`` to ``channel``'s members, with the channel's next offset and epoch.

    The offset is assigned once the caller's transaction commits (a rolled-back publish takes
    none, so it leaves no hole); inside a transaction this returns None and publishes at
    commit, outside one it publishes now and returns the ``Publication``. ``exclude``: a
    connection id left out (the sender). ``TypeError``/``ValueError`` before anything is
    kept when the data cannot be sent.
    """
    check_channel_name(channel)
    publication_id = str(uuid.uuid4())
    data_json = encode_frame(data)
    encode_frame(publication(channel, 2**53, "x" * 8, data, publication_id))  # fits when framed
    done: list[Publication] = []

    def publish_now() -> None:
        offset, epoch = streams.append(channel, publication_id, data_json)
        frame = publication(channel, offset, epoch, json.loads(data_json), publication_id)
        excludes = {"connection_id": exclude} if exclude else {}
        report = sending.send(frame, structured({}, excludes, channel))
        done.append(Publication(channel, offset, epoch, publication_id, report))

    run_after_commit(publish_now)
    return done[0] if done else None


def history(channel: str, since: int | None = None, epoch: str | None = None) -> Recovery:
    """``channel``'s position and, with ``since`` and ``epoch``, the publications after
    ``since`` (``Recovery.recovered`` False with a ``reason`` when they are not all kept)."""
    return streams.read(channel, since, epoch)


def publication_frames(channel: str, recovery: Recovery) -> list[dict[str, Any]]:
    """The publication frames of what ``recovery`` holds, in offset order."""
    return [
        publication(channel, e.offset, recovery.epoch, json.loads(e.data_json), e.publication_id)
        for e in recovery.entries
    ]


def _sessions(target: Any) -> Any:
    """The connected sessions ``target`` (a session, or a user) stands for."""
    if isinstance(target, WebSocketSession):
        return WebSocketSession.objects.connected().filter(pk=target.pk).select_related("user")
    return WebSocketSession.objects.connected().filter(user=target).select_related("user")

"""The built-in channel actions a client sends: ``subscribe``, ``unsubscribe``, ``presence``.

Each answers with a ``$ws`` frame as the ``$default`` route's reply (docs/channels.md, "The
wire envelope"); refusals are ``{"$ws": {"kind": "error", ...}, "error": ...}`` with a 4xx
status. The channel name rule and the access rule are the view's own (``is_valid_channel_name``,
``has_channel_access``), the same ones ``$connect`` applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from redis.exceptions import RedisError

from .. import channels
from ..conf import MAX_MESSAGE_BYTES, app_settings
from ..models import ChannelSubscription, WebSocketSession
from ..models.selections import structured
from ..payload import encode_frame, library_frame
from ..sending import send
from ..transactions import outside_transactions

logger = logging.getLogger(__name__)

# Missed publications up to about this many bytes come inline in the ``subscribed`` reply
# (a reply is one frame, at most 128 KB); the rest are posted to the connection one by one.
INLINE_RECOVERY_BYTES = MAX_MESSAGE_BYTES // 2


class ChannelActionsMixin:
    """``subscribe``, ``unsubscribe`` and ``presence`` for ``WebSocketView``."""

    body: dict[str, Any]
    websocket_session: WebSocketSession
    is_valid_channel_name: Callable[[Any], bool]
    has_channel_access: Callable[[HttpRequest, str], bool]

    def subscribe(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """Join ``body["channel"]``; with ``body["recover"]`` (``offset``, ``epoch``), get
        what was missed since that offset, or ``recovered: false`` and a reason.

        Recovery is keyed by the channel's offsets, never by connection id: API Gateway's
        ``$context.connectionId`` is unique per connection, so a reconnect has a new one
        ("WebSocket API mapping template reference for API Gateway",
        https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html).
        """
        channel = self._allowed_channel(request, "subscribe")
        if isinstance(channel, JsonResponse):
            return channel
        recover = self.body.get("recover")
        since = epoch = None
        if recover is not None:
            since = recover.get("offset") if isinstance(recover, dict) else None
            epoch = recover.get("epoch") if isinstance(recover, dict) else None
            if not isinstance(since, int) or isinstance(since, bool) or not isinstance(epoch, str):
                return action_error(
                    "subscribe",
                    channel,
                    '\'recover\' must be {"offset": <int>, "epoch": <str>}.',
                )
        refusal = self._subscription_limit_refusal(channel)
        if refusal is not None:
            return refusal
        # Subscribed before reading history: a publish after the read reaches this
        # connection live, one before it is in the history (the client dedupes overlaps).
        channels.join([self.websocket_session], channel)
        try:
            recovery = channels.history(channel, since, epoch)
        except RedisError:
            logger.exception("Channel history unavailable for %s", channel)
            # Subscribed all the same; the client asks again for its position and recovery.
            return action_error("subscribe", channel, "Channel history is unavailable.", 503)
        frames = channels.publication_frames(channel, recovery)
        inline, rest = _split_inline(frames)
        session_pk = self.websocket_session.pk
        for frame in rest:
            send(frame, structured({"pk": session_pk}, {}))
        if not outside_transactions():
            # Workers see the subscription only once this transaction commits (as with
            # ATOMIC_REQUESTS): what was published meanwhile is posted after the commit.
            transaction.on_commit(lambda: _catch_up(channel, session_pk, recovery))
        fields: dict[str, Any] = {"epoch": recovery.epoch, "offset": recovery.offset}
        fields["recovered"] = recovery.recovered
        if recovery.reason:
            fields["reason"] = recovery.reason
        return JsonResponse(_subscribed_reply(channel, fields, inline))

    def unsubscribe(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """Leave ``body["channel"]`` (also the connect-time channel)."""
        channel = self.body.get("channel")
        if not self.is_valid_channel_name(channel) or not isinstance(channel, str):
            return action_error("unsubscribe", channel, "Invalid channel name.")
        channels.unsubscribe(self.websocket_session, channel, notify=False)  # the reply says so
        return JsonResponse(library_frame("unsubscribed", channel))

    def presence(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """Who is in ``body["channel"]``, for a client that may join it."""
        channel = self._allowed_channel(request, "presence")
        if isinstance(channel, JsonResponse):
            return channel
        return JsonResponse(channels.presence(channel).as_frame())

    def _subscription_limit_refusal(self, channel: str) -> JsonResponse | None:
        """A client may hold at most ``max_channels_per_connection`` subscriptions."""
        limit = app_settings.max_channels_per_connection
        held = ChannelSubscription.objects.filter(session=self.websocket_session)
        if held.count() < limit or held.filter(channel=channel).exists():
            return None
        return action_error(
            "subscribe", channel, f"Too many subscriptions: at most {limit} per connection.", 429
        )

    def _allowed_channel(self, request: HttpRequest, action: str) -> str | JsonResponse:
        """``body["channel"]`` when it is a valid name the user may join, else the refusal."""
        channel = self.body.get("channel")
        if not self.is_valid_channel_name(channel) or not isinstance(channel, str):
            return action_error(action, channel, "Invalid channel name.")
        if not self.has_channel_access(request, channel):
            return action_error(action, channel, "Permission denied.", 403)
        return channel


def action_error(action: str, channel: Any, message: str, status: int = 400) -> JsonResponse:
    """The refusal of a channel action (protocol: errors), naming what was wrong."""
    shown = channel if isinstance(channel, str) else None
    meta = {"kind": "error", "action": action, "channel": shown}
    return JsonResponse({"$ws": meta, "error": message}, status=status)


def _subscribed_reply(
    channel: str, fields: dict[str, Any], inline: list[dict[str, Any]]
) -> dict[str, Any]:
    reply: dict[str, Any] = {"$ws": {"kind": "subscribed", "channel": channel, **fields}}
    if inline:
        reply["publications"] = inline
    return reply


def _split_inline(frames: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
    size = 0
    for index, frame in enumerate(frames):
        size += len(encode_frame(frame).encode("utf-8"))
        if size > INLINE_RECOVERY_BYTES:
            return frames[:index], frames[index:]
    return frames, []


def _catch_up(channel: str, session_pk: int, seen: channels.Recovery) -> None:
    """Post what was published after ``seen`` was read (only inside a transaction)."""
    later = channels.history(channel, seen.offset, seen.epoch)
    for frame in channels.publication_frames(channel, later):
        send(frame, structured({"pk": session_pk}, {}))

"""The hooks a 4.x ``WebSocketView`` subclass may override, honoured here.

Every refusal goes through one of 4.x's overridable responses (``missing_headers``,
``permission_denied``, ...), which answer with this package's JSON errors by default.
Channel access is decided by 4.x's ``can_join_channel``, backed by ``ChannelPermission`` rows
edited in the admin. None of these names can be called by a client as a handler: only
``BASE_HANDLERS`` and the subclass's own methods can.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import signals
from ..models import (
    ChannelPermission,
    WebSocketSession,
    hash_session_key,
    hash_user_auth,
    mark_one_gone,
)
from .origin import carries_secret
from .responses import error

# When each (view class, exception type) last mailed the admins, in this process.
_last_exception_mail: dict[tuple[type, type], float] = {}
_exception_mail_lock = threading.Lock()


class CompatibilityMixin:
    """4.x's hooks and overridable responses, for ``WebSocketView``."""

    # Channels without a ``ChannelPermission`` row may be joined by anyone.
    ALLOW_UNLISTED_CHANNELS = True
    # Also require ``permissions_required`` / ``all_permissions_required`` to connect.
    CHECK_PERMISSIONS_ON_CONNECT = False
    # At most one exception mail per view class and exception type in this many seconds.
    EXCEPTION_MAIL_INTERVAL = 60
    # The only names defined by the base view that a subclass may expose as handlers.
    BASE_HANDLERS: ClassVar[frozenset[str]] = frozenset(
        {"default", "change_channel", "ping", "subscribe", "unsubscribe", "presence"}
    )
    # Built-in actions every view answers, whatever ``ALLOWED_HANDLERS`` says (a subclass
    # may override them): the heartbeat and the channel actions (docs/channels.md).
    BUILTIN_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"ping", "subscribe", "unsubscribe", "presence"}
    )
    # Names that are never handlers although the class does not define them: attributes set
    # per request, and 4.x's view attributes this package dropped.
    RESERVED_NAMES: ClassVar[frozenset[str]] = frozenset(
        {"api_gateway", "body", "connection_id", "websocket_session"}
        | {"debug", "debug_log", "model"}
    )

    route_selection_key: str
    handler_selection_key: str
    websocket_session: WebSocketSession
    has_permissions: Callable[[HttpRequest, str], bool]

    # Channels

    def get_channel_permission(self, channel_name: str) -> ChannelPermission | None:
        """Hook: the rule governing ``channel_name``, or None if it has none."""
        return ChannelPermission.for_channel(channel_name)

    def can_join_channel(self, request: HttpRequest, channel_name: str) -> bool:
        """Hook: may ``request.user`` join ``channel_name`` (on connect and ``change_channel``)?"""
        rule = self.get_channel_permission(channel_name)
        if rule is None:
            return self.ALLOW_UNLISTED_CHANNELS
        return rule.allows(getattr(request, "user", None))

    def has_channel_access(self, request: HttpRequest, channel: str) -> bool:
        """Hook (this package's name for the same decision): ``can_join_channel`` by default."""
        return self.can_join_channel(request, channel)

    # Connect

    def connection_refusal(self, request: HttpRequest, channel: str) -> HttpResponse | None:
        """Refuse a connection the user may not open: view permissions, then the channel."""
        if self.CHECK_PERMISSIONS_ON_CONNECT and not self.has_permissions(request, "connect"):
            return self.permission_denied(request)
        if not self.has_channel_access(request, channel):
            return self.permission_denied(request)
        return None

    def credential_hashes(self, request: HttpRequest, user: Any) -> dict[str, str]:
        """What ties a new session to the browser's Django session and the user's login."""
        session_key = getattr(getattr(request, "session", None), "session_key", None)
        return {
            "session_key_hash": hash_session_key(session_key) if session_key else "",
            "auth_hash": hash_user_auth(user) if user is not None else "",
        }

    # Messages

    def stale_session_refusal(self, request: HttpRequest) -> HttpResponse | None:
        """Refuse messages on a closed session, and close it once its login has ended.

        A login ends when the user logs out (the session is then already closed), is
        deactivated, or changes their password (``auth_hash`` stops matching).
        """
        session = self.websocket_session
        if session is None:
            return self.session_not_found(request)
        if not session.connected:
            return self.session_not_found(request, closed=True)
        if not session.login_still_holds():
            mark_one_gone(session, signals.REASON_LOGIN_ENDED)
            return self.session_not_found(request, closed=True)
        return None

    def exception_mail_is_due(self, exc: Exception) -> bool:
        """True at most once per ``EXCEPTION_MAIL_INTERVAL`` per view class and exception type."""
        if self.EXCEPTION_MAIL_INTERVAL <= 0:
            return True
        key = (type(self), type(exc))
        now = time.monotonic()
        with _exception_mail_lock:
            last = _last_exception_mail.get(key)
            if last is not None and now - last < self.EXCEPTION_MAIL_INTERVAL:
                return False
            _last_exception_mail[key] = now
        return True

    # Overridable refusals (4.x's names; JSON bodies)

    def missing_headers(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        names = kwargs.get("missing") or []
        return error(f"Missing headers: {', '.join(names)}." if names else "Missing headers.")

    def permission_denied(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return error("Permission denied.", 403)

    def invalid_useragent(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return error("Unexpected User-Agent.")

    def invalid_gateway_secret(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """403, the same for known and unknown API ids and connection ids.

        Without any secret the answer names the setting that accepts such events (test
        runners other than pytest with this package's plugin need it).
        """
        if carries_secret(request):
            return error("Invalid gateway secret.", 403)
        return error(
            "Missing gateway secret: events without one are refused unless "
            "WEBSOCKETS['allow_unsigned_events'] is True.",
            403,
        )

    def session_not_found(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """An unknown connection id (400), or with ``closed=True`` a closed session (410)."""
        if kwargs.get("closed"):
            return error("Connection is closed.", 410)
        return error("Unknown connection id.")

    def handler_selection_key_missing(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> JsonResponse:
        keys = (self.handler_selection_key, self.route_selection_key)
        return error(f"Body needs a {' or '.join(repr(k) for k in keys)} key.")

    def route_selection_key_missing(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> JsonResponse:
        """Kept for subclasses that call it; dispatch answers ``handler_selection_key_missing``."""
        return self.handler_selection_key_missing(request, *args, **kwargs)

"""What a ``$connect`` is checked for before its session is recorded, and the hooks to change it.

In order: the gateway is known; the client IP is under the rate limit; the browser sent its
handshake headers; the page's origin is allowed; the channel name is valid; the single-use
token is valid (``USE_WS_TOKEN``); the user may join the channel; the view's own checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from ..conf import app_settings
from ..models import ApiGateway, ConnectionRateLimit, WebSocketSession, WebSocketToken
from .responses import error, missing_headers


class ConnectMixin:
    """``connect`` and its checks, for ``WebSocketView``."""

    USE_WS_TOKEN = True
    RATE_LIMIT_ENABLED = True
    RATE_LIMIT_MAX_ATTEMPTS = 0
    RATE_LIMIT_WINDOW_MINUTES = 0
    MAX_CHANNEL_NAME_LENGTH = 128
    # Compiled, as in 4.x (subclasses call its methods); a plain string works too.
    CHANNEL_NAME_PATTERN: re.Pattern[str] | str = re.compile(r"^[a-zA-Z0-9_-]+$")
    required_connection_headers: ClassVar[list[str]] = [
        "Cookie",
        "Origin",
        "Sec-Websocket-Extensions",
        "Sec-Websocket-Key",
        "Sec-Websocket-Version",
    ]

    api_gateway: ApiGateway | None
    websocket_session: WebSocketSession | None
    connection_id: str
    connection_refusal: Callable[[HttpRequest, str], HttpResponse | None]
    credential_hashes: Callable[[HttpRequest, Any], dict[str, str]]

    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse | None:
        """Check and record a new connection; a non-2xx answer makes API Gateway refuse it."""
        self.api_gateway = ApiGateway.objects.filter(
            api_id=request.headers["X-Amzn-Apigateway-Api-Id"]
        ).first()
        if self.api_gateway is None:
            return error("Unknown API Gateway.")
        ip_address = self.client_ip(request)
        cookie_user = request.user if request.user.is_authenticated else None
        if self.RATE_LIMIT_ENABLED:
            allowed, _ = ConnectionRateLimit.check_rate_limit(
                ip_address, cookie_user, self.rate_limit_max_attempts, self.rate_limit_window
            )
            if not allowed:
                ConnectionRateLimit.record_attempt(ip_address, cookie_user, successful=False)
                return error("Too many connection attempts.", 429)
        missing = missing_headers(request, self.required_connection_headers)
        if missing:
            return error(f"Missing headers: {', '.join(missing)}.")
        if not self.is_origin_allowed(request, request.headers["Origin"]):
            return error("Origin not allowed.", 403)
        channel = self.get_channel_name(request)
        if channel is None:
            return error("Invalid channel name.")
        if self.USE_WS_TOKEN:
            session = getattr(request, "session", None)
            user = WebSocketToken.validate_and_consume(
                request.GET.get("ws_token", ""), getattr(session, "session_key", None) or ""
            )
            if user is None:
                return error("Invalid or expired token.", 403)
            request.user = user
        refusal = self.connection_refusal(request, channel)
        if refusal is not None:
            return refusal
        ok, message = self._additional_connection_checks(request, *args, **kwargs)
        if not ok:
            if self.RATE_LIMIT_ENABLED:
                ConnectionRateLimit.record_attempt(ip_address, cookie_user, successful=False)
            return error(message or "Connection refused.", 403)
        user = request.user if request.user.is_authenticated else None
        try:
            with transaction.atomic():
                self.websocket_session = WebSocketSession.objects.create(
                    connection_id=self.connection_id,
                    channel_name=channel,
                    user=user,
                    api_gateway=self.api_gateway,
                    **self.credential_hashes(request, user),
                )
        except IntegrityError:
            return error("Connection id already registered.")
        if self.RATE_LIMIT_ENABLED:
            ConnectionRateLimit.record_attempt(ip_address, user, successful=True)
        return None

    @property
    def rate_limit_max_attempts(self) -> int:
        return self.RATE_LIMIT_MAX_ATTEMPTS or app_settings.rate_limit_max_attempts

    @property
    def rate_limit_window(self) -> int:
        return self.RATE_LIMIT_WINDOW_MINUTES or app_settings.rate_limit_window_minutes

    def client_ip(self, request: HttpRequest) -> str:
        """The address API Gateway saw: the last hop it appended to ``X-Forwarded-For``."""
        candidate = request.headers["X-Forwarded-For"].split(",")[-1].strip()
        try:
            validate_ipv46_address(candidate)
        except ValidationError:
            return "0.0.0.0"
        return candidate

    def is_origin_allowed(self, request: HttpRequest, origin: str) -> bool:
        """The page's origin must be this site (the Host) or in ``CSRF_TRUSTED_ORIGINS``."""
        return urlsplit(origin).netloc == request.headers["Host"] or origin in getattr(
            settings, "CSRF_TRUSTED_ORIGINS", []
        )

    def get_channel_name(self, request: HttpRequest) -> str | None:
        """The requested channel, the gateway's default, or ``""``; None when invalid."""
        channel = request.GET.get("channel", "")
        if not channel:
            return self.api_gateway.default_channel_name if self.api_gateway else ""
        return channel if self.is_valid_channel_name(channel) else None

    def is_valid_channel_name(self, channel: Any) -> bool:
        return (
            isinstance(channel, str)
            and len(channel) <= self.MAX_CHANNEL_NAME_LENGTH
            and re.match(self.CHANNEL_NAME_PATTERN, channel) is not None
        )

    def _additional_connection_checks(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> tuple[bool, str]:
        """Hook: return ``(False, reason)`` to refuse a connection."""
        return True, ""

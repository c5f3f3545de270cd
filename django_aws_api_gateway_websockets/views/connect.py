"""What a ``$connect`` is checked for before its session is recorded, and the hooks to change it.

The view has already found the gateway and checked its secret. Then, in order: the client
IP is under the rate limit; the browser sent its handshake headers; (``CHECK_CONNECT_USERAGENT``)
the User-Agent is API Gateway's; the page's origin is allowed; the channel name is valid; the
single-use token is valid (``USE_WS_TOKEN``; in ``?ws_token=`` or ``Sec-WebSocket-Protocol``);
the user may join the channel; the view's own checks. Every refusal after the rate limit
counts as a failed attempt towards it; successful connects do not count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, TypeGuard

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import signals
from ..conf import app_settings
from ..models import ApiGateway, ConnectionRateLimit, WebSocketSession, WebSocketToken
from ..models.channels import CHANNEL_NAME_MAX_LENGTH, CHANNEL_NAME_RE, is_valid_channel_name
from .origin import client_ip, origin_allowed, request_api_id
from .responses import error, missing_headers
from .users import logged_in_user

# The token may travel in ``Sec-WebSocket-Protocol`` instead of the URL, which access logs
# record: the browser offers ``TOKEN_PROTOCOL`` and ``TOKEN_PROTOCOL_PREFIX + token``, and a
# successful $connect answers ``Sec-WebSocket-Protocol: TOKEN_PROTOCOL``. The browser needs
# that answer: API Gateway passes the $connect integration's ``Sec-WebSocket-Protocol``
# back to the client, which must name one of the protocols it offered ("Set up a $connect
# route that requires a WebSocket subprotocol",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-connect-route-subprotocol.html).
TOKEN_PROTOCOL = "django-gateway-sockets"
TOKEN_PROTOCOL_PREFIX = "ws_token."
PROTOCOL_HEADER = "Sec-WebSocket-Protocol"


def offered_protocols(request: HttpRequest) -> list[str]:
    """The subprotocols the browser offered, in its order."""
    offered = request.headers.get(PROTOCOL_HEADER, "")
    return [name.strip() for name in offered.split(",") if name.strip()]


def connect_token(request: HttpRequest) -> str:
    """The connect token: ``?ws_token=``, else the ``ws_token.`` subprotocol; ``""`` if none."""
    in_url = request.GET.get("ws_token", "")
    if in_url:
        return in_url
    tokens = [p for p in offered_protocols(request) if p.startswith(TOKEN_PROTOCOL_PREFIX)]
    return tokens[0].removeprefix(TOKEN_PROTOCOL_PREFIX) if tokens else ""


def answer_subprotocol(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Name ``TOKEN_PROTOCOL`` on an accepted $connect that offered it (the browser requires it).

    Never the protocol carrying the token; never over a protocol the view chose itself.
    """
    if (
        200 <= response.status_code < 300
        and PROTOCOL_HEADER not in response
        and TOKEN_PROTOCOL in offered_protocols(request)
    ):
        response[PROTOCOL_HEADER] = TOKEN_PROTOCOL
    return response


class ConnectMixin:
    """``connect`` and its checks, for ``WebSocketView``."""

    USE_WS_TOKEN = True
    RATE_LIMIT_ENABLED = True
    RATE_LIMIT_MAX_ATTEMPTS = 0
    RATE_LIMIT_WINDOW_MINUTES = 0
    MAX_CHANNEL_NAME_LENGTH = CHANNEL_NAME_MAX_LENGTH
    # Compiled, as in 4.x (subclasses call its methods); a plain string works too. It must
    # match the whole name (``is_valid_channel_name`` uses ``fullmatch``).
    CHANNEL_NAME_PATTERN: re.Pattern[str] | str = re.compile(CHANNEL_NAME_RE)
    # Off: API Gateway forwards the browser's own User-Agent on $connect, so the check would
    # refuse every browser. Turn it on only for an API that sends its own.
    CHECK_CONNECT_USERAGENT = False
    expected_useragent_prefix = "AmazonAPIGateway_"
    required_connection_headers: ClassVar[list[str]] = [
        "Cookie",
        "Origin",
        "Sec-Websocket-Key",
        "Sec-Websocket-Version",
    ]

    api_gateway: ApiGateway | None
    websocket_session: WebSocketSession
    connection_id: str
    connection_refusal: Callable[[HttpRequest, str], HttpResponse | None]
    credential_hashes: Callable[[HttpRequest, Any], dict[str, str]]
    missing_headers: Callable[..., HttpResponse]
    invalid_useragent: Callable[..., HttpResponse]

    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Check and record a new connection; a non-2xx answer makes API Gateway refuse it.

        Always a response, ``{}`` (200) on success as in 4.x, so an override can read
        ``super().connect(request, ...).status_code``.
        """
        try:
            ip_address = self.client_ip(request)
        except ValueError as exc:
            return error(str(exc))
        cookie_user = logged_in_user(request)
        if self.RATE_LIMIT_ENABLED:
            allowed, _ = ConnectionRateLimit.check_rate_limit(
                ip_address, cookie_user, self.rate_limit_max_attempts, self.rate_limit_window
            )
            if not allowed:
                self.record_attempt(ip_address, cookie_user, successful=False)
                return error("Too many connection attempts.", 429)
        channel_or_refusal = self.vet_connection(request, *args, **kwargs)
        if isinstance(channel_or_refusal, HttpResponse):
            self.record_attempt(ip_address, cookie_user, successful=False)
            return channel_or_refusal
        user = logged_in_user(request)
        try:
            with transaction.atomic():
                self.websocket_session = WebSocketSession.objects.create(
                    connection_id=self.connection_id,
                    channel_name=channel_or_refusal,
                    user=user,
                    api_gateway=self.api_gateway,
                    **self.credential_hashes(request, user),
                )
        except IntegrityError:
            return error("Connection id already registered.")
        session = self.websocket_session
        signals.send_after_commit(signals.connected, WebSocketSession, session=session)
        if session.channel_name:  # the connect-time channel is its first subscription
            signals.send_after_commit(
                signals.subscribed, WebSocketSession, session=session, channel=session.channel_name
            )
        self.record_attempt(ip_address, user, successful=True)
        return JsonResponse({})

    def vet_connection(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str | HttpResponse:
        """The channel the connection joins, or the refusal; sets ``request.user`` from a token."""
        missing = missing_headers(request, self.required_connection_headers)
        if missing:
            return self.missing_headers(request, missing=missing)
        if self.CHECK_CONNECT_USERAGENT and request.headers.get("User-Agent") != (
            f"{self.expected_useragent_prefix}{request_api_id(request)}"
        ):
            return self.invalid_useragent(request)
        if not self.is_origin_allowed(request, request.headers["Origin"]):
            return error("Origin not allowed.", 403)
        channel = self.get_channel_name(request)
        if channel is None:
            return error("Invalid channel name.")
        if self.USE_WS_TOKEN:
            session = getattr(request, "session", None)
            user = WebSocketToken.validate_and_consume(
                connect_token(request), getattr(session, "session_key", None) or ""
            )
            if user is None:
                return error("Invalid or expired token.", 403)
            request.user = user
        refusal = self.connection_refusal(request, channel)
        if refusal is not None:
            return refusal
        ok, message = self._additional_connection_checks(request, *args, **kwargs)
        if not ok:
            return error(message or "Connection refused.", 403)
        return channel

    def record_attempt(
        self, ip_address: str, user: AbstractBaseUser | None, *, successful: bool
    ) -> None:
        """Count a connection attempt towards the rate limit (when it is enabled)."""
        if self.RATE_LIMIT_ENABLED:
            ConnectionRateLimit.record_attempt(ip_address, user, successful=successful)

    @property
    def rate_limit_max_attempts(self) -> int:
        return self.RATE_LIMIT_MAX_ATTEMPTS or app_settings.rate_limit_max_attempts

    @property
    def rate_limit_window(self) -> int:
        return self.RATE_LIMIT_WINDOW_MINUTES or app_settings.rate_limit_window_minutes

    def client_ip(self, request: HttpRequest) -> str:
        """Hook: the address connection attempts are counted under; ValueError if unusable."""
        return client_ip(request)

    def is_origin_allowed(self, request: HttpRequest, origin: str) -> bool:
        """The page's origin must be this site (the Host) or in ``CSRF_TRUSTED_ORIGINS``.

        Compared as origins (http or https only, case-insensitive, default ports dropped),
        with ``CSRF_TRUSTED_ORIGINS``' ``*.`` subdomain wildcards as Django's CSRF
        middleware reads them.
        """
        return origin_allowed(
            origin, request.get_host(), getattr(settings, "CSRF_TRUSTED_ORIGINS", [])
        )

    def get_channel_name(self, request: HttpRequest) -> str | None:
        """The requested channel, the gateway's default, or ``""``; None when invalid."""
        channel = request.GET.get("channel", "")
        if not channel:
            return self.api_gateway.default_channel_name if self.api_gateway else ""
        return channel if self.is_valid_channel_name(channel) else None

    def is_valid_channel_name(self, channel: Any) -> TypeGuard[str]:
        """The one channel name rule (``models.channels``), with this view's pattern and length."""
        return is_valid_channel_name(
            channel, self.CHANNEL_NAME_PATTERN, self.MAX_CHANNEL_NAME_LENGTH
        )

    def _additional_connection_checks(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> tuple[bool, str]:
        """Hook: return ``(False, reason)`` to refuse a connection."""
        return True, ""

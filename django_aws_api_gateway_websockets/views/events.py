"""The view API Gateway posts WebSocket events to: dispatch, handlers, permissions."""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any, ClassVar

from django.contrib.auth.models import AnonymousUser
from django.core.mail import mail_admins
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..conf import MAX_MESSAGE_BYTES, app_settings
from ..models import ApiGateway, WebSocketSession
from .compat import CompatibilityMixin
from .connect import ConnectMixin
from .responses import PostOnlyMixin, error, header_to_meta, missing_headers

logger = logging.getLogger(__name__)

Handler = Any


@method_decorator(csrf_exempt, name="dispatch")
class WebSocketView(CompatibilityMixin, ConnectMixin, PostOnlyMixin, View):
    """Base view for the events API Gateway forwards: ``connect``, ``disconnect`` and messages.

    Route it with a ``route`` slug, e.g. ``path("ws/<slug:route>", MyView.as_view())``.
    Messages pick a handler method by the body's ``handler`` key, else its ``action`` key;
    names not allowed fall back to ``default``.
    """

    ALLOWED_HANDLERS: ClassVar[set[str]] = set()
    ADDITIONAL_ALLOWED_HANDLERS: ClassVar[list[str]] = []
    HANDLER_PERMISSIONS: ClassVar[dict[str, list[str]]] = {}
    SEND_EXCEPTION_MAIL = True
    MAX_BODY_SIZE = MAX_MESSAGE_BYTES
    CONNECTION_ID_PATTERN = r"^[A-Za-z0-9_=+/-]{1,128}$"

    route_selection_key = "action"
    handler_selection_key = "handler"
    aws_api_gateway_id: str | None = None
    permissions_required: ClassVar[list[str]] = []
    all_permissions_required: ClassVar[list[str]] = []
    required_headers: ClassVar[list[str]] = [
        "Host",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "Connectionid",
        "User-Agent",
        "X-Amzn-Apigateway-Api-Id",
    ]
    additional_required_headers: ClassVar[list[str]] = [
        "X-Amzn-Trace-Id",
        "X-Forwarded-Port",
        "X-Real-Ip",
    ]
    expected_useragent_prefix = "AmazonAPIGateway_"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.body: dict[str, Any] = {}
        self.api_gateway: ApiGateway | None = None
        self.websocket_session: WebSocketSession | None = None
        self.connection_id = ""

    @classmethod
    def allowed_handlers(cls) -> frozenset[str]:
        """Explicit ``ALLOWED_HANDLERS``, else ``default`` plus the subclass's public methods.

        Never a name the base view defines (its machinery and hooks, overridden or not),
        except ``BASE_HANDLERS``.
        """
        if cls.ALLOWED_HANDLERS:
            names = set(cls.ALLOWED_HANDLERS)
        else:
            names = {"default", *cls.ADDITIONAL_ALLOWED_HANDLERS}
            for klass in cls.__mro__:
                if klass is WebSocketView:
                    break
                names.update(
                    name
                    for name, value in vars(klass).items()
                    if callable(value) and not name.startswith("_")
                )
        names.add("ping")
        machinery = (frozenset(dir(WebSocketView)) | cls.RESERVED_NAMES) - cls.BASE_HANDLERS
        return frozenset(name for name in names if not name.startswith("_")) - machinery

    # Dispatch

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method is None or request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        refusal = self.check_request(request)
        if refusal is not None:
            return refusal
        if not hasattr(request, "user"):
            request.user = AnonymousUser()
        route = kwargs.get("route", "default")
        if route == "connect":
            handler = self.connect
        else:
            refusal = self.load_session(request)
            if refusal is not None:
                return refusal
            if route == "disconnect":
                handler = self.disconnect
            else:
                refusal = self.stale_session_refusal(request)
                if refusal is not None:
                    return refusal
                handler_or_refusal = self.select_handler(request)
                if isinstance(handler_or_refusal, HttpResponse):
                    return handler_or_refusal
                handler = handler_or_refusal
        return self.call_handler(handler, request, *args, **kwargs)

    def check_request(self, request: HttpRequest) -> HttpResponse | None:
        """Refuse what did not come from our API Gateway, before touching the database."""
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > self.MAX_BODY_SIZE:
            return error(f"Body larger than {self.MAX_BODY_SIZE} bytes.", 413)
        missing = missing_headers(
            request, [*self.required_headers, *self.additional_required_headers]
        )
        if missing:
            return self.missing_headers(request, missing=missing)
        if not self.has_valid_gateway_secret(request):
            return self.invalid_gateway_secret(request)
        api_id = request.headers["X-Amzn-Apigateway-Api-Id"]
        if self.aws_api_gateway_id and api_id != self.aws_api_gateway_id:
            return error("Unknown API Gateway.")
        if request.headers["User-Agent"] != f"{self.expected_useragent_prefix}{api_id}":
            return self.invalid_useragent(request)
        self.connection_id = request.headers["Connectionid"]
        if not re.match(self.CONNECTION_ID_PATTERN, self.connection_id):
            return error("Malformed connection id.")
        try:
            body = json.loads(request.body) if request.body else {}
        except (ValueError, UnicodeDecodeError):
            return error("Body is not valid JSON.")
        if not isinstance(body, dict):
            return error("Body must be a JSON object.")
        self.body = body
        return None

    def has_valid_gateway_secret(self, request: HttpRequest) -> bool:
        secrets = app_settings.gateway_secrets
        if not secrets:
            return True
        given = request.META.get(header_to_meta(app_settings.gateway_secret_header), "")
        # Compare against every secret so the time taken does not tell which one matched.
        matches = [hmac.compare_digest(given.encode(), s.encode()) for s in secrets]
        return any(matches)

    def load_session(self, request: HttpRequest) -> HttpResponse | None:
        """Load the connection's session with its gateway and user in one query."""
        api_id = request.headers["X-Amzn-Apigateway-Api-Id"]
        session = (
            WebSocketSession.objects.select_related("api_gateway", "user")
            .filter(connection_id=self.connection_id)
            .first()
        )
        if session is None:
            return self.session_not_found(request)
        if session.api_gateway is None or session.api_gateway.api_id != api_id:
            return error("Unknown API Gateway.")
        self.websocket_session = session
        self.api_gateway = session.api_gateway
        if session.user is not None:
            request.user = session.user
        return None

    def select_handler(self, request: HttpRequest) -> Handler | HttpResponse:
        keys = (self.handler_selection_key, self.route_selection_key)
        if not any(key in self.body for key in keys):
            return self.handler_selection_key_missing(request)
        allowed = self.allowed_handlers()
        name = "default"
        for key in keys:
            candidate = self.body.get(key)
            if isinstance(candidate, str) and candidate in allowed and hasattr(self, candidate):
                name = candidate
                break
        if not self.has_permissions(request, name):
            return self.permission_denied(request)
        WebSocketSession.objects.filter(pk=self.websocket_session.pk).update(
            request_count=F("request_count") + 1
        )
        return getattr(self, name)

    def call_handler(
        self, handler: Handler, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        try:
            response = handler(request, *args, **kwargs)
        except Exception as exc:
            logger.exception("Unexpected WebSocket exception in %s", handler.__name__)
            if self.SEND_EXCEPTION_MAIL and self.exception_mail_is_due(exc):
                mail_admins("Unexpected Websocket Exception", str(exc), fail_silently=True)
            raise
        return response or JsonResponse({})

    # Permissions

    def has_permissions(self, request: HttpRequest, handler_name: str) -> bool:
        if self.all_permissions_required and not self.has_all_permission(request):
            return False
        if self.permissions_required and not self.has_any_permission(request):
            return False
        needed = self.HANDLER_PERMISSIONS.get(handler_name, [])
        return not needed or request.user.has_perms(needed)

    def has_any_permission(self, request: HttpRequest) -> bool:
        """True if no permissions are required (as in 4.x), else if the user has one."""
        return not self.permissions_required or any(
            request.user.has_perm(p) for p in self.permissions_required
        )

    def has_all_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(self.all_permissions_required)

    # Built-in handlers

    def disconnect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse | None:
        WebSocketSession.objects.filter(pk=self.websocket_session.pk).update(connected=False)
        self.websocket_session.connected = False
        return None

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse | None:
        raise NotImplementedError("This logic needs to be defined within the subclass")

    def ping(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Heartbeat: keeps the connection under API Gateway's idle timeout."""
        return JsonResponse({"type": "pong"})

    def change_channel(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Move this connection to ``body["channel"]``."""
        channel = self.body.get("channel")
        if not self.is_valid_channel_name(channel):
            return error("Invalid channel name.")
        if not self.has_channel_access(request, channel):
            return self.permission_denied(request)
        WebSocketSession.objects.filter(pk=self.websocket_session.pk).update(channel_name=channel)
        self.websocket_session.channel_name = channel
        return JsonResponse({"type": "channel_changed", "channel": channel})

"""The view API Gateway posts WebSocket events to: dispatch, handlers, permissions."""

from __future__ import annotations

import inspect
import logging
import re
from functools import cache
from typing import Any, ClassVar

from django.contrib.auth.models import AnonymousUser
from django.core.mail import mail_admins
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .. import channels, signals
from ..conf import MAX_MESSAGE_BYTES
from ..models import ApiGateway, WebSocketSession, mark_one_gone
from .body import BodyError, parse_json_object
from .channel_actions import ChannelActionsMixin
from .compat import CompatibilityMixin
from .connect import ConnectMixin, answer_subprotocol
from .origin import api_id_header_names, has_valid_secret, request_api_id
from .responses import PostOnlyMixin, error, missing_headers
from .users import logged_in_user, permission_holder

logger = logging.getLogger(__name__)

Handler = Any


@method_decorator(csrf_exempt, name="dispatch")
class WebSocketView(CompatibilityMixin, ConnectMixin, ChannelActionsMixin, PostOnlyMixin, View):
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
    # Arrays and objects inside one another a message body may open; deeper is refused.
    MAX_BODY_DEPTH = 64
    CONNECTION_ID_PATTERN = r"^[A-Za-z0-9_=+/-]{1,128}$"

    # The connection's session: loaded before any handler runs (``connect`` creates it;
    # until then, in ``connect`` and the hooks it calls, it is None).
    websocket_session: WebSocketSession

    route_selection_key = "action"
    handler_selection_key = "handler"
    aws_api_gateway_id: str | None = None
    permissions_required: ClassVar[list[str]] = []
    all_permissions_required: ClassVar[list[str]] = []
    # Only what correctness needs; the API id (WEBSOCKETS["api_id_header"], else
    # X-Amzn-Apigateway-Api-Id) and the gateway secret are checked on their own.
    required_headers: ClassVar[list[str]] = ["Connectionid"]
    additional_required_headers: ClassVar[list[str]] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.body: dict[str, Any] = {}
        self.api_gateway: ApiGateway | None = None
        self.websocket_session = None  # type: ignore[assignment]  # until loaded: see above
        self.connection_id = ""

    @classmethod
    def allowed_handlers(cls) -> frozenset[str]:
        """Explicit ``ALLOWED_HANDLERS``, else ``default`` plus the subclass's public methods.

        A public method is a plain function defined on a subclass of ``WebSocketView``
        (not on a mixin, not a class attribute or a callable object) and not overridden by
        anything else. Never a name the base view defines (its machinery and hooks,
        overridden or not), except ``BASE_HANDLERS``. ``BUILTIN_ACTIONS`` (the heartbeat and
        the channel actions) are allowed either way.
        """
        if cls.ALLOWED_HANDLERS:
            names = set(cls.ALLOWED_HANDLERS)
        else:
            names = {"default", *cls.ADDITIONAL_ALLOWED_HANDLERS, *subclass_functions(cls)}
        names.update(cls.BUILTIN_ACTIONS)
        machinery = (base_view_names() | cls.RESERVED_NAMES) - cls.BASE_HANDLERS
        return frozenset(name for name in names if not name.startswith("_")) - machinery

    # Dispatch

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method is None or request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        route = kwargs.get("route", "default")
        refusal = self.check_request(request)
        if refusal is not None:
            return refusal
        if route == "connect":
            if not hasattr(request, "user"):
                request.user = AnonymousUser()
            refusal = self.load_gateway(request)
            response = refusal or self.call_handler(self.connect, request, *args, **kwargs)
            return answer_subprotocol(request, response)
        refusal = self.load_session(request)
        if refusal is not None:
            return refusal
        if route == "disconnect":
            # API Gateway sends no body with $disconnect: there is nothing to parse.
            return self.call_handler(self.disconnect, request, *args, **kwargs)
        refusal = self.stale_session_refusal(request)
        if refusal is not None:
            return refusal
        refusal = self.parse_body(request)
        if refusal is not None:
            return refusal
        handler_or_refusal = self.select_handler(request)
        if isinstance(handler_or_refusal, HttpResponse):
            return handler_or_refusal
        return self.call_handler(handler_or_refusal, request, *args, **kwargs)

    def check_request(self, request: HttpRequest) -> HttpResponse | None:
        """Refuse what cannot be an event from an API Gateway, before touching the database."""
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > self.MAX_BODY_SIZE:
            return error(f"Body larger than {self.MAX_BODY_SIZE} bytes.", 413)
        missing = missing_headers(
            request, [*self.required_headers, *self.additional_required_headers]
        )
        api_id = request_api_id(request)
        if not api_id:
            missing.append(api_id_header_names()[0])
        if missing:
            return self.missing_headers(request, missing=missing)
        self.connection_id = request.headers["Connectionid"]
        # The whole id: ``re.match`` with ``$`` would let a trailing newline through.
        if not re.fullmatch(self.CONNECTION_ID_PATTERN, self.connection_id):
            return error("Malformed connection id.")
        return None

    def parse_body(self, request: HttpRequest) -> HttpResponse | None:
        """Set ``self.body`` from a message event's JSON object."""
        try:
            self.body = parse_json_object(request.body, self.MAX_BODY_DEPTH)
        except BodyError as exc:
            return error(str(exc))
        return None

    def load_gateway(self, request: HttpRequest) -> HttpResponse | None:
        """``$connect``: the gateway named by the request, holding an accepted secret."""
        self.api_gateway = named_gateway(request)
        if not has_valid_secret(request, self.api_gateway):
            return self.invalid_gateway_secret(request)
        if self.api_gateway is None or not self.is_pinned_gateway(request):
            return error("Unknown API Gateway.")
        return None

    def is_pinned_gateway(self, request: HttpRequest) -> bool:
        """``aws_api_gateway_id``, when set, is the only API accepted; asked once the secret
        is proven, so that without it the pinned id cannot be found by trying ids."""
        return not self.aws_api_gateway_id or request_api_id(request) == self.aws_api_gateway_id

    def load_session(self, request: HttpRequest) -> HttpResponse | None:
        """Load the connection's session with its gateway and user in one query.

        The secret is checked against the session's gateway; an unknown connection id is
        checked against the gateway the request names, so that without the secret nobody
        can tell which connection ids exist.
        """
        session = (
            WebSocketSession.objects.select_related("api_gateway", "user")
            .filter(connection_id=self.connection_id)
            .first()
        )
        if session is None:
            if not has_valid_secret(request, named_gateway(request)):
                return self.invalid_gateway_secret(request)
            return self.session_not_found(request)
        if not has_valid_secret(request, session.api_gateway):
            return self.invalid_gateway_secret(request)
        if (
            session.api_gateway is None
            or session.api_gateway.api_id != request_api_id(request)
            or not self.is_pinned_gateway(request)
        ):
            return error("Unknown API Gateway.")
        self.websocket_session = session
        self.api_gateway = session.api_gateway
        request.user = self.message_user(request, session)
        return None

    @staticmethod
    def message_user(request: HttpRequest, session: WebSocketSession) -> Any:
        """Who a message event acts as: the connection's user, never a cookie's.

        A connection without a user (an anonymous ``$connect``, or a session a test created)
        acts as the request's own login, if any. API Gateway forwards the client's headers,
        cookies included, only on ``$connect`` ("Set up data mapping for WebSocket APIs in
        API Gateway",
        https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-data-mapping.html),
        so on AWS that is anonymous; in tests, a client's ``force_login`` is honoured.
        """
        if session.user is not None:
            return session.user
        login = logged_in_user(request) if hasattr(request, "user") else None
        return login or AnonymousUser()

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
        # updated_on is the last event: the presence probe asks AWS only about idle ones.
        WebSocketSession.objects.filter(pk=self.websocket_session.pk).update(
            request_count=F("request_count") + 1, updated_on=timezone.now()
        )
        signals.send_after_commit(
            signals.message_received,
            WebSocketSession,
            session=self.websocket_session,
            body=self.body,
            handler=name,
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
        return not needed or permission_holder(request).has_perms(needed)

    def has_any_permission(self, request: HttpRequest) -> bool:
        """True if no permissions are required (as in 4.x), else if the user has one."""
        return not self.permissions_required or any(
            permission_holder(request).has_perm(p) for p in self.permissions_required
        )

    def has_all_permission(self, request: HttpRequest) -> bool:
        return permission_holder(request).has_perms(self.all_permissions_required)

    # Built-in handlers

    def disconnect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse | None:
        mark_one_gone(self.websocket_session, signals.REASON_DISCONNECT)
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
        session = self.websocket_session
        old = session.channel_name
        if old != channel:
            if old:
                channels.unsubscribe(session, old, notify=False)  # the reply says so
            # The new channel becomes the connect-time one, as in 4.x; a subscription row
            # for it would be a second path, which the channel selection tolerates.
            WebSocketSession.objects.filter(pk=session.pk).update(
                channel_name=channel, updated_on=timezone.now()
            )
            session.channel_name = channel
            signals.send_after_commit(
                signals.subscribed, WebSocketSession, session=session, channel=channel
            )
        return JsonResponse({"type": "channel_changed", "channel": channel})


def subclass_functions(cls: type[WebSocketView]) -> set[str]:
    """Public names whose attribute on ``cls`` is a plain function of a ``WebSocketView`` subclass.

    A name counts only where it resolves (the first class of the MRO defining it): a mixin
    placed before the view that defines or overrides a name keeps it from being a handler.
    """
    names: set[str] = set()
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass is WebSocketView:
            break
        for name, value in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            own = isinstance(klass, type) and issubclass(klass, WebSocketView)
            if own and inspect.isfunction(value) and not name.startswith("_"):
                names.add(name)
    return names


def named_gateway(request: HttpRequest) -> ApiGateway | None:
    """The gateway whose API id the request carries, if this site knows it."""
    return ApiGateway.objects.filter(api_id=request_api_id(request)).first()


@cache
def base_view_names() -> frozenset[str]:
    """Every name ``WebSocketView`` defines (fixed once the class exists): never a handler."""
    return frozenset(dir(WebSocketView))

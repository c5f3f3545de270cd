"""The chat: WebSocket events from API Gateway, the demo page and its delivery-report API.

``ChatView`` is what an adopter writes: a ``WebSocketView`` subclass with one method per
message ``action``. One connection holds several rooms: the page subscribes to each room with
the library's built-in ``subscribe`` action (no reconnect to change room), reads who is in a
room with its ``presence`` action and join/leave events, and gets what it missed after a
reconnect from the channel's history. A message is published to its room with
``channels.publish`` (the delivery engine fans it out), so the event view returns as soon as
the send is queued.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from django_aws_api_gateway_websockets import channels
from django_aws_api_gateway_websockets.models import DeliveryReport
from django_aws_api_gateway_websockets.views import WebSocketView, error

from .models import ChatMessage

ROOMS = ("general", "random", "support")
DEFAULT_ROOM = ROOMS[0]
MAX_MESSAGE_LENGTH = 2000
HISTORY_LENGTH = 50
RECENT_DELIVERIES = 10
DEFAULT_PUBLIC_URL = "ws://127.0.0.1:8001/"


def public_websocket_url() -> str:
    """The gateway URL browsers connect to: ``WEBSOCKETS_PUBLIC_URL`` (setting, then env)."""
    return getattr(
        settings,
        "WEBSOCKETS_PUBLIC_URL",
        os.environ.get("WEBSOCKETS_PUBLIC_URL", DEFAULT_PUBLIC_URL),
    )


def serialize_message(message: ChatMessage, username: str | None = None) -> dict[str, Any]:
    return {
        # The page shows a message once, whether it came live, recovered or in a history.
        "id": message.pk,
        "message": message.text,
        "user": username if username is not None else message.user.get_username(),
        "sent_at": message.created_on.isoformat(),
    }


class ChatView(WebSocketView):
    """Chat rooms over API Gateway: each room a channel, many rooms per connection."""

    USE_WS_TOKEN = True
    # The library's own actions (subscribe, unsubscribe, presence, ping) come on top.
    ALLOWED_HANDLERS = {"default", "chat_message", "fetch_history"}
    HANDLER_PERMISSIONS = {"chat_message": ["websockets.can_use_chat"]}

    def has_channel_access(self, request: HttpRequest, channel: str) -> bool:
        # The one rule for $connect's ?channel= and for the subscribe and presence actions.
        return channel in ROOMS

    def requested_room(self) -> tuple[str | None, HttpResponse | None]:
        """The body's ``room``, or the refusal naming what is wrong with it."""
        room = self.body.get("room")
        if room not in ROOMS:
            return None, error(f"room must be one of: {', '.join(ROOMS)}.")
        return room, None

    # Handlers

    def chat_message(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        room, refusal = self.requested_room()
        if refusal is not None:
            return refusal
        if room not in channels.channels_of(self.websocket_session):
            return error(f"Join #{room} before posting in it.", 403)
        text = self.body.get("message")
        if not isinstance(text, str) or not text.strip():
            return error("message must be a non-empty string.")
        text = text.strip()
        if len(text) > MAX_MESSAGE_LENGTH:
            return error(f"message must be at most {MAX_MESSAGE_LENGTH} characters.")
        username = request.user.get_username()
        message = ChatMessage.objects.create(channel_name=room, user=request.user, text=text)
        data = {"type": "chat_message", "room": room, **serialize_message(message, username)}
        published = channels.publish(room, data)
        # None only inside a transaction (the publish waits for its commit): no report yet.
        report_id = str(published.report.pk) if published is not None else None
        if published is not None:
            ChatMessage.objects.filter(pk=message.pk).update(delivery_report=published.report)
        # The quickstart's reply, delivery_id included: the browser client dedupes by the
        # library's "$ws" id only, so this never hides the sender's own message from it.
        return JsonResponse({"type": "sent", "delivery_id": report_id, "room": room})

    def fetch_history(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        room, refusal = self.requested_room()
        if refusal is not None:
            return refusal
        latest = ChatMessage.objects.filter(channel_name=room).select_related("user")
        messages = [serialize_message(m) for m in reversed(latest[:HISTORY_LENGTH])]
        return JsonResponse({"type": "history", "room": room, "messages": messages})

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return error("Unknown action.")


# The demo page


@login_required
@ensure_csrf_cookie
@require_GET
def chat_page(request: HttpRequest) -> HttpResponse:
    room = request.GET.get("room", DEFAULT_ROOM)
    if room not in ROOMS:
        room = DEFAULT_ROOM
    config = {
        "wsUrl": public_websocket_url(),
        "tokenUrl": reverse("websocket_token"),
        "deliveriesUrl": reverse("chat_deliveries"),
        "whoamiUrl": reverse("chat_whoami"),
        "rooms": list(ROOMS),
        "room": room,
        "username": request.user.get_username(),
        "canChat": request.user.has_perm("websockets.can_use_chat"),
        "maxLength": MAX_MESSAGE_LENGTH,
    }
    return render(request, "websockets/chat.html", {"chat_config": config, "rooms": ROOMS})


def json_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer anonymous callers with a JSON 403 rather than a redirect to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return error("Authentication required.", 403)
        return view(request, *args, **kwargs)

    return wrapper


def serialize_report(report: DeliveryReport) -> dict[str, Any]:
    return {
        "id": str(report.pk),
        "description": report.description,
        "recipients": report.recipients,
        "delivered": report.delivered,
        "gone": report.gone,
        "failed": report.failed,
        "retried": report.retried,
        # null until the recipients are known: the page shows the send as queued.
        "progress": report.progress if report.recipients_known else None,
        "created": report.created_on.isoformat(),
        "started": report.started.isoformat() if report.started else None,
        "finished": report.finished.isoformat() if report.finished else None,
    }


def own_reports(request: HttpRequest) -> Any:
    """Reports of the chat messages the current user sent."""
    return DeliveryReport.objects.filter(
        pk__in=ChatMessage.objects.filter(user=request.user).values("delivery_report")
    )


@json_login_required
@require_GET
def delivery_list(request: HttpRequest) -> HttpResponse:
    """The current user's most recent sends, newest first, each with its message."""
    messages = (
        ChatMessage.objects.filter(user=request.user, delivery_report__isnull=False)
        .select_related("delivery_report")
        .order_by("-created_on")[:RECENT_DELIVERIES]
    )
    return JsonResponse(
        {
            "deliveries": [
                {
                    **serialize_report(m.delivery_report),
                    "room": m.channel_name,
                    "message": m.text,
                }
                for m in messages
            ]
        }
    )


@json_login_required
@require_GET
def whoami(request: HttpRequest) -> HttpResponse:
    """Who this browser is signed in as now (another window may have changed it)."""
    return JsonResponse({"username": request.user.get_username()})


@json_login_required
@require_GET
def delivery_detail(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    """One of the current user's sends: its counts and progress."""
    report = own_reports(request).filter(pk=report_id).first()
    if report is None:
        return error("No such delivery report.", 404)
    return JsonResponse(serialize_report(report))

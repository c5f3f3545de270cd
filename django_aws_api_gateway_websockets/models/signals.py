"""Connections closed by what happens elsewhere: a logout, a deleted gateway."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.http import HttpRequest

from .. import signals
from .credentials import session_key_hashes
from .gateways import ApiGateway
from .sessions import WebSocketSession, mark_gone


@receiver(user_logged_out, dispatch_uid="websockets-close-sessions-on-logout")
def close_sessions_on_logout(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """The sockets opened from the Django session that logged out stop receiving messages.

    Sockets opened before ``SECRET_KEY`` was rotated carry a hash made with an old key.
    """
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        mark_gone(
            WebSocketSession.objects.filter(session_key_hash__in=session_key_hashes(session_key)),
            signals.REASON_LOGIN_ENDED,
        )


@receiver(pre_delete, sender=ApiGateway, dispatch_uid="websockets-disconnect-deleted-gateway")
def disconnect_sessions_of_deleted_gateway(
    sender: Any, instance: ApiGateway, **kwargs: Any
) -> None:
    """A deleted gateway's connections are gone with it (the foreign key is then set null)."""
    mark_gone(instance.sessions.all(), signals.REASON_GATEWAY_DELETED)

"""Keyed hashes of the credentials a connection is tied to: its Django session and login.

A Django session key is a login credential, so it is never stored: tokens and sessions keep
an HMAC of it instead. The recipes (salt, SHA-256, ``SECRET_KEY``, hex) are 4.x's, so tokens
issued and sessions recorded before an upgrade from 4.x still match.
"""

from __future__ import annotations

from typing import Any

from django.utils.crypto import salted_hmac

SESSION_KEY_SALT = "django_aws_api_gateway_websockets.WebSocketToken.session_key"
AUTH_HASH_SALT = "django_aws_api_gateway_websockets.WebSocketSession.auth_hash"


def hash_session_key(session_key: str) -> str:
    """The stored form of a Django session key (64 hex characters)."""
    return salted_hmac(SESSION_KEY_SALT, session_key, algorithm="sha256").hexdigest()


def hash_user_auth(user: Any) -> str:
    """A hash that changes when the user's password does; ``""`` for users without one.

    ``get_session_auth_hash()`` is what Django itself compares to end sessions after a
    password change; hashing it again keeps the stored value useless on its own.
    """
    get_hash = getattr(user, "get_session_auth_hash", None)
    if get_hash is None:
        return ""
    return salted_hmac(AUTH_HASH_SALT, get_hash(), algorithm="sha256").hexdigest()

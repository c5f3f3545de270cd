"""Keyed hashes of the credentials a connection is tied to: its Django session, login, token.

A Django session key is a login credential, so it is never stored: tokens and sessions keep
an HMAC of it instead; connect tokens are stored the same way. The recipes (salt, SHA-256,
``SECRET_KEY``, hex) are 4.x's, so tokens issued and sessions recorded before an upgrade
from 4.x still match.

Hashes are made with ``SECRET_KEY`` and checked against ``SECRET_KEY_FALLBACKS`` too, as
Django documents for rotating the key
(https://docs.djangoproject.com/en/stable/ref/settings/#secret-key-fallbacks): what was
stored before a rotation keeps matching until the old key is dropped from the fallbacks.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SESSION_KEY_SALT = "django_aws_api_gateway_websockets.WebSocketToken.session_key"
AUTH_HASH_SALT = "django_aws_api_gateway_websockets.WebSocketSession.auth_hash"
TOKEN_SALT = "django_aws_api_gateway_websockets.WebSocketToken.token"


def secret_keys() -> list[str]:
    """``SECRET_KEY`` then each of ``SECRET_KEY_FALLBACKS``: the keys a hash may be made with."""
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def keyed_hashes(salt: str, value: str) -> list[str]:
    """``value``'s hash under every accepted key, the current key's first."""
    return [
        salted_hmac(salt, value, secret=key, algorithm="sha256").hexdigest()
        for key in secret_keys()
    ]


def hash_session_key(session_key: str) -> str:
    """The stored form of a Django session key (64 hex characters)."""
    return salted_hmac(SESSION_KEY_SALT, session_key, algorithm="sha256").hexdigest()


def session_key_hashes(session_key: str) -> list[str]:
    """Every stored form ``session_key`` may have (current key, then the fallbacks)."""
    return keyed_hashes(SESSION_KEY_SALT, session_key)


def hash_token(token: str) -> str:
    """The stored form of a connect token (64 hex characters): the token is never stored."""
    return salted_hmac(TOKEN_SALT, token, algorithm="sha256").hexdigest()


def token_hashes(token: str) -> list[str]:
    """Every stored form ``token`` may have (current key, then the fallbacks)."""
    return keyed_hashes(TOKEN_SALT, token)


def hash_user_auth(user: Any) -> str:
    """A hash that changes when the user's password does; ``""`` for users without one.

    ``get_session_auth_hash()`` is what Django itself compares to end sessions after a
    password change; hashing it again keeps the stored value useless on its own.
    """
    get_hash = getattr(user, "get_session_auth_hash", None)
    if get_hash is None:
        return ""
    return salted_hmac(AUTH_HASH_SALT, get_hash(), algorithm="sha256").hexdigest()


def user_auth_matches(stored: str, user: Any) -> bool:
    """Whether ``stored`` is ``hash_user_auth(user)`` as made under any accepted key.

    The inner hash is keyed too (``get_session_auth_hash()``): under an old key both were
    made with that key, so each fallback pairs with Django's
    ``get_session_auth_fallback_hash()``, as Django's own session check does.
    """
    if constant_time_compare(stored, hash_user_auth(user)):
        return True
    fallback_hashes = getattr(user, "get_session_auth_fallback_hash", None)
    if fallback_hashes is None:
        return False
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", [])
    return any(
        constant_time_compare(
            stored, salted_hmac(AUTH_HASH_SALT, inner, secret=key, algorithm="sha256").hexdigest()
        )
        for key, inner in zip(fallbacks, fallback_hashes(), strict=False)
    )

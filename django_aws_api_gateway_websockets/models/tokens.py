"""Single-use connect tokens and the connection attempts counted for rate limiting."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..conf import app_settings
from .credentials import hash_session_key, hash_token, session_key_hashes, token_hashes
from .deletion import delete_in_batches

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, _User


class WebSocketToken(models.Model):
    """A single-use token that lets a logged-in browser open one connection.

    ``token`` holds a keyed hash of the token (see ``credentials``): the token itself is
    known only to the instance ``generate_token`` returns, whose ``token`` is the clear
    value to hand to the browser, once. ``session_key`` holds a keyed hash of the Django
    session key, never the key itself.
    """

    token = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"\A[a-f0-9]{64}\Z", "Invalid token format")],
        help_text="Keyed hash of the token; the token itself is never stored.",
    )
    # False for rows stored in clear: issued before the upgrade, or by a 4.1.0 process during
    # a mixed rollout (its INSERTs omit the column, hence the database default). They live a
    # minute; a hash never matches as a clear token, since only these rows are compared so.
    token_hashed = models.BooleanField(
        default=True,
        db_default=False,
        editable=False,
        help_text="The token column holds a keyed hash (False: a token stored in clear by 4.x).",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="websocket_tokens"
    )
    session_key = models.CharField(
        max_length=64, db_index=True, help_text="Keyed hash of the Django session key."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    used = models.BooleanField(default=False)

    class Meta:
        verbose_name = "WebSocket token"
        indexes = [models.Index(fields=["token", "used"], name="idx_websocket_tokens_used")]

    def __str__(self) -> str:
        return f"token {self.fingerprint}"

    @property
    def fingerprint(self) -> str:
        """A short name for the row (from the stored hash, so it tells nothing of the token)."""
        return f"{self.token[:8]}…" if self.token_hashed else "(stored in clear by 4.x)"

    @classmethod
    def generate_token(cls, user: AbstractBaseUser, session_key: str) -> WebSocketToken:
        """A new token for ``user`` in ``session_key``; the returned ``token`` is the clear value.

        Only its keyed hash is saved: saving the returned instance again would store the
        clear value, which matches nothing (the token is then spent, never exposed).
        """
        value = secrets.token_hex(32)
        token = cls.objects.create(
            user=user, session_key=hash_session_key(session_key), token=hash_token(value)
        )
        token.token = value
        return token

    @classmethod
    def validate_and_consume(
        cls, token_value: str, session_key: str, max_age_seconds: int | None = None
    ) -> _User | None:
        """Return the token's user and spend the token, or None if it is unknown, used or old.

        One UPDATE claims the token, so two concurrent connects cannot both spend it. Hashes
        made before ``SECRET_KEY`` was rotated match while the old key is a fallback.
        """
        if not token_value or not session_key:
            return None
        if max_age_seconds is None:
            max_age_seconds = app_settings.token_expiry_seconds
        stored = Q(token_hashed=True, token__in=token_hashes(token_value)) | Q(
            token_hashed=False, token=token_value
        )
        fresh = cls.objects.filter(
            stored,
            session_key__in=session_key_hashes(session_key),
            used=False,
            created_at__gte=timezone.now() - timedelta(seconds=max_age_seconds),
        )
        token = fresh.select_related("user").first()
        if token is None or not fresh.filter(pk=token.pk).update(used=True):
            return None
        return token.user

    @classmethod
    def check_rate_limit(cls, user: AbstractBaseUser, max_tokens_per_minute: int = 10) -> bool:
        """True while ``user`` has been issued fewer than the limit in the last minute."""
        since = timezone.now() - timedelta(minutes=1)
        return cls.objects.filter(user=user, created_at__gte=since).count() < max_tokens_per_minute

    @classmethod
    def cleanup_expired(cls, max_age_seconds: int = 300) -> int:
        """Delete tokens that were used or are older than ``max_age_seconds``."""
        cutoff = timezone.now() - timedelta(seconds=max_age_seconds)
        expired = cls.objects.filter(Q(used=True) | Q(created_at__lt=cutoff))
        return delete_in_batches(expired, "used or expired WebSocket tokens")


class ConnectionRateLimit(models.Model):
    """One connection attempt; failed ones are counted per IP and per user."""

    ip_address = models.GenericIPAddressField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="connection_attempts",
    )
    attempt_time = models.DateTimeField(auto_now_add=True, db_index=True)
    successful = models.BooleanField(default=False)

    class Meta:
        verbose_name = "connection attempt"
        indexes = [
            models.Index(fields=["ip_address", "attempt_time"], name="idx_ip_attempt_time"),
            models.Index(fields=["user", "attempt_time"], name="idx_user_attempt_time"),
        ]

    def __str__(self) -> str:
        return f"{self.ip_address} at {self.attempt_time:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def check_rate_limit(
        cls,
        ip_address: str,
        user: AbstractBaseUser | None = None,
        max_attempts: int = 20,
        window_minutes: int = 5,
    ) -> tuple[bool, int]:
        """Return ``(allowed, failed attempts)`` for the IP and, if authenticated, the user.

        Only failed attempts count: many users behind one address (a NAT, an office) connect
        as often as they like, while guessing tokens is still bounded.
        """
        recent = cls.objects.filter(
            attempt_time__gte=timezone.now() - timedelta(minutes=window_minutes),
            successful=False,
        )
        ip_count = recent.filter(ip_address=ip_address).count()
        if ip_count >= max_attempts:
            return False, ip_count
        if user is not None and user.is_authenticated:
            user_count = recent.filter(user=user).count()
            if user_count >= max_attempts:
                return False, user_count
        return True, ip_count

    @classmethod
    def record_attempt(
        cls, ip_address: str, user: AbstractBaseUser | None = None, successful: bool = False
    ) -> ConnectionRateLimit:
        authenticated = user is not None and user.is_authenticated
        return cls.objects.create(
            ip_address=ip_address, user=user if authenticated else None, successful=successful
        )

    @classmethod
    def cleanup_old_records(cls, days: int = 7) -> int:
        """Delete connection attempts older than ``days``."""
        old = cls.objects.filter(attempt_time__lt=timezone.now() - timedelta(days=days))
        return delete_in_batches(old, "old connection attempts")

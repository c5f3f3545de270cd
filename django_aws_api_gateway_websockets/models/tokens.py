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
from .credentials import hash_session_key
from .deletion import delete_in_batches

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, _User


class WebSocketToken(models.Model):
    """A single-use token that lets a logged-in browser open one connection.

    ``session_key`` holds a keyed hash of the Django session key (see ``credentials``), never
    the key itself.
    """

    token = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"^[a-f0-9]{64}$", "Invalid token format")],
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
        return f"{self.token[:16]}..."

    @classmethod
    def generate_token(cls, user: AbstractBaseUser, session_key: str) -> WebSocketToken:
        return cls.objects.create(
            user=user, session_key=hash_session_key(session_key), token=secrets.token_hex(32)
        )

    @classmethod
    def validate_and_consume(
        cls, token_value: str, session_key: str, max_age_seconds: int | None = None
    ) -> _User | None:
        """Return the token's user and spend the token, or None if it is unknown, used or old.

        One UPDATE claims the token, so two concurrent connects cannot both spend it.
        """
        if not token_value or not session_key:
            return None
        if max_age_seconds is None:
            max_age_seconds = app_settings.token_expiry_seconds
        fresh = cls.objects.filter(
            token=token_value,
            session_key=hash_session_key(session_key),
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
    """One connection attempt, counted per IP and per user."""

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
        """Return ``(allowed, attempts)`` for the IP and, if authenticated, the user."""
        recent = cls.objects.filter(
            attempt_time__gte=timezone.now() - timedelta(minutes=window_minutes)
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

"""Who may join a channel: rules kept in the database and edited in the admin."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Permission
from django.core.validators import RegexValidator
from django.db import models

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager

# The one rule for channel names, wherever one is checked. ``\Z``, not ``$``: ``$`` also
# matches before a trailing newline, which would let "staff\n" pass as a name of its own.
CHANNEL_NAME_RE = r"\A[a-zA-Z0-9_-]+\Z"
CHANNEL_NAME_MAX_LENGTH = 128
CHANNEL_NAME_MESSAGE = "Letters, digits, '_' and '-' only."
validate_channel_name = RegexValidator(CHANNEL_NAME_RE, CHANNEL_NAME_MESSAGE)


def is_valid_channel_name(
    name: Any,
    pattern: re.Pattern[str] | str = CHANNEL_NAME_RE,
    max_length: int = CHANNEL_NAME_MAX_LENGTH,
) -> bool:
    """Whether ``name`` is a channel name: a string ``pattern`` matches whole, not too long.

    The whole string always: a pattern written with ``^...$`` (4.x's) cannot let a
    trailing newline through either.
    """
    if not isinstance(name, str) or len(name) > max_length:
        return False
    return re.fullmatch(pattern, name) is not None


def may_join(user: Any, channel: str, allow_unlisted: bool = True) -> bool:
    """The access rule for ``channel``: its ``ChannelPermission``, else ``allow_unlisted``.

    ``WebSocketView.can_join_channel`` decides the same way by default (with the view's
    ``ALLOW_UNLISTED_CHANNELS``); the Python API of ``channels`` calls this.
    """
    rule = ChannelPermission.for_channel(channel)
    return allow_unlisted if rule is None else rule.allows(user)


class ChannelPermission(models.Model):
    """Who may join one channel; channels without a row follow ``ALLOW_UNLISTED_CHANNELS``."""

    if TYPE_CHECKING:  # what Django adds, declared for checkers without the Django plugin
        rules: RelatedManager[ChannelPermissionRule]

        def get_access_display(self) -> str: ...

    class Access(models.TextChoices):
        ALLOW_ALL = "allow_all", "Allow all"
        SUPERUSER_ONLY = "superuser_only", "Super admin only"
        STAFF_ONLY = "staff_only", "Staff only"
        PERMISSIONS = "permissions", "Requires Django permissions"

    channel_name = models.CharField(
        max_length=CHANNEL_NAME_MAX_LENGTH,
        unique=True,
        validators=[validate_channel_name],
        help_text="The channel this rule governs.",
    )
    access = models.CharField(
        max_length=16,
        choices=Access.choices,
        default=Access.ALLOW_ALL,
        help_text="Who may join. With permissions, a user needs every permission of any one rule.",
    )
    description = models.CharField(max_length=255, blank=True, default="")
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel_name"]

    def __str__(self) -> str:
        return f"{self.channel_name} ({self.get_access_display()})"

    @classmethod
    def for_channel(cls, channel_name: str) -> ChannelPermission | None:
        return cls.objects.filter(channel_name=channel_name).first()

    def allows(self, user: Any) -> bool:
        """May ``user`` (possibly None or anonymous) join this channel?"""
        if self.access == self.Access.ALLOW_ALL:
            return True
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if user.is_superuser:
            return True
        if self.access == self.Access.STAFF_ONLY:
            return user.is_staff
        if self.access == self.Access.PERMISSIONS:
            rules = self.rules.prefetch_related("permissions__content_type")
            return any(rule.is_satisfied_by(user) for rule in rules)
        # Superuser-only, or a value this version does not know: refuse.
        return False


class ChannelPermissionRule(models.Model):
    """A set of permissions that together grant access to a channel (rules are OR-ed)."""

    channel_permission = models.ForeignKey(
        ChannelPermission, on_delete=models.CASCADE, related_name="rules"
    )
    permissions = models.ManyToManyField(
        Permission,
        blank=True,
        related_name="channel_permission_rules",
        help_text="The user needs all of these.",
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        labels = self.labels()
        return " AND ".join(labels) if labels else "(no permissions)"

    def labels(self) -> list[str]:
        """``app_label.codename`` of each permission, as ``user.has_perms`` takes them."""
        return [f"{p.content_type.app_label}.{p.codename}" for p in self.permissions.all()]

    def is_satisfied_by(self, user: Any) -> bool:
        """An empty rule grants nothing."""
        labels = self.labels()
        return bool(labels) and user.has_perms(labels)

"""``request.user`` as the views use it, typed for any user model."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.contrib.auth.models import AnonymousUser, PermissionsMixin
from django.http import HttpRequest

if TYPE_CHECKING:
    # The project's user model (AUTH_USER_MODEL) to django-stubs' mypy plugin.
    from django.contrib.auth.models import _User


def logged_in_user(request: HttpRequest) -> _User | None:
    """The authenticated user, else None."""
    user = request.user
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return None
    return user


def permission_holder(request: HttpRequest) -> PermissionsMixin | AnonymousUser:
    """``request.user`` as what answers ``has_perm``: like Django's permission checks, the
    views expect a user model with ``PermissionsMixin`` or its methods."""
    return cast("PermissionsMixin | AnonymousUser", request.user)

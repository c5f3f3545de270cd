"""The records the demo needs: the local gateway, demo users, periodic tasks."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from importlib import import_module
from typing import Any

from django.apps import apps

from .environment import DEFAULT_API_ID

DEMO_USERS = ("alice", "bob")
DEMO_ADMIN = "admin"
DEMO_PERMISSION = "websockets.can_use_chat"
DEMO_API_NAME = "Local demo gateway"
# Modules whose ``ensure_periodic_tasks()`` registers the project's beat schedule.
SCHEDULE_MODULES = ("tasks.schedules",)


def ensure_gateway(api_id: str, stage: str, target: str) -> Any:
    """Create or update the ApiGateway record the local gateway stands in for.

    It gets its own secret, as provisioning gives every gateway: the local gateway sends it
    with every event and the views refuse events without it.
    """
    from django_aws_api_gateway_websockets.gateway_secrets import new_secret
    from django_aws_api_gateway_websockets.models import ApiGateway

    gateway = ApiGateway.objects.filter(api_id=api_id).first() or ApiGateway(
        api_id=api_id, api_name=DEMO_API_NAME if api_id == DEFAULT_API_ID else f"Local {api_id}"
    )
    gateway.stage_name = stage
    gateway.target_base_endpoint = target
    gateway.api_created = True
    gateway.api_description = "Served by manage.py runlocalgateway"
    gateway.gateway_secret = gateway.gateway_secret or new_secret()
    gateway.save()
    return gateway


def ensure_demo_users(
    usernames: Sequence[str] = DEMO_USERS,
    *,
    reset_passwords: bool = False,
    permission: str = DEMO_PERMISSION,
) -> list[tuple[str, str | None]]:
    """Create the demo users with ``permission``; return ``(username, new password or None)``."""
    from django.contrib.auth.models import Permission

    app_label, codename = permission.split(".", 1)
    perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    result = []
    for username in usernames:
        user, password = ensure_user(username, reset_password=reset_passwords)
        if perm is not None:
            user.user_permissions.add(perm)
        result.append((username, password))
    return result


def ensure_demo_admin(
    username: str = DEMO_ADMIN, *, reset_password: bool = False
) -> tuple[str, str | None]:
    """Create the demo's staff superuser (the way into /admin/); return its new password."""
    _, password = ensure_user(
        username, reset_password=reset_password, is_staff=True, is_superuser=True
    )
    return username, password


def ensure_user(username: str, *, reset_password: bool, **flags: bool) -> tuple[Any, str | None]:
    """Get or create ``username`` with ``flags``; a new user (or a reset) gets a random password.

    The password is returned to be shown and written to the demo's credentials file.
    """
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: username})
    password = None
    if created or reset_password:
        password = secrets.token_urlsafe(9)
        user.set_password(password)
    for name, value in flags.items():
        setattr(user, name, value)
    user.save()
    return user, password


def ensure_schedules(modules: Sequence[str] = SCHEDULE_MODULES) -> list[str]:
    """Run ``ensure_periodic_tasks()`` of each importable module; return the ones that ran."""
    done = []
    for name in modules:
        if not apps.is_installed(name.split(".", 1)[0]):
            continue
        import_module(name).ensure_periodic_tasks()
        done.append(name)
    return done


def forget_local_connections(gateway: Any) -> int:
    """A gateway that is (re)starting holds no connection: mark its sessions disconnected.

    Through the library's one path (``mark_gone``), so presence and the signals follow; their
    ``$disconnect`` never came, as after a 410.
    """
    from django_aws_api_gateway_websockets import signals
    from django_aws_api_gateway_websockets.models import mark_gone

    return mark_gone(gateway.sessions.all(), signals.REASON_GONE)

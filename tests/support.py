"""Helpers every test package uses: a free port, and polling until something holds."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    condition: Callable[[], Any],
    timeout: float = 15.0,
    interval: float = 0.1,
    what: str | Callable[[], str] = "",
) -> Any:
    """Poll ``condition`` until it returns something truthy; return that, or fail the test.

    ``what`` names what was awaited; a callable is asked only on failure, so the message can
    show the state at that moment.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            described = what() if callable(what) else what or condition
            pytest.fail(f"timed out after {timeout} s waiting for {described}")
        time.sleep(interval)


def admins(address: str) -> list:
    """``settings.ADMINS`` for one address: Django 6.0 takes plain addresses (and deprecates
    pairs); 5.2 takes only (name, address) pairs."""
    import django

    return [address] if django.VERSION >= (6, 0) else [("Admin", address)]


def gateway_change_form(client: Any, gateway: Any, **changes: str) -> tuple[str, dict]:
    """The admin's change page of ``gateway`` and its form's data as a browser posts it back,
    with ``changes``; no inline routes unless ``changes`` holds the inline formset's fields."""
    from django.urls import reverse

    url = reverse("admin:django_aws_api_gateway_websockets_apigateway_change", args=[gateway.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "tags"}
    data.update(
        {
            "tags": "{}",
            "additional_routes-TOTAL_FORMS": "0",
            "additional_routes-INITIAL_FORMS": "0",
            **changes,
        }
    )
    return url, data

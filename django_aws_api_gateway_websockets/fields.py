"""A URL field for integration targets, where single-label hosts are normal, and host rules."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

from .conf import integration_hosts

_validate_url = URLValidator(schemes=["http", "https"])


def validate_endpoint_url(value: str) -> None:
    """Django's URL validation, except that hosts without a dot (``testserver``, ``web``) pass.

    Such hosts are what Django's test client and a Docker network use.
    """
    parts = urlsplit(value)
    host = parts.hostname or ""
    if host and "." not in host and ":" not in host:
        # Give the host a dotted form so the stock validator checks everything else.
        value = parts._replace(netloc=parts.netloc.replace(host, f"{host}.internal", 1)).geturl()
    _validate_url(value)


def host_is_allowed(host: str, patterns: list[str]) -> bool:
    """``host`` equals a pattern, or is a subdomain of a ``*.domain`` pattern."""
    host = host.lower()
    return any(
        host.endswith(pattern[1:]) if pattern.startswith("*.") else host == pattern
        for pattern in patterns
    )


def validate_integration_host(url: str | None, field: str) -> None:
    """Refuse an integration URL whose host ``allowed_integration_hosts`` does not list.

    API Gateway forwards every event, with the gateway secret, to these URLs: the setting
    keeps an admin user from pointing them elsewhere.
    """
    patterns = integration_hosts()
    if patterns is None or not url:
        return
    if not host_is_allowed(urlsplit(url).hostname or "", patterns):
        message = "This host is not in WEBSOCKETS['allowed_integration_hosts']."
        raise ValidationError({field: message})


class EndpointURLFormField(forms.URLField):
    default_validators = [validate_endpoint_url]


class EndpointURLField(models.URLField):
    default_validators = [validate_endpoint_url]

    def formfield(self, **kwargs: Any) -> Any:
        # An explicit scheme: Django 5.2 warns about its http default changing in 6.0.
        defaults = {"form_class": EndpointURLFormField, "assume_scheme": "https"}
        return super().formfield(**{**defaults, **kwargs})

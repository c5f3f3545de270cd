"""A URL field for integration targets, where single-label hosts are normal."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.validators import URLValidator
from django.db import models

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


class EndpointURLFormField(forms.URLField):
    default_validators = [validate_endpoint_url]


class EndpointURLField(models.URLField):
    default_validators = [validate_endpoint_url]

    def formfield(self, **kwargs: Any) -> Any:
        # An explicit scheme: Django 5.2 warns about its http default changing in 6.0.
        defaults = {"form_class": EndpointURLFormField, "assume_scheme": "https"}
        return super().formfield(**{**defaults, **kwargs})

"""The JSON refusals every view answers with, and header helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse


def error(message: str, status: int = 400) -> JsonResponse:
    """The short JSON error every refusal answers with."""
    return JsonResponse({"error": message}, status=status)


def header_to_meta(name: str) -> str:
    return "HTTP_" + name.upper().replace("-", "_")


def missing_headers(request: HttpRequest, names: list[str]) -> list[str]:
    """The names among ``names`` the request has no (or an empty) header for."""
    return [name for name in names if not request.META.get(header_to_meta(name))]


class PostOnlyMixin:
    """Answer any method but POST with a JSON 405."""

    http_method_names: Sequence[str] = ["post"]

    def http_method_not_allowed(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        response = error(f"Method {request.method} not allowed; use POST.", 405)
        response["Allow"] = "POST"
        return response

"""URLs of the competitor's side: a minimal 4.1.0 ``WebSocketView`` with a no-op ``default``."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketView


class BenchView(WebSocketView):
    """Answers every message with ``{"ok": true}`` and touches nothing else."""

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return JsonResponse({"ok": True})


urlpatterns = [path("ws/<slug:route>", BenchView.as_view())]

"""URLs of either side: a minimal ``WebSocketView`` whose ``$default`` handler does no work.

The query count of a message event is then the view machinery's own cost. The import is ours
in our processes and 4.1.0's in theirs.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketView


class BenchView(WebSocketView):
    """Answers every message with ``{"ok": true}`` and touches nothing else."""

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return JsonResponse({"ok": True})


urlpatterns = [path("ws/<slug:route>", BenchView.as_view())]

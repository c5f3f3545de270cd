"""Template-view mixins that tell a page which WebSocket route and channel to use (4.x)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import resolve

from .models import ApiGatewayAdditionalRoute


class AddWebSocketRouteToContextMixin:
    """Adds ``api_gateway_route`` (the additional route for ``websocket_route_key``, or None)
    and ``channel_name`` to the template context."""

    websocket_route_key = "default"
    channel_name = ""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["api_gateway_route"] = (
            ApiGatewayAdditionalRoute.objects.select_related("api_gateway")
            .filter(route_key=self.websocket_route_key)
            .first()
        )
        context["channel_name"] = self.channel_name
        return context


class AppChannelWebSocketMixin(AddWebSocketRouteToContextMixin):
    """Uses the Django app of the page's view as route key and channel name, so each app
    gets its own channel; ``app_channel_override`` names another channel."""

    request: HttpRequest | None = None
    app_channel_override: str | None = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        assert self.request is not None, "View.setup() sets it before get_context_data()"
        view = resolve(self.request.path_info).func
        app = (getattr(view, "view_class", view).__module__ or "").rpartition(".")[0]
        self.websocket_route_key = app
        self.channel_name = self.app_channel_override or app
        return super().get_context_data(**kwargs)

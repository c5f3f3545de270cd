"""The URLs the testing guide's examples assume: events at ws/<route>, tokens at api/ws-token/."""

from django.contrib import admin
from django.urls import include, path

from django_aws_api_gateway_websockets.views import WebSocketTokenView
from tests.guide.views import ExampleWebSocketView

urlpatterns = [
    path("ws/<slug:route>", ExampleWebSocketView.as_view(), name="example_websocket"),
    path("api/ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
]

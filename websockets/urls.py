from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketTokenView

urlpatterns = [
    path("api/ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
]

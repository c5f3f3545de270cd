from django.urls import include, path

from django_aws_api_gateway_websockets.views import WebSocketTokenView

from .views import EchoView, GuardedView

urlpatterns = [
    path("ws/<slug:route>", EchoView.as_view()),
    path("guarded/<slug:route>", GuardedView.as_view()),
    path("api/ws-token/", WebSocketTokenView.as_view()),
    path("accounts/", include("django.contrib.auth.urls")),
]

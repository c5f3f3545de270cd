"""A view that also offers 4.x's ``change_channel``, for the channel tests."""

from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketView


class RoomsView(WebSocketView):
    USE_WS_TOKEN = False
    ADDITIONAL_ALLOWED_HANDLERS = ["change_channel"]

    def default(self, request, *args, **kwargs):
        return None


urlpatterns = [path("ws/<slug:route>", RoomsView.as_view())]

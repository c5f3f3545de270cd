"""The testing guide's example views, as the guide writes them."""

from django.http import JsonResponse

from django_aws_api_gateway_websockets.views import WebSocketView


class ExampleWebSocketView(WebSocketView):
    USE_WS_TOKEN = False

    def default(self, request, *args, **kwargs):
        return JsonResponse(
            {
                "ok": True,
                "message": self.body.get("message"),
            }
        )


class ChatWebSocketView(WebSocketView):
    USE_WS_TOKEN = False

    ALLOWED_HANDLERS = {
        "default",
        "chat_message",
        "fetch_history",
    }

    def chat_message(self, request, *args, **kwargs):
        return JsonResponse({"handler": "chat_message"})

    def fetch_history(self, request, *args, **kwargs):
        return JsonResponse({"handler": "fetch_history"})

    def default(self, request, *args, **kwargs):
        return JsonResponse({"handler": "default"})


class RestrictedWebSocketView(WebSocketView):
    """For the guide's permission examples: ``restricted`` needs ``can_use_chat``."""

    USE_WS_TOKEN = False
    HANDLER_PERMISSIONS = {"restricted": ["websockets.can_use_chat"]}

    def restricted(self, request, *args, **kwargs):
        return JsonResponse({"handler": "restricted"})

    def default(self, request, *args, **kwargs):
        return JsonResponse({"handler": "default"})

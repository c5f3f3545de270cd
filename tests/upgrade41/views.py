"""Views written for 4.1.0, unchanged: the upgrade runs them against this package."""

from django.http import JsonResponse

from django_aws_api_gateway_websockets.views import WebSocketView


class EchoView(WebSocketView):
    """A plain 4.1.0 view: one-time tokens, channel rules from the admin, one handler."""

    def echo(self, request, *args, **kwargs):
        return JsonResponse({"echo": self.body.get("text"), "user": str(request.user)})

    def default(self, request, *args, **kwargs):
        return JsonResponse({"handler": "default"})


class GuardedView(EchoView):
    """A 4.1.0 view using its hooks: its own channel rule, connect permissions, a refusal."""

    USE_WS_TOKEN = False
    CHECK_PERMISSIONS_ON_CONNECT = True
    permissions_required = ["auth.view_user"]
    ALLOW_UNLISTED_CHANNELS = False

    def can_join_channel(self, request, channel_name):
        if channel_name.startswith("vip-"):
            return request.user.is_staff
        return super().can_join_channel(request, channel_name)

    def permission_denied(self, request, *args, **kwargs):
        return JsonResponse({"type": "error", "reason": "not for you"}, status=403)

    def shout(self, request, *args, **kwargs):
        return JsonResponse({"shout": str(self.body.get("text", "")).upper()})

"""The documentation's code examples, typed as a user would type them.

pyright and mypy check this module in CI (see ``[tool.mypy]`` and ``[tool.pyright]``), and
``tests/test_typed_examples.py`` runs every example, so the docs, the type hints and the
behaviour cannot drift apart. Keep each example as the docs show it, annotations added.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client
from django.urls import path

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    DeliveryReport,
    WebSocketSession,
    WebSocketToken,
)
from django_aws_api_gateway_websockets.testing import capture_messages
from django_aws_api_gateway_websockets.views import WebSocketTokenView, WebSocketView

# docs/quickstart.md "Install": the settings (the ``...`` stands for the project's own apps).
INSTALLED_APPS = [
    "django_celery_beat",  # optional: default cleanup schedules
    "django_aws_api_gateway_websockets",
]


# docs/views.md: a chat view and its URLs.
class ChatView(WebSocketView):
    HANDLER_PERMISSIONS = {"chat_message": ["chat.can_post"]}

    def chat_message(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        report = WebSocketSession.objects.send_to_channel(
            self.websocket_session.channel_name,
            {"type": "chat_message", "message": self.body["message"], "user": str(request.user)},
        )
        return JsonResponse({"type": "sent", "delivery_id": str(report.pk)})

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return JsonResponse({"type": "error", "error": "Unknown action"}, status=400)


urlpatterns = [
    path("ws/<slug:route>", ChatView.as_view()),
    path("api/ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
]


# docs/sending.md: every way to send, each returning its delivery report.
def send_examples(
    session: WebSocketSession,
    u: User,
    user: User,
    data: dict[str, Any],
    sender_connection_id: str,
) -> list[DeliveryReport]:
    reports = []
    report = session.send_message({"type": "notice", "text": "hi"})  # one connection
    reports.append(report)
    report = WebSocketSession.objects.filter(user=u).send_message(data)  # any queryset
    reports.append(report)
    report = WebSocketSession.objects.send_to_channel("general", data, exclude=sender_connection_id)
    reports.append(report)
    report = WebSocketSession.objects.send_to_user(user, data)  # all their tabs and devices
    reports.append(report)
    report = WebSocketSession.objects.send_to_all(data)
    reports.append(report)
    return reports


def report_progress(report: DeliveryReport) -> float:
    """docs/sending.md "Delivery reports": ``progress`` is always a number, 0.0-1.0."""
    report.refresh_from_db()
    return report.progress


# docs/testing.md: the two example tests (run by tests/test_typed_examples.py with fixtures).
def test_connect_with_a_token(
    client: Client,
    api_gateway: ApiGateway,
    websocket_token: WebSocketToken,
    websocket_connect_headers: dict[str, Any],  # extra WSGI environ for Client.post
) -> None:
    response = client.post(
        f"/ws/connect?ws_token={websocket_token.token}", **websocket_connect_headers
    )
    assert response.status_code == 200


def test_announcement(websocket_session: WebSocketSession) -> None:
    with capture_messages() as outbox:
        websocket_session.send_message({"type": "hello"})
    assert outbox.to("connection-1")[0]["type"] == "hello"
    # outbox.gone.add("connection-1") makes that connection answer 410 Gone.

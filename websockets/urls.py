import os

from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

from django_aws_api_gateway_websockets.views import WebSocketTokenView

from . import views

urlpatterns = [
    path("api/ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
    path("ws/<slug:route>", views.ChatView.as_view(), name="chat_websocket"),
    path("api/deliveries/", views.delivery_list, name="chat_deliveries"),
    path("api/deliveries/<uuid:report_id>/", views.delivery_detail, name="chat_delivery_detail"),
    path("api/whoami/", views.whoami, name="chat_whoami"),
    path("", views.chat_page, name="chat"),
]

if os.environ.get("DJANGO_SERVE_STATIC") == "1":
    # docker-compose runs gunicorn with no web server in front: serve the collected files
    # (the demo page's CSS and JS) from Django itself. Fine for a demo, not for production.
    prefix = settings.STATIC_URL.lstrip("/")
    urlpatterns += [
        re_path(rf"^{prefix}(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT})
    ]

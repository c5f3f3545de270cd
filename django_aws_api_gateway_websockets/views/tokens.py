"""The view that issues single-use connect tokens to logged-in browsers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View

from ..conf import app_settings
from ..models import WebSocketToken
from .responses import PostOnlyMixin, error
from .users import logged_in_user


class WebSocketTokenView(PostOnlyMixin, View):
    """POST: issue a single-use connect token to the logged-in user (CSRF protected)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = logged_in_user(request)
        if user is None:
            return error("Authentication required.", 403)
        if not WebSocketToken.check_rate_limit(user, app_settings.token_rate_limit_per_minute):
            return error("Rate limit exceeded.", 429)
        if not request.session.session_key:
            request.session.create()
        # Never empty here: create() has just set it when there was none.
        token = WebSocketToken.generate_token(user, request.session.session_key or "")
        return JsonResponse({"token": token.token, "expires_in": app_settings.token_expiry_seconds})

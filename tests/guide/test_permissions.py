"""The testing guide's permission examples, unchanged.

The view they post to gives the ``restricted`` handler the ``can_use_chat`` permission; the
connection they post as exists (the autouse fixture) and belongs to the user the example logs
in, as it would after that browser's ``$connect``: message events act as the connection's
user, never as a cookie's.
"""

import json

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.signals import user_logged_in
from django.test import Client

from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import api_gateway_headers

pytestmark = pytest.mark.urls("tests.guide.urls_restricted")


@pytest.fixture(autouse=True)
def connection(websocket_session):
    def opened_by(sender, request, user, **kwargs):
        WebSocketSession.objects.filter(pk=websocket_session.pk).update(user=user)

    user_logged_in.connect(opened_by, dispatch_uid="guide-connection")
    yield websocket_session
    user_logged_in.disconnect(dispatch_uid="guide-connection")


@pytest.mark.django_db
def test_user_without_permission_is_denied(django_user_model):
    user = django_user_model.objects.create_user(
        username="alice",
        password="password",
    )

    client = Client()
    client.force_login(user)

    response = client.post(
        "/ws/default",
        data=json.dumps({"action": "restricted"}),
        content_type="application/json",
        **api_gateway_headers(),
    )

    assert response.status_code in [400, 403]


@pytest.mark.django_db
def test_user_with_permission_is_allowed(django_user_model):
    user = django_user_model.objects.create_user(
        username="alice",
        password="password",
    )

    permission = Permission.objects.get(codename="can_use_chat")
    user.user_permissions.add(permission)

    client = Client()
    client.force_login(user)

    response = client.post(
        "/ws/default",
        data=json.dumps({"action": "restricted"}),
        content_type="application/json",
        **api_gateway_headers(),
    )

    assert response.status_code == 200

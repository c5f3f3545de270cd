"""The testing guide's permission examples, unchanged.

The view they post to gives the ``restricted`` handler the ``can_use_chat`` permission; the
connection they post as is the plugin's plain ``websocket_session`` (no user), as the guide's
fixture list implies. A message event on a connection without a user acts as the request's
login, so the example's ``force_login`` decides; a connection with a user always acts as
that user (``tests/test_views.py``).
"""

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from django_aws_api_gateway_websockets.testing import api_gateway_headers

pytestmark = pytest.mark.urls("tests.guide.urls_restricted")


@pytest.fixture(autouse=True)
def connection(websocket_session):
    return websocket_session


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

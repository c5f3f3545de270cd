"""Rotating ``SECRET_KEY`` as Django documents (the old key moves to ``SECRET_KEY_FALLBACKS``).

Everything signed or hashed before the rotation keeps working while the old key is a
fallback: queued queryset sends, connections' logins, logout closing their sockets, connect
tokens. A send whose selection no key verifies is finished as failed, with the reason.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import logout
from django.test import RequestFactory
from django.utils import timezone

from django_aws_api_gateway_websockets import tasks
from django_aws_api_gateway_websockets.delivery import enqueue
from django_aws_api_gateway_websockets.models import (
    DeliveryReport,
    WebSocketSession,
    WebSocketToken,
    hash_session_key,
    hash_user_auth,
)
from django_aws_api_gateway_websockets.models.selections import from_queryset
from django_aws_api_gateway_websockets.testing import capture_messages

pytestmark = pytest.mark.django_db

OLD_KEY = "the-key-before-the-rotation-0123456789abcdefghijklmnop"
NEW_KEY = "the-key-after-the-rotation-0123456789abcdefghijklmnopq"


@pytest.fixture
def old_key(settings):
    settings.SECRET_KEY = OLD_KEY
    settings.SECRET_KEY_FALLBACKS = []
    return settings


def rotate(settings, keep_old=True):
    settings.SECRET_KEY = NEW_KEY
    settings.SECRET_KEY_FALLBACKS = [OLD_KEY] if keep_old else []


@pytest.fixture
def sessions(api_gateway):
    rows = [
        WebSocketSession(connection_id=f"c-{n}", api_gateway=api_gateway, channel_name="general")
        for n in range(3)
    ]
    WebSocketSession.objects.bulk_create(rows)
    WebSocketSession.objects.update(created_on=timezone.now() - timedelta(minutes=5))
    return WebSocketSession.objects.order_by("pk")


def queued_queryset_send(queryset):
    """A queryset send recorded now and planned later (as a queued send is, by a worker)."""
    return enqueue.record({"type": "hi"}, from_queryset(queryset))


def test_a_queryset_send_queued_before_the_rotation_is_delivered(old_key, sessions):
    report = queued_queryset_send(WebSocketSession.objects.filter(connection_id="c-1"))
    rotate(old_key)
    with capture_messages() as outbox:
        tasks.plan_delivery(str(report.pk))
    report.refresh_from_db()
    assert [m.connection_id for m in outbox] == ["c-1"]
    assert (report.delivered, report.error, report.finished is not None) == (1, "", True)


def test_a_send_no_key_verifies_is_finished_as_failed_with_the_reason(old_key, sessions):
    report = queued_queryset_send(WebSocketSession.objects.all())
    rotate(old_key, keep_old=False)
    with capture_messages() as outbox:
        tasks.plan_delivery(str(report.pk))
        report.refresh_from_db()
        assert (report.lease_owner, report.lease_expires) == ("", None)
        # Nothing is left for recovery to queue again, even once every lease has expired.
        DeliveryReport.objects.update(lease_expires=timezone.now() - timedelta(minutes=5))
        assert tasks.recover_deliveries() == 0
    report.refresh_from_db()
    assert outbox == []
    assert report.planned and report.finished is not None
    assert "SECRET_KEY_FALLBACKS" in report.error


def test_a_connection_made_before_the_rotation_keeps_its_login(old_key, websocket_user):
    session = WebSocketSession.objects.create(
        connection_id="c-9", user=websocket_user, auth_hash=hash_user_auth(websocket_user)
    )
    rotate(old_key)
    assert WebSocketSession.objects.get(pk=session.pk).login_still_holds()
    # A password change still ends it.
    websocket_user.set_password("changed")
    websocket_user.save()
    assert not WebSocketSession.objects.get(pk=session.pk).login_still_holds()


def test_logout_closes_sockets_opened_before_the_rotation(old_key, client, websocket_user):
    client.force_login(websocket_user)
    session_key = client.session.session_key
    socket = WebSocketSession.objects.create(
        connection_id="c-8", user=websocket_user, session_key_hash=hash_session_key(session_key)
    )
    rotate(old_key)
    request = RequestFactory().get("/")
    request.session = client.session
    request.user = websocket_user
    logout(request)
    socket.refresh_from_db()
    assert socket.connected is False


def test_a_token_issued_before_the_rotation_is_accepted(old_key, websocket_user):
    token = WebSocketToken.generate_token(user=websocket_user, session_key="s-1")
    rotate(old_key)
    assert WebSocketToken.validate_and_consume(token.token, "s-1") == websocket_user


def test_nothing_made_with_a_dropped_key_is_accepted(old_key, websocket_user):
    token = WebSocketToken.generate_token(user=websocket_user, session_key="s-1")
    session = WebSocketSession.objects.create(
        connection_id="c-7", user=websocket_user, auth_hash=hash_user_auth(websocket_user)
    )
    rotate(old_key, keep_old=False)
    assert WebSocketToken.validate_and_consume(token.token, "s-1") is None
    assert not WebSocketSession.objects.get(pk=session.pk).login_still_holds()


def test_an_empty_in_queryset_sends_to_nobody(sessions):
    with capture_messages() as outbox:
        report = WebSocketSession.objects.filter(pk__in=[]).send_message({"type": "x"})
    report.refresh_from_db()
    assert outbox == []
    assert (report.recipients, report.planned, report.finished is not None) == (0, True, True)

"""4.1.0's models, settings, admin and mixins, as this package provides them."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.views.generic import TemplateView

from django_aws_api_gateway_websockets import conf
from django_aws_api_gateway_websockets.checks import check_settings
from django_aws_api_gateway_websockets.mixins import (
    AddWebSocketRouteToContextMixin,
    AppChannelWebSocketMixin,
)
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ChannelPermission,
    ChannelPermissionRule,
    WebSocketSession,
    WebSocketToken,
    hash_session_key,
    hash_user_auth,
)
from django_aws_api_gateway_websockets.testing import api_gateway_headers, capture_messages

pytestmark = pytest.mark.django_db


def test_hashes_follow_4_1_0s_recipe(settings, websocket_user):
    # HMAC-SHA256 keyed with sha256(salt + SECRET_KEY), hex: what 4.1.0 stored.
    import hashlib
    import hmac

    def recipe(salt, value):
        key = hashlib.sha256((salt + settings.SECRET_KEY).encode()).digest()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    salt = "django_aws_api_gateway_websockets."
    assert hash_session_key("abc") == recipe(salt + "WebSocketToken.session_key", "abc")
    assert hash_user_auth(websocket_user) == recipe(
        salt + "WebSocketSession.auth_hash", websocket_user.get_session_auth_hash()
    )
    assert hash_user_auth(AnonymousUser()) == ""


def test_tokens_store_only_the_hash_and_validate_once(websocket_user):
    token = WebSocketToken.generate_token(websocket_user, "browser-session-key")
    stored = WebSocketToken.objects.get(pk=token.pk)
    assert stored.session_key == hash_session_key("browser-session-key")
    assert WebSocketToken.validate_and_consume(token.token, "other-key") is None
    assert WebSocketToken.validate_and_consume(token.token, "browser-session-key") == websocket_user
    assert WebSocketToken.validate_and_consume(token.token, "browser-session-key") is None


def test_the_token_admin_neither_shows_nor_searches_session_keys(admin_client, websocket_user):
    token = WebSocketToken.generate_token(websocket_user, "raw-session-key")
    url = "/admin/django_aws_api_gateway_websockets/websockettoken/"
    listing = admin_client.get(url).content.decode()
    # A fingerprint of the stored hash tells rows apart; the token itself is never shown.
    fingerprint = WebSocketToken.objects.get(pk=token.pk).fingerprint
    assert fingerprint in listing and token.token[:16] not in listing
    assert "raw-session-key" not in listing and token.session_key not in listing
    searched = admin_client.get(url, {"q": token.session_key}).content.decode()
    assert fingerprint not in searched
    detail = admin_client.get(f"{url}{token.pk}/change/").content.decode()
    assert token.session_key not in detail


def test_channel_rules_decide_by_access(django_user_model):
    def user(**flags):
        return django_user_model.objects.create_user(f"u{len(flags)}{sorted(flags)}", **flags)

    plain, staff, root = user(), user(is_staff=True), user(is_superuser=True)
    inactive = user(is_active=False, is_superuser=True)
    rules = {
        access: ChannelPermission.objects.create(channel_name=access, access=access)
        for access in ChannelPermission.Access.values
    }
    allowed = {
        access: [rule.allows(u) for u in (None, AnonymousUser(), plain, staff, root, inactive)]
        for access, rule in rules.items()
    }
    assert allowed == {
        "allow_all": [True] * 6,
        "superuser_only": [False, False, False, False, True, False],
        "staff_only": [False, False, False, True, True, False],
        "permissions": [False, False, False, False, True, False],  # no rules yet
    }
    rule = ChannelPermissionRule.objects.create(channel_permission=rules["permissions"])
    assert str(rule) == "(no permissions)"
    rule.permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    assert str(rule) == "auth.change_user AND auth.view_user"
    plain.user_permissions.add(Permission.objects.get(codename="view_user"))
    assert not rules["permissions"].allows(django_user_model.objects.get(pk=plain.pk))
    plain.user_permissions.add(Permission.objects.get(codename="change_user"))
    assert rules["permissions"].allows(django_user_model.objects.get(pk=plain.pk))
    assert str(rules["staff_only"]) == "staff_only (Staff only)"
    assert ChannelPermission.for_channel("nowhere") is None


def test_the_channel_permission_admin_summarises_rules(admin_client):
    channel = ChannelPermission.objects.create(channel_name="editors", access="permissions")
    rule = ChannelPermissionRule.objects.create(channel_permission=channel)
    rule.permissions.add(Permission.objects.get(codename="view_user"))
    ChannelPermission.objects.create(channel_name="open")
    page = admin_client.get("/admin/django_aws_api_gateway_websockets/channelpermission/")
    assert "auth.view_user" in page.content.decode()
    add = admin_client.get("/admin/django_aws_api_gateway_websockets/channelpermission/add/")
    assert add.status_code == 200


def test_queryset_send_message_accepts_4_1_0s_max_workers(websocket_session):
    with capture_messages() as outbox:
        report = WebSocketSession.objects.all().send_message({"type": "hi"}, max_workers=4)
    sent = {"type": "hi", "delivery_id": str(report.pk), "$ws": {"id": str(report.pk)}}
    assert outbox.to("connection-1") == [sent]


def test_deleting_a_gateway_disconnects_its_sessions(websocket_session, api_gateway):
    api_gateway.delete()
    websocket_session.refresh_from_db()
    assert (websocket_session.connected, websocket_session.api_gateway) == (False, None)


def test_provisioning_status_follows_the_creation_flags(db):
    gateway = ApiGateway.objects.create(api_name="status", target_base_endpoint="https://x.test/")
    assert (gateway.provisioning_status, gateway.needs_api_creation) == ("pending", True)
    gateway.api_created, gateway.api_id, gateway.deployment_id = True, "abc", "dep"
    gateway.save(update_fields=["api_created", "api_id", "deployment_id"])
    gateway.refresh_from_db()
    assert gateway.provisioning_status == "deployed"
    assert (gateway.is_deployed, gateway.needs_api_creation, gateway.needs_custom_domain) == (
        True,
        False,
        True,
    )
    gateway.custom_domain_created = True
    gateway.save(update_fields=["custom_domain_created"])
    gateway.refresh_from_db()
    assert (gateway.provisioning_status, gateway.needs_custom_domain) == ("mapped", False)
    # A 4.1.0 row from before statuses were recorded reads from its flags.
    ApiGateway.objects.filter(pk=gateway.pk).update(provisioning_status="pending")
    gateway.refresh_from_db()
    assert gateway.effective_provisioning_status == "mapped"


def test_allowed_integration_hosts_limit_integration_urls(settings, api_gateway):
    settings.WEBSOCKETS = {"allowed_integration_hosts": ["App.example.com", "*.internal.test"]}
    assert conf.get_allowed_integration_hosts() == ["app.example.com", "*.internal.test"]
    for url in ("https://app.example.com/ws/", "https://web.internal.test/ws/"):
        ApiGateway(api_name="ok", target_base_endpoint=url).full_clean()
    for url in ("https://evil.test/ws/", "https://internal.test/ws/"):
        with pytest.raises(ValidationError) as refused:
            ApiGateway(api_name="no", target_base_endpoint=url).full_clean()
        assert "target_base_endpoint" in refused.value.message_dict
    route = ApiGatewayAdditionalRoute(
        api_gateway=api_gateway, name="r", route_key="r", integration_url="https://evil.test/r"
    )
    with pytest.raises(ValidationError):
        route.full_clean()
    settings.WEBSOCKETS = {"allowed_integration_hosts": 3}
    assert [e.id for e in check_settings()].count("django_aws_api_gateway_websockets.E010") == 1


def test_4_1_0s_gateway_secret_key_is_checked_in_its_header(client, settings, websocket_session):
    secret = "s" * 40
    settings.WEBSOCKETS = {"gateway_secret": secret}
    assert conf.legacy_secrets() == [secret]
    assert conf.get_websockets_config() == {"gateway_secret": secret}

    def send(**extra):
        headers = {**api_gateway_headers(), **extra}
        body = json.dumps({"action": "x"})
        return client.post("/ws/default", body, content_type="application/json", **headers)

    assert send().status_code == 403
    assert send(HTTP_X_WS_GATEWAY_SECRET="wrong").status_code == 403
    assert send(HTTP_X_WS_GATEWAY_SECRET=secret).status_code == 200
    # The gateway's own secret, in this package's header, is accepted beside it.
    own = websocket_session.api_gateway.pending_gateway_secret
    assert send(HTTP_X_GATEWAY_SECRET=own).status_code == 200
    settings.WEBSOCKETS = {"gateway_secret": [secret, "t" * 40]}
    assert send(HTTP_X_WS_GATEWAY_SECRET="t" * 40).status_code == 200
    assert conf.app_settings.gateway_secret_header == "X-Gateway-Secret"
    assert not check_settings() or all("E004" not in e.id for e in check_settings())


def test_the_mixins_put_route_and_channel_in_the_context(db):
    # Not created in AWS, so saving the route calls nothing.
    gateway = ApiGateway.objects.create(api_name="pages", target_base_endpoint="https://x.test/")
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway, name="tests", route_key="tests", integration_url="https://x.test/"
    )

    class Page(AppChannelWebSocketMixin, TemplateView):
        template_name = "unused.html"

    class Fixed(AddWebSocketRouteToContextMixin, TemplateView):
        websocket_route_key = "tests"
        channel_name = "room"

    request = RequestFactory().get("/ws/default")  # resolves to a view in the ``tests`` app
    page = Page(request=request)
    context = page.get_context_data()
    assert (context["api_gateway_route"], context["channel_name"]) == (None, "tests.guide")
    page.app_channel_override = "lobby"
    assert page.get_context_data()["channel_name"] == "lobby"
    assert Fixed().get_context_data()["api_gateway_route"] == route


def test_migrating_only_this_app_before_celery_beat_installs_no_schedules(db):
    # ``migrate django_aws_api_gateway_websockets`` on a 4.x database whose project has just
    # added django_celery_beat: post_migrate fires for beat before its tables exist.
    from unittest.mock import patch

    from django.apps import apps
    from django.db import connection
    from django_celery_beat.models import PeriodicTask

    from django_aws_api_gateway_websockets.apps import install_schedules_after_migrate

    beat = apps.get_app_config("django_celery_beat")
    PeriodicTask.objects.all().delete()
    with patch.object(connection.introspection, "table_names", return_value=[]):
        install_schedules_after_migrate(beat, using="default")
    install_schedules_after_migrate(beat, using="other")
    assert not PeriodicTask.objects.exists()
    install_schedules_after_migrate(beat, using="default")
    assert PeriodicTask.objects.exists()

# ruff: noqa: E402  (Django is configured before the imports that need it)
"""Run by 4.1.0's virtualenv: migrate an empty database with 4.1.0 and fill it through its models.

Prints one JSON line: every row of the app's tables, the raw session key and token of a
token issued before the upgrade, and the schema 4.1.0 left.
"""

import json
import os
import sys

from django.conf import settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from database import app_tables, database_settings, schema

settings.configure(
    SECRET_KEY=os.environ["UPGRADE_SECRET_KEY"],
    DATABASES={"default": database_settings()},
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",  # what the suite's project uses
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
        "django_aws_api_gateway_websockets",
    ],
    USE_TZ=True,
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
)

import django

django.setup()

from django.contrib.auth.models import Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from django_aws_api_gateway_websockets import models as legacy

call_command("migrate", verbosity=0)

alice = User.objects.create_user("alice", "alice@example.com", "alice-password")
staff = User.objects.create_user("sam", "sam@example.com", "sam-password", is_staff=True)

gateway = legacy.ApiGateway.objects.create(
    api_name="Legacy Gateway",
    api_description="made by 4.1.0",
    default_channel_name="lobby",
    domain_name="ws.example.com",
    target_base_endpoint="https://www.example.com/ws",
    certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/legacy",
    hosted_zone_id="ZLEGACY",
    stage_description="stage of 4.1.0",
    tags={"made-by": "4.1.0"},
    api_id="legacy41",
    api_endpoint="wss://legacy41.execute-api.us-east-1.amazonaws.com",
    api_gateway_domain_name="d-legacy.execute-api.us-east-1.amazonaws.com",
    api_mapping_id="mapping41",
    api_created=True,
    custom_domain_created=True,
    deployment_id="deploy41",
    provisioning_status=legacy.ApiGateway.ProvisioningStatus.MAPPED,
)
route = legacy.ApiGatewayAdditionalRoute(
    api_gateway=gateway,
    name="Chat",
    route_key="chat",
    integration_url="https://www.example.com/ws/chat",
)
route.save(push_to_aws=False)  # 4.1.0 would otherwise create the route in AWS
legacy.ApiGatewayAdditionalRoute.objects.filter(pk=route.pk).update(
    deployed=True, route_id="route41", integration_id="integration41"
)

# A browser session of alice's, its socket, and a token issued to it but not yet spent.
browser = SessionStore()
browser["made_by"] = "4.1.0"
browser.create()
legacy.WebSocketSession.objects.create(
    connection_id="Legacy41Alice=",
    channel_name="lobby",
    user=alice,
    api_gateway=gateway,
    session_key_hash=legacy.hash_session_key(browser.session_key),
    auth_hash=legacy.hash_user_auth(alice),
)
legacy.WebSocketSession.objects.create(
    connection_id="Legacy41Gone=", channel_name="lobby", api_gateway=gateway, connected=False
)
token = legacy.WebSocketToken.generate_token(user=alice, session_key=browser.session_key)
legacy.ConnectionRateLimit.record_attempt("198.51.100.7", user=alice, successful=True)

staff_room = legacy.ChannelPermission.objects.create(
    channel_name="staff-room", access=legacy.ChannelPermission.Access.STAFF_ONLY
)
editors = legacy.ChannelPermission.objects.create(
    channel_name="editors", access=legacy.ChannelPermission.Access.PERMISSIONS, description="4.1.0"
)
rule = legacy.ChannelPermissionRule.objects.create(channel_permission=editors)
rule.permissions.add(Permission.objects.get(codename="change_user"))

MODELS = [
    "ApiGateway",
    "ApiGatewayAdditionalRoute",
    "WebSocketSession",
    "WebSocketToken",
    "ConnectionRateLimit",
    "ChannelPermission",
    "ChannelPermissionRule",
]
rows = {name: list(getattr(legacy, name).objects.order_by("pk").values()) for name in MODELS}
rows["ChannelPermissionRule.permissions"] = list(
    legacy.ChannelPermissionRule.permissions.through.objects.values_list(
        "channelpermissionrule_id", "permission_id"
    )
)
print(
    json.dumps(
        {
            "rows": rows,
            "session_key": browser.session_key,
            "token": token.token,
            "staff_room": staff_room.pk,
            "schema": schema(connection, app_tables(connection)),
        },
        cls=DjangoJSONEncoder,
    )
)

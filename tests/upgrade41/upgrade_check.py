# ruff: noqa: E402  (Django is configured before the imports that need it)
"""Run by this package's interpreter on a database 4.1.0 migrated and filled (see the test).

Records the 4.1.0 schema, migrates with this package, then reads every row back and drives
the upgraded system: a message event, a send, a ``$connect`` with the token 4.1.0 issued, a
channel rule 4.1.0's admin saved, a logout. Prints one JSON line of what it saw.
"""

import json
import os
import sys

sys.path.insert(0, os.getcwd())
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.upgrade41.settings"

import django

django.setup()

from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.test import Client

from django_aws_api_gateway_websockets import models
from django_aws_api_gateway_websockets.testing import (
    api_gateway_connect_headers,
    api_gateway_headers,
    capture_messages,
)
from tests.upgrade41.database import app_tables, schema

legacy = json.loads(sys.stdin.read())
seen = {}
tables = app_tables(connections["default"])
seen["schema_before"] = schema(connections["default"], tables)
call_command("migrate", verbosity=0)
call_command("migrate", "django_aws_api_gateway_websockets", "0015", verbosity=0, database="fresh")
seen["schema_fresh_0015"] = schema(connections["fresh"], tables)

seen["rows"] = {
    name: list(getattr(models, name).objects.order_by("pk").values())
    for name in legacy["rows"]
    if "." not in name
}
seen["rows"]["ChannelPermissionRule.permissions"] = list(
    models.ChannelPermissionRule.permissions.through.objects.values_list(
        "channelpermissionrule_id", "permission_id"
    )
)

# 4.1.0's default: no configured secret, so AWS sends none. The migration gave the gateway a
# pending secret; docs/upgrading.md's next step (updateApiGatewayIntegrations) gives it to
# AWS, and from then on every event carries it, as these do.
gateway = models.ApiGateway.objects.get(api_id="legacy41")
seen["secrets"] = [bool(gateway.pending_gateway_secret), gateway.gateway_secret]
pushed = {"HTTP_X_GATEWAY_SECRET": gateway.pending_gateway_secret}
client = Client()
cookie = {"HTTP_COOKIE": f"sessionid={legacy['session_key']}"}


def post(path, body=None, headers=None):
    response = client.post(
        path, json.dumps(body or {}), content_type="application/json", **(headers or {})
    )
    return [response.status_code, json.loads(response.content or b"null")]


message_headers = {
    **api_gateway_headers(api_id="legacy41", connection_id="Legacy41Alice="),
    **pushed,
}
seen["message"] = post("/ws/default", {"action": "echo", "text": "hi"}, message_headers)
seen["request_count"] = models.WebSocketSession.objects.get(
    connection_id="Legacy41Alice="
).request_count

with capture_messages() as outbox:
    report = models.WebSocketSession.objects.get(connection_id="Legacy41Alice=").send_message(
        {"type": "hello"}
    )
    channel_report = models.WebSocketSession.objects.filter(channel_name="lobby").send_message(
        {"type": "to-lobby"}, max_workers=4
    )
report.refresh_from_db()
seen["send"] = {
    "outbox": {c: outbox.to(c) for c in ("Legacy41Alice=", "Legacy41Gone=")},
    "report": [report.recipients, report.delivered, report.finished is not None],
    "queryset_report": models.DeliveryReport.objects.get(pk=channel_report.pk).delivered,
}


def connect(connection_id, query):
    headers = {**api_gateway_connect_headers(api_id="legacy41", connection_id=connection_id)}
    return post(f"/ws/connect?{query}", headers={**headers, **cookie, **pushed})


seen["token_connect"] = connect("Upgraded1=", f"ws_token={legacy['token']}&channel=lobby")
new = models.WebSocketSession.objects.select_related("user").filter(connection_id="Upgraded1=")
new = new.first() or sys.exit(f"$connect with the 4.1.0 token failed: {seen['token_connect']}")
seen["token_session"] = [
    new.user.username,
    new.session_key_hash == models.hash_session_key(legacy["session_key"]),
    new.auth_hash == models.hash_user_auth(new.user),
]
seen["token_reused"] = connect("Upgraded2=", f"ws_token={legacy['token']}&channel=lobby")
alice = new.user
fresh_token = models.WebSocketToken.generate_token(alice, legacy["session_key"])
seen["staff_room"] = connect("Upgraded3=", f"ws_token={fresh_token.token}&channel=staff-room")

client.post("/accounts/logout/", **cookie)
seen["after_logout"] = [
    list(
        models.WebSocketSession.objects.filter(
            connection_id__in=["Legacy41Alice=", "Upgraded1="]
        ).values_list("connected", flat=True)
    ),
    post("/ws/default", {"action": "echo"}, message_headers),
]
print(json.dumps(seen, cls=DjangoJSONEncoder))

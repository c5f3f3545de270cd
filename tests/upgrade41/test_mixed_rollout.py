"""Mid-rollout (or after a rollback) 4.1.0 code writes to a database migrated by this package.

4.1.0's INSERTs name only the columns its models have, which are exactly the columns of this
package's migration 0015 (test_upgrade.py asserts the schemas match): every column added
since must have a database default.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader

from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute

APP = "django_aws_api_gateway_websockets"
LAST_4_1_0_MIGRATION = "0015_alter_apigateway_provisioning_status"

pytestmark = pytest.mark.django_db


def legacy_model(name: str) -> Any:
    """The model as 4.1.0 had it: this app's state at 4.1.0's last migration."""
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return loader.project_state((APP, LAST_4_1_0_MIGRATION)).apps.get_model(APP, name)


def insert_as_4_1_0(model_name: str, /, **values: Any) -> None:
    """One raw INSERT naming only 4.1.0's columns, filled as 4.1.0's ORM would fill them."""
    model = legacy_model(model_name)
    row = {}
    for field in model._meta.concrete_fields:
        if isinstance(field, models.AutoField):
            continue
        if field.name in values:
            value = values[field.name]
        elif field.has_default():
            value = field.get_default()
        else:  # auto_now(_add) timestamps
            value = datetime.now(UTC)
        row[field.column] = field.get_db_prep_save(value, connection)
    columns = ", ".join(connection.ops.quote_name(column) for column in row)
    marks = ", ".join(["%s"] * len(row))
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))


def test_4_1_0_can_still_create_gateways_and_routes_after_migrating():
    insert_as_4_1_0("ApiGateway", api_name="Made by 4.1.0", api_id="old41")
    gateway = ApiGateway.objects.get(api_name="Made by 4.1.0")
    insert_as_4_1_0(
        "ApiGatewayAdditionalRoute",
        api_gateway=gateway.pk,
        name="chat",
        route_key="chat",
        integration_url="https://app.example.com/ws/chat",
    )
    route = ApiGatewayAdditionalRoute.objects.get(api_gateway=gateway)
    assert route.route_response is True
    # No secret: check --deploy names it; pushing it gives AWS one (docs/upgrading.md).
    assert (gateway.gateway_secret, gateway.pending_gateway_secret) == ("", "")
    assert gateway.previous_gateway_secret == ""


def test_the_migration_gives_every_gateway_without_one_a_pending_secret():
    """Pending, never current: a gateway already in AWS keeps working until it is pushed."""
    migration = importlib.import_module(f"{APP}.migrations.0021_gateway_secrets_by_default")
    bare = ApiGateway.objects.create(api_name="Bare", api_id="bare1", api_created=True)
    own = ApiGateway.objects.create(api_name="Own", gateway_secret="s" * 43)
    ApiGateway.objects.filter(pk=bare.pk).update(pending_gateway_secret="")

    class Editor:
        connection = connection

    migration.give_pending_secrets(global_apps, Editor())
    bare.refresh_from_db()
    own.refresh_from_db()
    assert len(bare.pending_gateway_secret) >= 43 and bare.gateway_secret == ""
    assert (own.gateway_secret, own.pending_gateway_secret) == ("s" * 43, "")

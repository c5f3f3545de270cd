"""The database both sides of the upgrade open: SQLite file or PostgreSQL database from env."""

from __future__ import annotations

import os
from typing import Any


def database_settings(name: str | None = None) -> dict[str, Any]:
    """A ``DATABASES`` entry for ``UPGRADE_DB_ENGINE`` (sqlite/postgresql), ``UPGRADE_DB_NAME``."""
    name = name or os.environ["UPGRADE_DB_NAME"]
    if os.environ["UPGRADE_DB_ENGINE"] == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
        }
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}


def schema(connection: Any, tables: list[str]) -> dict[str, Any]:
    """Columns (type, size, nullability) and constraints (with their names) of ``tables``."""
    result = {}
    with connection.cursor() as cursor:
        for table in tables:
            columns = {
                column.name: [
                    connection.introspection.get_field_type(column.type_code, column),
                    column.internal_size if connection.vendor == "postgresql" else None,
                    bool(column.null_ok),
                ]
                for column in connection.introspection.get_table_description(cursor, table)
            }
            constraints = {
                name: [
                    sorted(info["columns"]),
                    bool(info["unique"]),
                    bool(info["primary_key"]),
                    list(info["foreign_key"] or ()),
                    bool(info["index"]),
                ]
                for name, info in connection.introspection.get_constraints(cursor, table).items()
            }
            result[table] = {"columns": columns, "constraints": constraints}
    return result


def app_tables(connection: Any, prefix: str = "django_aws_api_gateway_websockets_") -> list[str]:
    return sorted(t for t in connection.introspection.table_names() if t.startswith(prefix))

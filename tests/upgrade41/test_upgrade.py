"""A database migrated and filled by 4.1.0 (from PyPI) upgrades in place and keeps working.

Runs on SQLite and on PostgreSQL whatever ``DATABASE_URL`` says: each side runs in its own
process (4.1.0 in its virtualenv, this package with ``tests.upgrade41.settings``) on a
database of its own.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .legacy import database_env, legacy_python, run_json

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


def postgres_admin(statement: str) -> None:
    with psycopg.connect(**POSTGRES, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Two empty databases: one for 4.1.0 to upgrade from, one migrated fresh by this package."""
    if request.param == "sqlite":
        yield {
            **database_env("sqlite", str(tmp_path / "legacy.sqlite3")),
            "UPGRADE_FRESH_DB_NAME": str(tmp_path / "fresh.sqlite3"),
        }
        return
    names = [f"upgrade41_{os.getpid()}_{uuid.uuid4().hex[:8]}{suffix}" for suffix in ("", "_f")]
    for name in names:
        postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield {**database_env("postgresql", names[0]), "UPGRADE_FRESH_DB_NAME": names[1]}
    finally:
        for name in names:
            postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def upgrade(databases: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What 4.1.0 left, and what this package saw after migrating it."""
    legacy = run_json(legacy_python(), "make_legacy_db.py", databases)
    seen = run_json(sys.executable, "upgrade_check.py", databases, stdin=json.dumps(legacy))
    return legacy, seen


def test_upgrade_from_4_1_0_keeps_every_row_and_works(upgrade):
    legacy, seen = upgrade

    # The schema 4.1.0 left is the schema a fresh database reaches at 0015, names included.
    assert seen["schema_before"] == legacy["schema"]
    assert seen["schema_fresh_0015"] == legacy["schema"]

    # Every row of every model, read right after migrating: every 4.1.0 field unchanged.
    for model, rows in legacy["rows"].items():
        after = seen["rows"][model]
        if not model.endswith(".permissions"):
            after = [{field: row[field] for field in rows[0]} for row in after]
        assert after == rows, model

    # The migration gave the gateway a secret, pending: not taken for what AWS sends.
    assert seen["secrets"] == [True, ""]
    # A message event on the socket 4.1.0 recorded, as the user 4.1.0 stored.
    assert seen["message"] == [200, {"echo": "hi", "user": "alice"}]
    assert seen["request_count"] == 2
    # Sends reach it (not the disconnected one); queryset.send_message(max_workers=4) too.
    outbox = seen["send"]["outbox"]
    assert [m["type"] for m in outbox["Legacy41Alice="]] == ["hello", "to-lobby"]
    assert outbox["Legacy41Gone="] == []
    assert seen["send"]["report"] == [1, 1, True]
    assert seen["send"]["queryset_report"] == 1
    # The token 4.1.0 issued before the upgrade validates once, for its user and session.
    assert seen["token_connect"] == [200, {}]
    assert seen["token_session"] == ["alice", True, True]
    assert seen["token_reused"][0] == 403
    # A channel rule saved in 4.1.0's admin still guards its channel.
    assert seen["staff_room"] == [403, {"error": "Permission denied."}]
    # Logging out closes the sockets opened from that browser session, old and new.
    assert seen["after_logout"] == [[False, False], [410, {"error": "Connection is closed."}]]

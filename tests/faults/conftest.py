"""Fault scenarios: whole systems of real processes (see ``harness``), one per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from .harness import System, drop_postgres, postgres_url, running_system


@pytest.fixture
def start_system(tmp_path: Path) -> Iterator[Callable[..., System]]:
    """Start a system on a database of its own: PostgreSQL when DATABASE_URL is one (CI), or
    when the scenario needs it (even if the suite runs on SQLite); else a SQLite file."""
    stack = ExitStack()
    systems: list[System] = []

    def start(postgres: bool = False, **kwargs) -> System:
        base = os.environ.get("DATABASE_URL", "")
        if postgres or base.startswith("postgres"):
            url = postgres_url(base if base.startswith("postgres") else None)
            stack.callback(drop_postgres, url)
        else:
            url = f"sqlite:///{tmp_path / 'faults.sqlite3'}"
        system = stack.enter_context(running_system(url, tmp_path, **kwargs))
        systems.append(system)
        return system

    with stack:
        try:
            yield start
        except BaseException:
            raise
        finally:
            for system in systems:
                print(system.logs())  # shown by pytest when the test failed

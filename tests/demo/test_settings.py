"""project/settings.py is safe by default: no DEBUG and no public key unless asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOAD_SETTINGS = "import project.settings as s; print(s.DEBUG, s.SECRET_KEY)"


def run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """``argv`` in the repository with no Django variables but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "COVERAGE_"))}
    return subprocess.run(
        argv, cwd=REPO_ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_without_a_key_the_project_refuses_to_start():
    result = run([sys.executable, "-c", LOAD_SETTINGS])

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr
    assert "DJANGO_DEBUG=1" in result.stderr


def test_debug_is_off_unless_asked_for():
    assert run([sys.executable, "-c", LOAD_SETTINGS], DJANGO_SECRET_KEY="k" * 50).stdout == (
        f"False {'k' * 50}\n"
    )
    assert run([sys.executable, "-c", LOAD_SETTINGS], DJANGO_DEBUG="1").stdout.startswith(
        "True insecure-local-development-key"
    )


def test_manage_py_commands_need_a_key_but_rundemo_runs_as_is():
    refused = run([sys.executable, "manage.py", "check"])
    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in refused.stderr

    assert run([sys.executable, "manage.py", "check"], DJANGO_SECRET_KEY="k" * 50).returncode == 0
    demo = run([sys.executable, "manage.py", "rundemo", "--help"])
    assert demo.returncode == 0, demo.stderr
    assert "--setup-only" in demo.stdout

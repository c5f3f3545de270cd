"""django-aws-api-gateway-websockets 4.1.0 from PyPI, in its own cached virtualenv.

The virtualenv lives in ``.cache/`` (gitignored), keyed by the 4.1.0 version, this Python and
Django version, so only the first run pays for the install. It gets the Django this suite
runs (both sides then generate the same SQL) and psycopg for PostgreSQL.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import django

VERSION = "4.1.0"
DISTRIBUTION = "django-aws-api-gateway-websockets"
PACKAGE = "django_aws_api_gateway_websockets"
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PYTHON_TAG = f"py{sys.version_info.major}{sys.version_info.minor}"
CACHE = ROOT / ".cache" / f"{DISTRIBUTION}-{VERSION}-{PYTHON_TAG}-django{django.__version__}"
# The tests' SECRET_KEY: tokens and hashes made by 4.1.0 must validate on this side.
SECRET_KEY = "tests-secret-key-not-for-production-0123456789abcdef"


def legacy_python() -> Path:
    """The virtualenv's interpreter, installing 4.1.0 first if this cache key has none."""
    python = CACHE / "bin" / "python"
    ready = CACHE / ".ready"
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with open(CACHE.parent / f"{CACHE.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install even if two test runs start at once
        if not ready.exists():
            venv.EnvBuilder(clear=True, with_pip=True).create(CACHE)
            requirements = [f"{DISTRIBUTION}=={VERSION}", f"Django=={django.__version__}"]
            subprocess.run(
                [
                    python,
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    *requirements,
                    "psycopg[binary]",
                ],
                check=True,
            )
            ready.touch()
    return python


def legacy_package_dir() -> Path:
    """Where the 4.1.0 package's source files are installed."""
    code = f"import {PACKAGE}, os; print(os.path.dirname({PACKAGE}.__file__))"
    out = subprocess.run(
        [legacy_python(), "-I", "-c", code],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def database_env(engine: str, name: str) -> dict[str, str]:
    return {"UPGRADE_DB_ENGINE": engine, "UPGRADE_DB_NAME": name, "UPGRADE_SECRET_KEY": SECRET_KEY}


def run_json(python: Path | str, script: str, env: dict[str, str], stdin: str = "") -> Any:
    """Run ``script`` (in this folder) and return the JSON it prints last."""
    result = subprocess.run(
        [python, str(HERE / script)],
        input=stdin,
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode:
        raise AssertionError(f"{script} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])

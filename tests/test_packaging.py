"""The published wheel: its metadata, and an install without the optional extras."""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
import sys
import tomllib
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "django_aws_api_gateway_websockets"
EXTRA_HINT = 'pip install "django-gateway-sockets[localgateway]"'

# What a fresh install must be able to do with neither aiohttp nor django-celery-beat.
FRESH_INSTALL_SCRIPT = f"""
import importlib.util, sys
import django
from django.conf import settings

assert importlib.util.find_spec("aiohttp") is None, "aiohttp was installed"
assert importlib.util.find_spec("django_celery_beat") is None, "django-celery-beat was installed"
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "{PACKAGE}"],
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
    USE_TZ=True,
    AWS_GATEWAY_REGION_NAME="us-east-1",
)
django.setup()
from django.core.management import call_command
from django.core.management.base import CommandError

call_command("migrate", verbosity=0)
call_command("check", fail_level="WARNING")
import {PACKAGE}.tasks, {PACKAGE}.testing, {PACKAGE}.views
from {PACKAGE}.models import WebSocketSession

assert WebSocketSession.objects.count() == 0
try:
    call_command("runlocalgateway")
except CommandError as exc:
    print(exc)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, as a user would get it."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode())


def requirement_names(metadata: Message, marker: str | None) -> set[str]:
    """Names required with exactly this extra marker (None: unconditionally)."""
    names = set()
    for requirement in metadata.get_all("Requires-Dist") or []:
        spec, _, condition = requirement.partition(";")
        if (marker is None and not condition) or (marker and marker in condition):
            names.add(spec.split("[")[0].split(">")[0].split("<")[0].strip().lower())
    return names


def test_the_wheel_ships_only_the_app_with_its_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        names = set(archive.namelist())
    assert tops == {PACKAGE, "django_gateway_sockets-0.1.0.dist-info"}
    for data in (
        "py.typed",
        "static/django_aws_api_gateway_websockets/websocket-client.js",
        "static/django_aws_api_gateway_websockets/websocket-client.d.ts",
        "migrations/0001_initial.py",
    ):
        assert f"{PACKAGE}/{data}" in names


def test_metadata_publishes_only_user_extras(metadata: Message) -> None:
    assert set(metadata.get_all("Provides-Extra") or []) == {"localgateway", "beat", "otel"}
    required = requirement_names(metadata, None)
    assert {"django", "boto3", "celery"} <= required
    assert not required & {"aiohttp", "django-celery-beat", "opentelemetry-api"}
    assert requirement_names(metadata, 'extra == "localgateway"') == {"aiohttp"}
    assert requirement_names(metadata, 'extra == "beat"') == {"django-celery-beat"}
    # The API only: the project chooses its SDK and exporters.
    assert requirement_names(metadata, 'extra == "otel"') == {"opentelemetry-api"}
    everything = " ".join(metadata.get_all("Requires-Dist") or []).lower()
    for tool in ("pytest", "playwright", "ruff", "gunicorn", "coverage", "moto", "sphinx"):
        assert tool not in everything


def test_the_build_requires_a_setuptools_that_reads_the_license_expression() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(pyproject["project"]["license"], str)  # an SPDX expression (PEP 639)
    (setuptools,) = [r for r in pyproject["build-system"]["requires"] if "setuptools" in r]
    minimum = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    # setuptools 77 is the first release that accepts `license = "<SPDX expression>"`.
    assert minimum and int(minimum.group(1)) >= 77, setuptools


def test_metadata_names_license_authors_and_urls(metadata: Message) -> None:
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Author"] or metadata["Author-email"]
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(urls)


def test_long_description_is_written_for_users_of_the_wheel(metadata: Message) -> None:
    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert "pip install django-gateway-sockets" in description
    assert "[localgateway" in description
    # Things of this repository that a wheel user does not have.
    for repo_only in ("rundemo", "worker/celery.py", "pip install -e", "--group", "tox"):
        assert repo_only not in description


def test_the_wheel_installs_and_works_without_the_extras(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    # Run from an empty folder so that this checkout's sources cannot be imported instead.
    done = subprocess.run(
        [str(python), "-c", FRESH_INSTALL_SCRIPT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert EXTRA_HINT in done.stdout


def test_importing_the_local_gateway_without_aiohttp_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m.startswith(f"{PACKAGE}.localgateway")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # what an uninstalled module looks like
    with pytest.raises(ImportError, match="'localgateway' extra") as excinfo:
        importlib.import_module(f"{PACKAGE}.localgateway")
    assert EXTRA_HINT in str(excinfo.value)


def test_runlocalgateway_without_aiohttp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith(f"{PACKAGE}.localgateway")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    with pytest.raises(CommandError, match="'localgateway' extra"):
        call_command("runlocalgateway", "--api-id", "abc", "--stage", "s", "--target", "http://x/")


def readme_pip_installs() -> list[list[str]]:
    """Every ``python -m pip install ...`` of the README's command blocks, as arguments."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S)
    installs = []
    for line in "\n".join(blocks).splitlines():
        for part in line.split("&&"):
            words = shlex.split(part)
            if words[:4] == ["python", "-m", "pip", "install"]:
                installs.append(words[4:])
    return installs


def test_the_readme_runs_and_tests_with_pip_install_commands() -> None:
    installs = readme_pip_installs()
    assert len(installs) == 2, installs  # the Run and the Test commands
    for arguments in installs:
        assert "-e" in arguments and ".[localgateway,beat]" in arguments, arguments


@pytest.fixture(scope="module")
def bundled_pip_help(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``pip install --help`` of the pip a fresh ``python -m venv`` bundles, never upgraded."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--help"],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_the_readme_commands_use_only_options_of_the_bundled_pip(bundled_pip_help: str) -> None:
    """A newcomer runs them in a fresh virtualenv (Python 3.11 bundles pip 23.2: no --group)."""
    known = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", bundled_pip_help))
    for arguments in readme_pip_installs():
        options = {word.split("=")[0] for word in arguments if word.startswith("-")}
        assert options <= known, f"unknown to the bundled pip: {sorted(options - known)}"


def test_the_readme_requirement_files_exist_with_what_they_include() -> None:
    for arguments in readme_pip_installs():
        files = [arguments[i + 1] for i, word in enumerate(arguments) if word == "-r"]
        assert files, arguments
        pending = [ROOT / name for name in files]
        while pending:
            path = pending.pop()
            assert path.is_file(), path
            for line in path.read_text().splitlines():
                if line.startswith("-r "):
                    pending.append(path.parent / line.split(None, 1)[1])

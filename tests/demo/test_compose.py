"""docker-compose.yml and the Dockerfile, checked without Docker: structure and environment.

The application services must get the same variables ``rundemo`` gives its children, so
the two ways of running the system stay in step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from websockets.demo.environment import (
    ENV_NAMES,
    BrokerChoice,
    DemoAddresses,
    demo_environment,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("setup", "web", "gateway", "worker", "beat")
SERVICES = ("postgres", "redis", *APP_SERVICES)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def command_of(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_every_part_of_the_system_is_a_service(services):
    assert set(services) == set(SERVICES)


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_health_checked_or_waits_on_conditions(services, name):
    service = services[name]
    depends_on = service.get("depends_on", {})
    assert "healthcheck" in service or depends_on, name
    # Only the long form carries conditions: every dependency must name one.
    assert isinstance(depends_on, dict), name
    for dependency, rule in depends_on.items():
        assert dependency in services
        assert rule["condition"] in (
            "service_healthy",
            "service_completed_successfully",
            "service_started",
        )
        if rule["condition"] == "service_healthy":
            assert "healthcheck" in services[dependency], dependency
        if rule["condition"] == "service_completed_successfully":
            assert services[dependency]["restart"] == "no", dependency


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_get_the_environment_rundemo_gives_its_children(services, name):
    environment = services[name]["environment"]

    assert set(ENV_NAMES) <= set(environment)
    assert {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY"} <= set(environment)


def test_env_names_are_exactly_what_rundemo_sets():
    env = demo_environment(DemoAddresses(), BrokerChoice("redis://redis:6379/0", None, ""), base={})

    assert set(env) - {"PYTHONUNBUFFERED", "DJANGO_SETTINGS_MODULE"} == set(ENV_NAMES)


def test_environment_values_fit_the_network(services):
    environment = services["web"]["environment"]

    assert environment["WEBSOCKETS_MANAGEMENT_ENDPOINT"] == "http://gateway:8001/{stage}"
    assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    # The gateway forwards events with Host web:8000; browsers come from localhost.
    assert {"web", "localhost"} <= set(environment["DJANGO_ALLOWED_HOSTS"].split(","))
    assert "http://localhost:8000" in environment["DJANGO_CSRF_TRUSTED_ORIGINS"].split(",")
    assert environment["WEBSOCKETS_PUBLIC_URL"].startswith("ws://localhost:8001/")
    assert environment["AWS_ACCESS_KEY_ID"] == "local"


def test_commands(services):
    assert "rundemo --setup-only" in command_of(services["setup"])
    assert "--target=http://web:8000/ws/" in command_of(services["setup"])
    assert command_of(services["web"]).startswith("gunicorn project.wsgi")
    assert "runlocalgateway --host=0.0.0.0 --port=8001 --api-id=local" in command_of(
        services["gateway"]
    )
    assert command_of(services["worker"]).startswith("celery -A worker worker")
    assert command_of(services["beat"]).startswith("celery -A worker beat")


def test_ports_are_published_on_loopback_only(services):
    published = {name: service.get("ports", []) for name, service in services.items()}

    assert published["web"] == ["127.0.0.1:8000:8000"]
    assert published["gateway"] == ["127.0.0.1:8001:8001"]
    for ports in published.values():
        assert all(port.startswith("127.0.0.1:") for port in ports)


def test_the_management_api_needs_a_secret_key_with_no_public_default(services):
    """Every container shares the network: the gateway's port is open to all of them.

    The gateway verifies SigV4 against the project's keys (``runlocalgateway`` reads
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, as the web app and workers sign with them),
    so only the services that carry the secret can use its Management API.
    """
    for name in APP_SERVICES:
        secret = services[name]["environment"]["AWS_SECRET_ACCESS_KEY"]
        assert secret.startswith("${LOCAL_GATEWAY_SECRET_KEY:?"), name
    for name in ("postgres", "redis"):
        assert "AWS_SECRET_ACCESS_KEY" not in services[name].get("environment", {}), name
    assert "--enable-controls" not in command_of(services["gateway"])


def test_the_secret_key_has_no_public_default(services):
    for name in APP_SERVICES:
        key = services[name]["environment"]["DJANGO_SECRET_KEY"]
        # Compose's "${VAR:?message}": refuse to start without it.
        assert key.startswith("${DJANGO_SECRET_KEY:?"), name
        assert services[name]["environment"]["DJANGO_DEBUG"] == "0", name


def test_the_gateway_starts_after_the_web_app_it_forwards_to(services):
    assert services["gateway"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["web"]["depends_on"]["setup"]["condition"] == ("service_completed_successfully")


def test_dockerfile_builds_the_demo_image():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()

    assert dockerfile.startswith("#") or dockerfile.startswith("FROM")
    assert 'pip install ".[localgateway,beat]" -r requirements/demo.txt' in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert "\nUSER app\n" in dockerfile
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "*.sqlite3", "test-output"} <= set(ignored)


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((REPO_ROOT / ".dockerignore").read_text().split())

    assert {".ci-venv*", ".demo", "**/__pycache__", ".pytest_cache", ".ruff_cache"} <= ignored

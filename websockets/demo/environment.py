"""Where each demo process listens, which broker it uses, and what it is started with.

Shared by ``rundemo`` and the tests that keep ``docker-compose.yml`` in step with it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from worker.command import beat_command, worker_command

DEFAULT_API_ID = "local"
DEFAULT_STAGE = "local"
FILESYSTEM_BROKER_URL = "filesystem://"
# Every name the child environment sets; docker-compose.yml gives its services the same.
ENV_NAMES = (
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "CELERY_BROKER_URL",
    "WEBSOCKETS_MANAGEMENT_ENDPOINT",
    "WEBSOCKETS_PUBLIC_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_GATEWAY_REGION_NAME",
)
WILDCARD_HOSTS = ("", "0.0.0.0", "::")


# Addresses


def connect_host(host: str) -> str:
    """The address to reach a server bound to ``host`` at: wildcards mean loopback."""
    return "127.0.0.1" if host in WILDCARD_HOSTS else host


def url_host(host: str) -> str:
    """``host`` as it appears in a URL (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class DemoAddresses:
    """Where each part of the demo listens and how the others reach it."""

    host: str = "127.0.0.1"
    port: int = 8000
    gateway_port: int = 8001
    stage: str = DEFAULT_STAGE

    @property
    def web_url(self) -> str:
        return f"http://{url_host(connect_host(self.host))}:{self.port}/"

    @property
    def target_url(self) -> str:
        """Where the gateway forwards events: the chat's ``ws/<route>`` URLs."""
        return f"{self.web_url}ws/"

    @property
    def management_endpoint(self) -> str:
        """``WEBSOCKETS["management_endpoint"]`` for the local gateway (a template)."""
        return f"http://{url_host(connect_host(self.host))}:{self.gateway_port}/{{stage}}"

    @property
    def public_url(self) -> str:
        """The gateway's WebSocket URL, as browsers use it."""
        return f"ws://{url_host(connect_host(self.host))}:{self.gateway_port}/{self.stage}"

    @property
    def allowed_hosts(self) -> list[str]:
        return unique([connect_host(self.host), "127.0.0.1", "localhost"])

    @property
    def trusted_origins(self) -> list[str]:
        return [f"http://{url_host(host)}:{self.port}" for host in self.allowed_hosts]


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# The broker


@dataclass(frozen=True)
class BrokerChoice:
    url: str
    folder: str | None
    note: str

    @property
    def is_filesystem(self) -> bool:
        return self.folder is not None


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """True when the Redis at ``url`` answers PING within ``timeout`` seconds."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def demo_folder() -> Path:
    """The demo's local state: ``DEMO_FOLDER``, else ``.demo/`` beside ``manage.py`` (gitignored).

    Tests that run ``rundemo`` point ``DEMO_FOLDER`` elsewhere, so that they never overwrite
    the passwords of the developer's own demo.
    """
    folder = os.environ.get("DEMO_FOLDER")
    return Path(folder) if folder else Path(getattr(settings, "BASE_DIR", Path.cwd())) / ".demo"


def default_broker_folder() -> str:
    """Where the filesystem broker keeps messages; ``project/settings.py`` uses the same."""
    return os.environ.get("CELERY_FILESYSTEM_FOLDER") or str(demo_folder() / "broker")


def choose_broker(
    configured: str,
    folder: str,
    ping: Callable[[str], bool] = redis_answers,
) -> BrokerChoice:
    """Use the configured Redis when it answers, else kombu's filesystem transport."""
    scheme = urlsplit(configured).scheme
    if scheme in ("redis", "rediss"):
        if ping(configured):
            return BrokerChoice(configured, None, f"Celery broker: Redis at {configured}")
        reason = f"Redis at {configured} did not answer"
    elif scheme == "filesystem":
        reason = "the filesystem broker was asked for"
    else:
        return BrokerChoice(configured, None, f"Celery broker: {configured}")
    return BrokerChoice(
        FILESYSTEM_BROKER_URL,
        folder,
        f"{reason}; using kombu's filesystem broker in {folder} (fine for a demo only). "
        "The chat's rooms keep their offsets and history in Redis: posting in a room fails "
        "until Redis runs",
    )


# The children


def demo_environment(
    addresses: DemoAddresses,
    broker: BrokerChoice,
    *,
    public_url: str | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment every child runs with: ``base`` (default ``os.environ``) plus ENV_NAMES.

    ``CELERY_FILESYSTEM_FOLDER`` is added only for the filesystem broker.
    """
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "DJANGO_ALLOWED_HOSTS": ",".join(addresses.allowed_hosts),
            "DJANGO_CSRF_TRUSTED_ORIGINS": ",".join(addresses.trusted_origins),
            "CELERY_BROKER_URL": broker.url,
            "WEBSOCKETS_MANAGEMENT_ENDPOINT": addresses.management_endpoint,
            "WEBSOCKETS_PUBLIC_URL": public_url or addresses.public_url,
            # The keys the local gateway checks every Management API call against (it runs
            # with these settings too); the demo runs on loopback, on this machine only.
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_GATEWAY_REGION_NAME": env.get("AWS_GATEWAY_REGION_NAME") or "us-east-1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if broker.folder:
        env["CELERY_FILESYSTEM_FOLDER"] = broker.folder
    else:
        env.pop("CELERY_FILESYSTEM_FOLDER", None)
    if getattr(settings, "SETTINGS_MODULE", None):
        env.setdefault("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE)
    return env


def child_commands(
    addresses: DemoAddresses,
    *,
    api_id: str = DEFAULT_API_ID,
    celery_app: str = "worker",
    concurrency: int = 4,
    beat: bool = True,
    gateway_controls: bool = False,
    python: str = sys.executable,
) -> dict[str, list[str]]:
    """The command line of each child, by name, in start order.

    ``gateway_controls``: the local gateway's test controls (``/@local/...``, e.g. dropping a
    connection), for end-to-end tests only.
    """
    django = [python, "-m", "django"]
    commands = {
        "web": [*django, "runserver", "--noreload", f"{addresses.host}:{addresses.port}"],
        "gateway": [
            *django,
            "runlocalgateway",
            "--host",
            addresses.host,
            "--port",
            str(addresses.gateway_port),
            "--api-id",
            api_id,
            *(["--enable-controls"] if gateway_controls else []),
        ],
        # Threads: one process, so the whole demo stays light (and SQLite-friendly). Not
        # quiet: otherwise a worker as in production, with Celery's defaults.
        "worker": worker_command(
            app=celery_app,
            pool="threads",
            concurrency=concurrency,
            loglevel="info",
            quiet=False,
            python=python,
        ),
    }
    if beat:
        commands["beat"] = beat_command(app=celery_app, loglevel="info", python=python)
    return commands

"""Real parts for integration tests: Redis, Celery workers, and the local Management API.

The workers are the project's ``worker`` app; the Management API is the local gateway's,
reached over HTTP by real boto3 calls or by the direct poster built from a real boto3 client.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from django_aws_api_gateway_websockets.localgateway import (
    GatewayConfig,
    create_management_app,
    running_gateway,
)
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from worker import app as celery_app
from worker.command import worker_command

ROOT = Path(__file__).resolve().parents[2]
API_ID, STAGE = "int123", "test"


@pytest.fixture
def broker() -> str:
    """An empty Redis database for this test's queues."""
    url = django_settings.CELERY_BROKER_URL
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def gateway() -> Iterator:
    """The local Management API on a free port."""
    config = GatewayConfig(api_id=API_ID, stage=STAGE, target_base_url="http://127.0.0.1:9/")
    with running_gateway(create_management_app(config)) as running:
        yield running


@pytest.fixture(params=["direct", "boto3"])
def transport(request) -> str:
    """Each delivery test runs with both ways of posting: signed directly, and boto3 calls."""
    return request.param


@pytest.fixture
def websockets_settings(settings, gateway, transport) -> dict:
    """WEBSOCKETS pointing at the local gateway, with quick retries; tests may add keys."""
    settings.WEBSOCKETS = {
        "delivery_transport": transport,
        "management_endpoint": f"{gateway.base_url}/{{stage}}",
        "delivery_retry_base_seconds": 0.05,
        "delivery_retry_max_seconds": 0.2,
        "delivery_batch_size": 250,
    }
    return settings.WEBSOCKETS


@pytest.fixture
def not_eager(settings) -> Iterator[None]:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture
def live_worker(transactional_db, broker, websockets_settings, not_eager) -> Iterator:
    """An in-process Celery worker consuming every queue of the ``worker`` app."""
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30,
    ) as worker:
        yield worker


@pytest.fixture
def make_sessions(transactional_db, gateway) -> Callable[..., list[str]]:
    """Create ``count`` connected sessions in ``channel``; register them with the gateway."""
    api_gateway = ApiGateway.objects.create(
        api_name="Integration", api_id=API_ID, stage_name=STAGE, api_created=True
    )

    def make(count: int, channel: str = "general", live: bool = True) -> list[str]:
        start = WebSocketSession.objects.count()
        ids = [f"conn-{channel}-{start + n}" for n in range(count)]
        WebSocketSession.objects.bulk_create(
            WebSocketSession(connection_id=cid, api_gateway=api_gateway, channel_name=channel)
            for cid in ids
        )
        # Older than the grace period for brand-new connections.
        WebSocketSession.objects.filter(connection_id__in=ids).update(
            created_on=timezone.now() - timedelta(minutes=1)
        )
        if live:
            gateway.state.add_virtual(ids)
        return ids

    return make


def database_url() -> str:
    """The URL of the test database this process uses, for worker processes."""
    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    host = f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
    return f"postgres://{params['USER'] or ''}@{host}/{params['NAME']}"


class WorkerProcess:
    """``celery -A worker worker`` in a child process, against the test database."""

    def __init__(self, websockets: dict, visibility_timeout: int, log: Path) -> None:
        self.log = log
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "TEST_CELERY_EAGER": "0",
            "TEST_WEBSOCKETS": json.dumps(websockets),
            "DATABASE_URL": database_url(),
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "TEST_CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        }
        self.process = subprocess.Popen(
            worker_command(pool="threads", concurrency=2),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab"),
        )

    def kill(self) -> None:
        """Die at once, as a worker does when its machine goes away."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

"""Test settings: the project's, with eager Celery tasks and the guide's URLs.

DATABASE_URL picks the database (CI uses PostgreSQL); CELERY_BROKER_URL the Redis used by
the integration tests, which switch eager mode off for their own real worker.
"""

import json
import os
import tempfile
from pathlib import Path

# The project refuses its public development key outside DEBUG; these settings bring their own.
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-secret-key-not-for-production")

from project.settings import *  # noqa: F403

SECRET_KEY = "tests-secret-key-not-for-production-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Worker processes started by the integration tests get the same settings with
# TEST_CELERY_EAGER=0 and their own WEBSOCKETS (as JSON), database and visibility timeout.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("TEST_CELERY_EAGER", "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "unacked_restore_interval": 1,
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not memory, so that worker processes share the test database (project.settings
    # sets WAL, the timeout and IMMEDIATE transactions for that). One file per test run, so
    # that concurrent runs never share it.
    test_db = Path(tempfile.gettempdir()) / f"gateway-sockets-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(test_db)}  # noqa: F405
# Close connections after each task, so worker threads never hold the test database open.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

AWS_GATEWAY_REGION_NAME = "us-east-1"
AWS_IAM_PROFILE = None
AWS_ACCESS_KEY_ID = "local"
AWS_SECRET_ACCESS_KEY = "local"
WEBSOCKETS = json.loads(os.environ.get("TEST_WEBSOCKETS", "{}"))

LOGGING = {"version": 1, "disable_existing_loggers": False}

# Fault scenarios run beat with the recovery task every few seconds instead of every 15.
if os.environ.get("TEST_BEAT_RECOVERY_SECONDS"):
    CELERY_BEAT_SCHEDULE = {
        "recover_deliveries": {
            "task": "django_aws_api_gateway_websockets.tasks.recover_deliveries",
            "schedule": float(os.environ["TEST_BEAT_RECOVERY_SECONDS"]),
            "options": {"queue": "websockets.maintenance"},
        }
    }

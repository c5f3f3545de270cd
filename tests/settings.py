"""Test settings: the project's, with eager Celery tasks and the guide's URLs.

DATABASE_URL picks the database (CI uses PostgreSQL); CELERY_BROKER_URL the Redis used by
the integration tests, which switch eager mode off for their own real worker.
"""

import os

from project.settings import *  # noqa: F403

SECRET_KEY = "tests-secret-key-not-for-production-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

AWS_GATEWAY_REGION_NAME = "us-east-1"
AWS_IAM_PROFILE = None
AWS_ACCESS_KEY_ID = "local"
AWS_SECRET_ACCESS_KEY = "local"
WEBSOCKETS = {}

LOGGING = {"version": 1, "disable_existing_loggers": False}

"""Django settings of our side of the benchmark: the project's settings, pointed at bench services.

Used by ``our_side.py`` and by the Celery workers the driver starts
(``DJANGO_SETTINGS_MODULE=benchmarks.settings``). Only where things run changes here; the
delivery engine keeps its default tuning (batch size, threads per process, retries).
"""

import json
import os

# The project refuses its public development key outside DEBUG; the benchmark brings its own.
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-secret-key-not-for-production")

from project.settings import *  # noqa: F403
from project.settings import WEBSOCKETS as PROJECT_WEBSOCKETS

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "benchmarks.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB", "bench_ours"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
    }
}

CELERY_BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
CELERY_TASK_ALWAYS_EAGER = False

# The local Management API the driver started; the template keeps ``{stage}`` for the engine.
_GATEWAY_URL = os.environ.get("BENCH_GATEWAY_URL", "http://127.0.0.1:9")
WEBSOCKETS = {**PROJECT_WEBSOCKETS, "management_endpoint": _GATEWAY_URL + "/{stage}"}
# ``run.py --websockets JSON`` passes engine settings to try (e.g. delivery_concurrency);
# the published figures use none, i.e. the product defaults.
WEBSOCKETS.update(json.loads(os.environ.get("BENCH_WEBSOCKETS_OVERRIDES") or "{}"))

AWS_IAM_PROFILE = None
AWS_ACCESS_KEY_ID = "local"
AWS_SECRET_ACCESS_KEY = "local"
AWS_GATEWAY_REGION_NAME = "us-east-1"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"django_aws_api_gateway_websockets": {"level": "WARNING"}},
}

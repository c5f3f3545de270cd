"""Django settings of either side, pointed at the benchmark's database, broker and gateway.

``BENCH_SIDE`` picks the side. Ours (also our Celery workers) import this module as
``benchmarks.settings`` and start from the project's settings: only where things run changes,
the delivery engine keeps its default tuning. Theirs import it as ``settings`` from this folder,
the only one of the project on their path, and get a minimal project around 4.1.0 with the
project's middleware, so that a message event passes through the same stack on both sides.
"""

import json
import os

_SIDE = os.environ.get("BENCH_SIDE", "ours")

if _SIDE == "ours":
    from project.settings import *  # noqa: F403
    from project.settings import WEBSOCKETS as PROJECT_WEBSOCKETS

    CELERY_BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
    CELERY_TASK_ALWAYS_EAGER = False
    # The local Management API the driver started; the engine formats ``{stage}`` itself.
    _GATEWAY_URL = os.environ.get("BENCH_GATEWAY_URL", "http://127.0.0.1:9")
    # The message benchmark posts unsigned events, as to 4.1.0 (whose gateway has no secret
    # either); checking a secret costs no query, so the figures are the same.
    WEBSOCKETS = {
        **PROJECT_WEBSOCKETS,
        "management_endpoint": _GATEWAY_URL + "/{stage}",
        "allow_unsigned_events": True,
    }
    # BENCH_WEBSOCKETS_OVERRIDES passes engine settings to try (e.g. delivery_concurrency);
    # the published figures use none, i.e. the product defaults.
    WEBSOCKETS.update(json.loads(os.environ.get("BENCH_WEBSOCKETS_OVERRIDES") or "{}"))
    AWS_IAM_PROFILE = None
    if os.environ.get("BENCH_COUNT_STATEMENTS"):
        # benchmarks/scale.py: every SQL statement of this process counted in Redis.
        from benchmarks.statements import count_statements

        count_statements(CELERY_BROKER_URL)
else:
    SECRET_KEY = "benchmark-only-not-a-secret-0123456789-abcdefghijklmnop"
    INSTALLED_APPS = [
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django_aws_api_gateway_websockets",
    ]
    # The project's, passed by the driver: this process cannot import the project's settings.
    MIDDLEWARE = json.loads(os.environ["BENCH_MIDDLEWARE"])
    DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
    USE_TZ = True
    TIME_ZONE = "UTC"
    WEBSOCKETS: dict = {}

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# ``benchmarks.urls`` or ``urls``: next to this module under either name.
ROOT_URLCONF = __name__.removesuffix("settings") + "urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB", f"bench_{_SIDE}"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
    }
}
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

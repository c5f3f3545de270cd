"""Minimal Django settings for django-aws-api-gateway-websockets 4.1.0 (competitor's venv).

Imported as a top-level module from ``benchmarks/`` by ``competitor_side.py``; the project
folder is never on that process's path, so ``django_aws_api_gateway_websockets`` is the
package from PyPI. Middleware is the same list as the project's, so a message event passes
through the same stack on both sides.
"""

import os

SECRET_KEY = "benchmark-only-not-a-secret-0123456789-abcdefghijklmnop"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "competitor_urls"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_aws_api_gateway_websockets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB", "bench_theirs"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

AWS_ACCESS_KEY_ID = "local"
AWS_SECRET_ACCESS_KEY = "local"
AWS_GATEWAY_REGION_NAME = "us-east-1"
WEBSOCKETS: dict = {}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

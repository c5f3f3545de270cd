"""Settings for the project that runs the system, read from the environment."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Development conveniences (and this public key) only when asked for with DJANGO_DEBUG=1.
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
DEVELOPMENT_SECRET_KEY = "insecure-local-development-key-change-me-0123456789"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or DEVELOPMENT_SECRET_KEY
if SECRET_KEY == DEVELOPMENT_SECRET_KEY and not DEBUG:
    # Sessions, CSRF tokens and password resets are signed with this key: a public one lets
    # anyone forge them.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Set it to a long random value (for example the output "
        "of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or set "
        "DJANGO_DEBUG=1 for local development with the public development key."
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_aws_api_gateway_websockets",
    "websockets",
    "tasks",
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

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web process and the workers write to one file at once. Django's SQLite notes
    # ("Database is locked errors", https://docs.djangoproject.com/en/stable/ref/databases/#database-is-locked-errors):
    # a transaction that reads, then writes, fails at once when another writer holds the lock,
    # whatever the timeout; IMMEDIATE takes the write lock at BEGIN, so writers wait their
    # turn (up to the timeout) instead. WAL lets readers go on meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# AWS: the region is needed to reach the Management API; credentials come from a profile,
# explicit keys, or the instance role, in that order.
AWS_GATEWAY_REGION_NAME = os.environ.get("AWS_GATEWAY_REGION_NAME", "us-east-1")
AWS_IAM_PROFILE = os.environ.get("AWS_IAM_PROFILE")
AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY")

WEBSOCKETS = {
    "gateway_secrets": env_list("WEBSOCKETS_GATEWAY_SECRETS"),
    # The chat's rooms (docs/channels.md): an hour of history, at most 500 messages per room,
    # for browsers that reconnect to recover from; join/leave events to every room's members.
    "channel_history": {"*": {"size": 500, "age_seconds": 3600}},
    "presence_channels": ["*"],
}
if os.environ.get("WEBSOCKETS_MANAGEMENT_ENDPOINT"):
    WEBSOCKETS["management_endpoint"] = os.environ["WEBSOCKETS_MANAGEMENT_ENDPOINT"]

# Celery (read by worker/celery.py with the CELERY namespace)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    # A broker that does not answer (not even with a refusal) costs a send at most this.
    "socket_connect_timeout": 2,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker of ``rundemo`` when no Redis answers: producers and consumers
    # share one folder (created by rundemo).
    _broker_folder = os.environ.get("CELERY_FILESYSTEM_FOLDER", str(BASE_DIR / ".demo" / "broker"))
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": _broker_folder,
            "data_folder_out": _broker_folder,
            "control_folder": os.path.join(_broker_folder, "control"),
        }
    )
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django_aws_api_gateway_websockets": {
            "level": os.environ.get("WEBSOCKETS_LOG_LEVEL", "INFO")
        },
        "websockets": {"level": "INFO"},
        "tasks": {"level": "INFO"},
    },
}

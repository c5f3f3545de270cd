"""The Celery application: ``celery -A worker worker`` and ``celery -A worker beat``."""

from .celery import app

__all__ = ["app"]

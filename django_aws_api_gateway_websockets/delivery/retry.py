"""The retry policy: how often and how late a recipient that may yet succeed is tried again."""

from __future__ import annotations

import random

from ..conf import app_settings


def exhausted(attempt: int) -> bool:
    """Whether attempt ``attempt`` (from 0) that met real errors was the last one allowed."""
    return attempt + 1 >= app_settings.delivery_max_attempts


def backoff(attempt: int) -> float:
    """Seconds before retry ``attempt + 1``: exponential, capped, with jitter."""
    ceiling = min(
        app_settings.delivery_retry_max_seconds,
        app_settings.delivery_retry_base_seconds * 2**attempt,
    )
    return random.uniform(ceiling / 2, ceiling)


def throttled() -> float:
    """Seconds before throttled recipients are tried again: the shared budget paces them."""
    return random.uniform(0.5, 1.5)

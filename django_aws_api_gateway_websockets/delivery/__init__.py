"""The delivery engine: record a send, plan its recipients, post each batch, settle outcomes.

The engine never talks to Celery: ``tasks.py`` runs it and hands it ``QueueBatch`` and
``QueuePlan`` callables for the work it asks to be queued.
"""

from __future__ import annotations

from collections.abc import Callable

# (batch id, attempt, countdown in seconds or None)
QueueBatch = Callable[[int, int, float | None], None]
# (report id)
QueuePlan = Callable[[str], None]

"""The delivery engine: record a send, plan its recipients, post each batch, settle outcomes.

The engine never talks to Celery: ``tasks.py`` runs it and hands it ``QueueBatch`` and
``QueuePlan`` callables for the work it asks to be queued.
"""

from __future__ import annotations

from collections.abc import Callable

# Lanes: a send found to fit in one batch is posted on the fast lane, never queued behind
# the batches of larger sends, which go to the bulk lane. Planning starts on the fast lane.
REALTIME = "realtime"
BULK = "bulk"

# (batch id, attempt, countdown in seconds or None, lane)
QueueBatch = Callable[[int, int, float | None, str], None]
# (report id)
QueuePlan = Callable[[str], None]

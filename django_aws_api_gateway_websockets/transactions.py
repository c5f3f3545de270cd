"""The commit rule of sends and signals: run something once the caller's transaction commits.

Low in the layers, so that the delivery engine (``delivery.enqueue``), the lifecycle signals
(``signals``) and the channels API share one rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction


def run_after_commit(callback: Callable[[], Any]) -> bool:
    """Run ``callback`` when the transaction commits, or now outside one; True if it ran now.

    The atomic blocks Django's test cases open never commit; they count as outside a
    transaction, so that eager tasks deliver inside tests as they would in production.
    """
    if outside_transactions():
        callback()
        return True
    transaction.on_commit(callback)
    return False


def outside_transactions() -> bool:
    """Whether no atomic block is open but those of a test case (which never commit).

    Django allows a durable block inside a test case's blocks and inside no other block,
    so trying one tells the two apart through public API (Django's own markers on test
    case blocks are private). It costs a savepoint, only inside tests.
    """
    if not connection.in_atomic_block:
        return True
    try:
        with transaction.atomic(durable=True):
            return True
    except RuntimeError:
        return False

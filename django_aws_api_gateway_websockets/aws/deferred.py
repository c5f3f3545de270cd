"""AWS pushes that run after a commit, and who hears of their failures.

A model change is pushed to AWS once its transaction commits (``transaction.on_commit``). A
push AWS refuses raises ``ApiGatewaySyncError`` there, out of the commit: for the admin, whose
views commit inside the request, that was a 500 after the row was saved. Code that wants the
failures as values (the admin, to show them as messages) runs inside ``collecting_errors()``;
elsewhere a failure is raised as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .remote import ApiGatewaySyncError

Refusal = tuple[object, ApiGatewaySyncError]  # the record pushed, and AWS's answer

_collector: ContextVar[list[Refusal] | None] = ContextVar("deferred_aws_errors", default=None)


@contextmanager
def collecting_errors() -> Iterator[list[Refusal]]:
    """Inside the block, deferred pushes AWS refuses are listed instead of raised."""
    errors: list[Refusal] = []
    token = _collector.set(errors)
    try:
        yield errors
    finally:
        _collector.reset(token)


def reported(what: object, push: Callable[[], object]) -> Callable[[], None]:
    """``push`` of ``what`` as an on-commit callback; its ``ApiGatewaySyncError`` is collected."""

    def run() -> None:
        try:
            push()
        except ApiGatewaySyncError as error:
            errors = _collector.get()
            if errors is None:
                raise
            errors.append((what, error))

    return run

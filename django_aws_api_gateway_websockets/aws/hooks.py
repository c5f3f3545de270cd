"""Whether something other than the network may answer a boto3 client's calls.

botocore lets code hook into a client's events (``client.meta.events``): moto's ``mock_aws``
answers requests from a ``before-send`` handler, botocore's ``Stubber`` from a ``before-call``
handler, and projects register their own. ``DirectPoster`` runs no hooks, so it stands in
only for clients without any (``direct_post.supports``); the test helpers read the same
hooks to tell an intercepted call from one bound for AWS (``testing.refuse_aws_calls``).
"""

from __future__ import annotations

from typing import Any

# botocore's own before-call handlers (recursion-detection and API-version headers).
BOTOCORE_HANDLERS = "botocore.handlers"


def handlers(client: Any, event: str) -> list[Any]:
    """The handlers ``client`` runs for ``event``, e.g. ``before-send.<service>.<Operation>``.

    botocore offers registration but no lookup, so this reads its emitter's handler table
    (present since botocore 1.x; an ``AttributeError`` means it moved).
    """
    emitter = client.meta.events
    emitter = getattr(emitter, "_emitter", emitter)
    return list(emitter._handlers.prefix_search(event))


def event(stage: str, client: Any, operation: str) -> str:
    service = client.meta.service_model.service_id.hyphenize()
    return f"{stage}.{service}.{operation}"


def idle_moto(handler: Any) -> bool:
    """moto's handler is on every client made after ``import moto``; it answers only in a mock."""
    kind = type(handler)
    return (
        kind.__name__ == "BotocoreStubber"
        and kind.__module__.startswith("moto.")
        and not getattr(handler, "enabled", True)
    )


def send_hooks(client: Any, operation: str) -> list[Any]:
    """``before-send`` handlers that may answer ``operation`` instead of the network."""
    found = handlers(client, event("before-send", client, operation))
    return [handler for handler in found if not idle_moto(handler)]


def call_hooks(client: Any, operation: str) -> list[Any]:
    """``before-call`` handlers besides botocore's own (a ``Stubber``, a project's hooks)."""
    found = handlers(client, event("before-call", client, operation))
    return [handler for handler in found if getattr(handler, "__module__", "") != BOTOCORE_HANDLERS]


def hooked(client: Any, operation: str) -> bool:
    """Whether any hook besides botocore's own runs for ``operation`` on ``client``."""
    return bool(send_hooks(client, operation) or call_hooks(client, operation))

"""Whether something other than the network may answer a boto3 client's calls.

botocore lets code hook into a client's events (``client.meta.events``): moto's ``mock_aws``
answers requests from a ``before-send`` handler, botocore's ``Stubber`` from a ``before-call``
handler, and projects register their own. ``DirectPoster`` runs no hooks, so it stands in only
for clients without any (``direct_post.supports``); the test helpers read the same hooks to
tell an intercepted call from one bound for AWS (``testing.refuse_aws_calls``).

botocore offers registration but no lookup, so this reads its emitter's handler table; a
botocore whose internals moved counts as intercepted (posting through boto3 is always
correct, only slower).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)

# botocore's own before-call handlers (recursion-detection and API-version headers).
BOTOCORE_HANDLERS = "botocore.handlers"


def handlers(client: Any, event_name: str) -> list[Any]:
    """The handlers ``client`` runs for ``event_name``; ``AttributeError`` if botocore moved."""
    emitter = client.meta.events
    emitter = getattr(emitter, "_emitter", emitter)
    return list(emitter._handlers.prefix_search(event_name))


def event(stage: str, client: Any, operation: str) -> str:
    """botocore's event name, e.g. ``before-send.apigatewaymanagementapi.PostToConnection``."""
    service = client.meta.service_model.service_id.hyphenize()
    return f"{stage}.{service}.{operation}"


def is_moto(handler: Any) -> bool:
    kind = type(handler)
    return kind.__name__ == "BotocoreStubber" and kind.__module__.startswith("moto.")


def moto_active() -> bool:
    """Whether a moto mock (``mock_aws``) is running in this process."""
    moto_models = sys.modules.get("moto.core.models")
    return bool(getattr(getattr(moto_models, "botocore_stubber", None), "enabled", False))


def has_moto(client: Any, operation: str = "PostToConnection") -> bool:
    """Whether moto can answer ``client`` while a mock runs.

    moto registers itself on botocore sessions made after it was imported: a client made
    earlier is never intercepted, even inside ``mock_aws``.
    """
    try:
        return any(map(is_moto, handlers(client, event("before-send", client, operation))))
    except AttributeError:
        return False


def send_hooks(client: Any, operation: str) -> list[Any]:
    """``before-send`` handlers that may answer ``operation`` instead of the network.

    moto's handler is on every client made after ``import moto``; it answers only in a mock.
    """
    found = handlers(client, event("before-send", client, operation))
    return [h for h in found if not (is_moto(h) and not getattr(h, "enabled", True))]


def call_hooks(client: Any, operation: str) -> list[Any]:
    """``before-call`` handlers besides botocore's own (a ``Stubber``, a project's hooks)."""
    found = handlers(client, event("before-call", client, operation))
    return [h for h in found if getattr(h, "__module__", "") != BOTOCORE_HANDLERS]


def intercepted(client: Any, operation: str = "PostToConnection") -> bool:
    """Whether any hook besides botocore's own may answer ``operation`` on ``client``."""
    try:
        return bool(send_hooks(client, operation) or call_hooks(client, operation))
    except AttributeError:
        logger.warning("Cannot inspect this botocore's event handlers; posting through boto3")
        return True

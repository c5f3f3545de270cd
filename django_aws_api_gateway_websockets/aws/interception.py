"""Whether something other than the network answers a boto3 client's requests.

moto's ``mock_aws``, botocore's ``Stubber`` and any ``before-send`` handler answer requests
inside botocore's pipeline. Posting around that pipeline (``direct_post``) would bypass them
and reach the network, so delivery steps aside for such clients.

botocore has no public API for listing a client's event handlers; this reads its emitter,
and treats a botocore whose internals moved as "intercepted" (posting through boto3 is
always correct, only slower).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)


def moto_active() -> bool:
    """Whether a moto mock (``mock_aws``) is running in this process."""
    moto_models = sys.modules.get("moto.core.models")
    stubber = getattr(moto_models, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


def handlers(client: Any, event: str) -> list[Any]:
    """The handlers botocore would call for ``event`` on ``client``."""
    emitter = client.meta.events
    inner = getattr(emitter, "_emitter", emitter)
    return list(inner._handlers.prefix_search(event))


def is_moto_stubber(handler: Any) -> bool:
    return type(handler).__name__ == "BotocoreStubber" and type(handler).__module__.startswith(
        "moto."
    )


def has_moto_stubber(client: Any, operation: str = "PostToConnection") -> bool:
    """Whether moto can answer ``client`` while a mock is active.

    moto registers itself on botocore sessions made after it was imported: a client made
    earlier is never intercepted, even inside ``mock_aws``.
    """
    try:
        return any(map(is_moto_stubber, handlers(client, event(client, "before-send", operation))))
    except AttributeError:
        return False


def intercepted(client: Any, operation: str = "PostToConnection") -> bool:
    """Whether ``operation`` on ``client`` would be answered without reaching the network."""
    from botocore.stub import Stubber

    try:
        before_send = handlers(client, event(client, "before-send", operation))
        before_call = handlers(client, event(client, "before-call", operation))
    except AttributeError:
        logger.warning("Cannot inspect this botocore's event handlers; posting through boto3")
        return True
    if any(isinstance(getattr(h, "__self__", None), Stubber) for h in before_call):
        return True
    return any(not is_moto_stubber(h) or getattr(h, "enabled", False) for h in before_send)


def event(client: Any, stage: str, operation: str) -> str:
    """botocore's event name, e.g. ``before-send.apigatewaymanagementapi.PostToConnection``."""
    return f"{stage}.{client.meta.service_model.service_id.hyphenize()}.{operation}"

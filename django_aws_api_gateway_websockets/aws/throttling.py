"""Control-plane calls retried, with exponential backoff and a bound, while AWS throttles them.

"Amazon API Gateway quotas", section "API Gateway quotas for creating, deploying and managing
an API" (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html): the
control plane takes 10 requests per second per account (burst 40), CreateDeployment one
request every 5 seconds per account and CreateDomainName one every 30 seconds; "These quotas
can't be increased." A throttled call answers HTTP 429, ``TooManyRequestsException`` in the
botocore model, ``LimitExceededException`` in the API reference ("API Gateway V2 REST API
reference, DomainNames", https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames.html).

botocore's own retries (standard mode, 3 attempts, a second or two apart) are spent before
an error reaches this module; the waits here (1, 2, 4, 8, 16 s) outlast several 5-second
CreateDeployment windows, so provisioning that races another deployment in the account
still finishes, and a call throttled for longer than about half a minute fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .outcomes import error_code, status_of

logger = logging.getLogger(__name__)

THROTTLING_CODES = frozenset({"TooManyRequestsException", "LimitExceededException"})
MAX_ATTEMPTS = 6
BASE_DELAY_SECONDS = 1.0

# Looked up at call time, so tests can record the waits instead of sleeping.
sleep = time.sleep


def is_throttled(error: ClientError) -> bool:
    """Whether AWS refused the call for its rate (429), not for what it asked."""
    return error_code(error) in THROTTLING_CODES or status_of(error) == 429


def with_backoff(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, repeated after 1, 2, 4, … seconds while it is throttled."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return call(*args, **kwargs)
        except ClientError as error:
            if not is_throttled(error) or attempt == MAX_ATTEMPTS - 1:
                raise
            delay = BASE_DELAY_SECONDS * 2**attempt
            logger.warning(
                "%s throttled by AWS; trying again in %.0f s",
                error.operation_name,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


class ThrottledClient:
    """An ``apigatewayv2`` client whose every call goes through ``with_backoff``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            return with_backoff(attribute, *args, **kwargs)

        return call

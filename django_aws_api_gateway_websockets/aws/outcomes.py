"""What a Management API answer means for one recipient: delivered, gone, throttled, retry
or failed."""

from __future__ import annotations

import enum

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    GONE = "gone"
    # The account's budget is spent (429): retried until the send's deadline, and the
    # whole pool slows down (delivery/budget.py).
    THROTTLED = "throttled"
    # A real error that may pass (5xx, network): retried a bounded number of attempts.
    RETRY = "retry"
    FAILED = "failed"


GONE_CODES = frozenset({"GoneException"})
THROTTLED_CODES = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)
RETRY_CODES = frozenset(
    {
        "InternalServerErrorException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


def error_code(exc: BaseException) -> str:
    """The AWS error code of ``exc``, or its class name when AWS gave none."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") or str(status_of(exc))
    return type(exc).__name__


def status_of(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def classify(exc: BaseException) -> Outcome:
    """Gone (410), throttled (429), retry (5xx, network), or failed for good (anything else)."""
    if isinstance(exc, ClientError):
        code, status = error_code(exc), status_of(exc)
        if code in GONE_CODES or status == 410:
            return Outcome.GONE
        if code in THROTTLED_CODES or status == 429:
            return Outcome.THROTTLED
        if code in RETRY_CODES or status >= 500:
            return Outcome.RETRY
        return Outcome.FAILED
    if isinstance(exc, ConnectionError | HTTPClientError):
        return Outcome.RETRY
    return Outcome.FAILED


def for_recipient(outcome: Outcome, attempt: int, *, young: bool) -> Outcome:
    """What an answer means for this recipient on this attempt.

    API Gateway answers 410 until ``$connect`` has returned, so a young connection's first
    410 (``young``: younger than ``gone_grace_seconds``) is retried once, not taken as gone.
    """
    if outcome is Outcome.GONE and attempt == 0 and young:
        return Outcome.RETRY
    return outcome

"""What a Management API answer means for one recipient: delivered, gone, retry or failed."""

from __future__ import annotations

import enum

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    GONE = "gone"
    RETRY = "retry"
    FAILED = "failed"


GONE_CODES = frozenset({"GoneException"})
THROTTLING_CODES = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)
RETRY_CODES = THROTTLING_CODES | frozenset(
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


def is_throttling(exc: BaseException) -> bool:
    """Whether API Gateway refused ``exc``'s call for the rate (429)."""
    if not isinstance(exc, ClientError):
        return False
    return error_code(exc) in THROTTLING_CODES or status_of(exc) == 429


def classify(exc: BaseException) -> Outcome:
    """Gone (410), retry (throttling, 5xx, network), or failed for good (anything else)."""
    if isinstance(exc, ClientError):
        code, status = error_code(exc), status_of(exc)
        if code in GONE_CODES or status == 410:
            return Outcome.GONE
        if code in RETRY_CODES or status == 429 or status >= 500:
            return Outcome.RETRY
        return Outcome.FAILED
    if isinstance(exc, ConnectionError | HTTPClientError):
        return Outcome.RETRY
    return Outcome.FAILED

"""AWS Signature Version 4 for one Management API request: signing it, and verifying it.

botocore's ``SigV4Auth`` handles every service and request shape; a post to a connection
has one shape (a path, a body, no query string), so its canonical request is built directly.
``tests/test_sigv4.py`` checks the result against botocore's signer. ``verify`` checks a
request the way AWS does, for the local gateway's Management API.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# How far a request's X-Amz-Date may be from the server's clock ("Troubleshoot signed
# requests for AWS APIs", https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html).
MAX_CLOCK_SKEW = timedelta(minutes=5)


class Credentials(Protocol):
    """What botocore's ``ReadOnlyCredentials`` provides."""

    access_key: str
    secret_key: str
    token: str | None


@functools.lru_cache(maxsize=16)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The day's key: AWS derives it by chaining HMACs over date, region and service."""
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(
    *,
    method: str,
    host: str,
    path: str,
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to send, ``host`` included, that authenticate ``method path`` with ``body``.

    ``path`` is the path as sent, already percent-encoded; AWS signs it encoded once more.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    timestamp = moment.strftime(TIMESTAMP_FORMAT)
    headers = {"host": host, "x-amz-date": timestamp}
    if credentials.token:
        headers["x-amz-security-token"] = credentials.token
    signed_headers = ";".join(headers)
    canonical = canonical_request(method, path, "", headers, hashlib.sha256(body).hexdigest())
    scope = f"{timestamp[:8]}/{region}/{service}/aws4_request"
    signature = signature_of(credentials.secret_key, timestamp, scope, canonical)
    headers["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return headers


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], payload_hash: str
) -> str:
    """The canonical request of SigV4; ``headers`` are the signed ones, lower-case, in order.

    ``path`` is the path as sent (percent-encoded): AWS encodes it once more, as botocore
    does for every service but S3. ``query`` is the raw query string.
    """
    pairs = sorted(part.partition("=")[::2] for part in query.split("&") if part)
    return "\n".join(
        (
            method.upper(),
            quote(path or "/", safe="/~"),
            "&".join(f"{name}={value}" for name, value in pairs),
            "".join(f"{name}:{value}\n" for name, value in headers.items()),
            ";".join(headers),
            payload_hash,
        )
    )


def signature_of(secret_key: str, timestamp: str, scope: str, canonical: str) -> str:
    """The hex signature of ``canonical`` with ``secret_key``, for the request's scope."""
    date, region, service, _ = scope.split("/", 3)
    string_to_sign = "\n".join(
        (ALGORITHM, timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest())
    )
    key = signing_key(secret_key, date, region, service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Refusal:
    """Why a request's signature is refused, as AWS answers it (403, ``x-amzn-ErrorType``)."""

    error_type: str
    message: str


# The answers of API Gateway's IAM authorization, from "How do I troubleshoot HTTP 403
# errors from API Gateway?" (https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden)
# and "Troubleshoot signed requests for AWS APIs" (above).
MISSING = Refusal("MissingAuthenticationTokenException", "Missing Authentication Token")
UNKNOWN_KEY = Refusal(
    "AccessDeniedException", "The security token included in the request is invalid."
)
MISMATCH = Refusal(
    "InvalidSignatureException",
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details.",
)


def verify(
    *,
    method: str,
    path: str,
    query: str,
    header: Callable[[str], str | None],
    body: bytes,
    secret_for: Callable[[str], str | None],
    service: str,
    now: datetime | None = None,
) -> Refusal | None:
    """None if the request carries a valid SigV4 signature; else why not, as AWS says it.

    ``header(name)`` reads a request header (None when absent; several values joined with
    ``,``); ``secret_for(access_key)`` the secret key of an access key id, None if unknown.
    """
    authorization = header("authorization") or ""
    if not authorization.startswith(f"{ALGORITHM} "):
        return MISSING
    parts: dict[str, str] = {}
    for part in authorization[len(ALGORITHM) :].split(","):
        name, _, value = part.strip().partition("=")
        parts[name] = value
    credential, signed, given = (
        parts.get(k, "") for k in ("Credential", "SignedHeaders", "Signature")
    )
    scope_parts = credential.split("/")
    timestamp = header("x-amz-date") or ""
    if not (given and signed and len(scope_parts) == 5 and scope_parts[4] == "aws4_request"):
        return Refusal(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            "parameters, the credential scoped as key/date/region/service/aws4_request.",
        )
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names or not timestamp:
        return Refusal(
            "IncompleteSignatureException", "The Host and X-Amz-Date headers must be signed."
        )
    access_key, date, _, scope_service, _ = scope_parts
    try:
        moment = datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return Refusal("IncompleteSignatureException", f"Invalid X-Amz-Date: {timestamp}.")
    if date != timestamp[:8]:
        return Refusal(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP.",
        )
    if scope_service != service:
        return Refusal(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'.",
        )
    current = (now or datetime.now(UTC)).astimezone(UTC)
    if moment < current - MAX_CLOCK_SKEW:
        earliest = (current - MAX_CLOCK_SKEW).strftime(TIMESTAMP_FORMAT)
        return Refusal(
            "InvalidSignatureException",
            f"Signature expired: {timestamp} is now earlier than {earliest} "
            f"({current.strftime(TIMESTAMP_FORMAT)} - 5 min.)",
        )
    if moment > current + MAX_CLOCK_SKEW:
        latest = (current + MAX_CLOCK_SKEW).strftime(TIMESTAMP_FORMAT)
        return Refusal(
            "InvalidSignatureException",
            f"Signature not yet current: {timestamp} is still later than {latest} "
            f"({current.strftime(TIMESTAMP_FORMAT)} + 5 min.)",
        )
    secret_key = secret_for(access_key)
    if secret_key is None:
        return UNKNOWN_KEY
    # Header values as signed: whitespace runs collapsed (SigV4's canonical headers).
    headers = {name: " ".join((header(name) or "").split()) for name in names}
    canonical = canonical_request(method, path, query, headers, hashlib.sha256(body).hexdigest())
    expected = signature_of(secret_key, timestamp, "/".join(scope_parts[1:]), canonical)
    if not hmac.compare_digest(expected, given):
        return MISMATCH
    return None

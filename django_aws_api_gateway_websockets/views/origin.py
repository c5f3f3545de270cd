"""Where an event came from: its API, its secret, and the client address API Gateway saw.

API Gateway documents no header of its own for HTTP_PROXY integrations. The integrations
this package provisions map what the views need from the request context ("Set up data
mapping for WebSocket APIs in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-data-mapping.html):
``context.connectionId`` to ``Connectionid``, ``context.apiId`` to
``WEBSOCKETS["api_id_header"]``, ``context.identity.sourceIp`` to
``WEBSOCKETS["source_ip_header"]``, and a static secret to
``WEBSOCKETS["gateway_secret_header"]``. A mapped header replaces any header of that name a
client sent, so none of them can be forged through the gateway.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils.http import is_same_domain

from ..conf import LEGACY_SECRET_HEADER, app_settings, legacy_secrets
from .responses import header_to_meta

if TYPE_CHECKING:
    from ..models import ApiGateway

# Sent by API Gateway itself to gateways provisioned before the API id was mapped, and by
# the testing guide's header helpers.
LEGACY_API_ID_HEADER = "X-Amzn-Apigateway-Api-Id"
# API Gateway appends the address it saw to X-Forwarded-For (the example request in
# "Control access to WebSocket APIs with AWS Lambda REQUEST authorizers",
# https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html);
# entries before the last one are whatever the client sent.
FORWARDED_FOR_HEADER = "X-Forwarded-For"


def header(request: HttpRequest, name: str) -> str:
    """The value of header ``name``, or ``""``."""
    return request.META.get(header_to_meta(name), "")


def api_id_header_names() -> list[str]:
    """The headers that may carry the API id, in order of preference."""
    return [app_settings.api_id_header, LEGACY_API_ID_HEADER]


def request_api_id(request: HttpRequest) -> str:
    """The id of the API that forwarded the event, or ``""``."""
    return next(filter(None, (header(request, name) for name in api_id_header_names())), "")


def accepted_secrets(gateway: ApiGateway | None) -> list[str]:
    """The gateway's current, pending and previous secrets, and ``WEBSOCKETS["gateway_secrets"]``.

    The pending one is accepted as soon as it exists: a push that fails part-way may have
    given it to some integrations already.
    """
    own = (
        [gateway.gateway_secret, gateway.pending_gateway_secret, gateway.previous_gateway_secret]
        if gateway
        else []
    )
    return [secret for secret in (*own, *app_settings.gateway_secrets) if secret]


def _matches(given: str, secrets: list[str]) -> bool:
    # Compare against every secret so the time taken does not tell which one matched.
    matches = [hmac.compare_digest(given.encode(), secret.encode()) for secret in secrets]
    return bool(given) and any(matches)


def unsigned_allowed(gateway: ApiGateway | None) -> bool:
    """Whether an event carrying no secret may pass: only with ``allow_unsigned_events``.

    Even then never for a gateway AWS is known to send a secret to, nor while shared
    secrets are configured (``gateway_secrets`` or 4.1.0's ``gateway_secret``).
    """
    return (
        bool(app_settings.allow_unsigned_events)
        and not (gateway and gateway.gateway_secret)
        and not app_settings.gateway_secrets
        and not legacy_secrets()
    )


def carries_secret(request: HttpRequest) -> bool:
    """Whether the request has a secret header (this package's or 4.1.0's) at all."""
    return bool(
        header(request, app_settings.gateway_secret_header) or header(request, LEGACY_SECRET_HEADER)
    )


def has_valid_secret(request: HttpRequest, gateway: ApiGateway | None) -> bool:
    """True if the request carries an accepted secret, or carries none and may (see above).

    ``gateway`` is None for an API id this site does not know: only shared secrets prove
    such a request, so without one it is refused exactly as a known gateway's would be.
    """
    own = _matches(header(request, app_settings.gateway_secret_header), accepted_secrets(gateway))
    # 4.1.0's header, while 4.1.0's WEBSOCKETS["gateway_secret"] is set.
    legacy = _matches(header(request, LEGACY_SECRET_HEADER), legacy_secrets())
    if own or legacy:
        return True
    return not carries_secret(request) and unsigned_allowed(gateway)


def client_ip(request: HttpRequest) -> str:
    """The address API Gateway saw the client at; ValueError naming what is wrong.

    ``WEBSOCKETS["source_ip_header"]`` (mapped from ``context.identity.sourceIp``, "the
    source IP address of the immediate TCP connection", per "WebSocket API mapping template
    reference", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html);
    for gateways provisioned before that mapping, the last ``X-Forwarded-For`` entry.
    """
    name = app_settings.source_ip_header
    value = header(request, name).strip()
    if not value:
        name = FORWARDED_FOR_HEADER
        value = header(request, name).split(",")[-1].strip()
    if not value:
        raise ValueError(f"Missing headers: {app_settings.source_ip_header}.")
    try:
        validate_ipv46_address(value)
    except ValidationError:
        raise ValueError(f"No IP address in {name}.") from None
    return value


# The schemes a page's Origin may have, with the port each implies (RFC 6454 section 4).
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalised_origin(origin: str) -> tuple[str, str] | None:
    """``(scheme, host[:port])`` of an http(s) origin, lower-case, without its default port.

    None for anything else (``null``, ``file:``, extensions' schemes, a malformed URL).
    """
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if port is None or port == DEFAULT_PORTS[scheme]:
        return scheme, host
    return scheme, f"{host}:{port}"


def is_same_site(origin: tuple[str, str], request_host: str) -> bool:
    """Whether the origin's host and port are the Host the request was made to."""
    host, port = split_domain_port(request_host)
    if port and int(port) != DEFAULT_PORTS[origin[0]]:
        host = f"{host}:{port}"
    return bool(host) and origin[1] == host.lower()


def is_trusted_origin(origin: tuple[str, str], trusted: Iterable[str]) -> bool:
    """Whether ``CSRF_TRUSTED_ORIGINS`` allows the origin, as Django's CSRF middleware reads it.

    An entry is an exact origin, or ``scheme://*.domain`` for the domain and its subdomains
    (Django matches what follows the ``*`` with ``is_same_domain``).
    """
    scheme, netloc = origin
    for entry in trusted:
        if "*" not in entry:
            if normalised_origin(entry) == origin:
                return True
            continue
        entry_scheme, _, pattern = entry.partition("://")
        # Parsed with a placeholder label where the "*" stands, for its port and case.
        allowed = normalised_origin(f"{entry_scheme}://{pattern.replace('*', 'x', 1)}")
        if allowed is None or allowed[0] != scheme or not pattern.startswith("*."):
            continue
        if is_same_domain(netloc, allowed[1].removeprefix("x")):
            return True
    return False


def origin_allowed(origin: str, request_host: str, trusted: Iterable[str]) -> bool:
    """The page's origin is this site (the Host), or trusted by ``CSRF_TRUSTED_ORIGINS``."""
    parsed = normalised_origin(origin)
    if parsed is None:
        return False
    return is_same_site(parsed, request_host) or is_trusted_origin(parsed, trusted)

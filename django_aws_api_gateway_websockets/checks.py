"""System checks for the app's settings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from .aws.credentials import credentials_source
from .boto3_factory import is_loopback
from .conf import (
    AppSettings,
    Setting,
    app_settings,
    invalid_settings,
    legacy_secrets,
    non_negative,
    positive,
)
from .models import ApiGateway
from .tasks import DELIVERY_OPTIONS

ID = "django_aws_api_gateway_websockets"

# What 4.1.0 accepted for its gateway_secret: it goes into a static '...' mapping value.
STATIC_VALUE = re.compile(r"[A-Za-z0-9._~+/=-]{32,}")
DECLARED = AppSettings.declared()
# The id of each setting's invalid value, kept from earlier releases; any other: E040.
INVALID_VALUE_IDS = {
    "gateway_secret_header": "E005",
    "api_id_header": "E005",
    "source_ip_header": "E005",
    "management_endpoint": "E006",
    "delivery_transport": "E007",
    "push_changes_to_aws": "E008",
    "allowed_integration_hosts": "E010",
    "allow_unsigned_events": "E012",
    "post_rate_limit": "E060",
    "realtime_queue": "E061",
    "delivery_queue": "E061",
    "maintenance_queue": "E061",
    "channel_history": "E070",
    "presence_channels": "E071",
}


def _invalid_value_id(key: str, setting: Setting[Any]) -> str:
    if key in INVALID_VALUE_IDS:
        return INVALID_VALUE_IDS[key]
    return "E003" if setting.valid in (positive, non_negative) else "E040"


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    errors: list[Error | Warning] = []
    # None is unset, as in 4.x: every setting has its default.
    raw = getattr(settings, "WEBSOCKETS", None)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return [
            Error(
                "WEBSOCKETS must be a dict.",
                hint="It is ignored: every setting has its default until it is fixed.",
                id=f"{ID}.E001",
            )
        ]
    for key in sorted(set(raw) - set(DECLARED)):
        errors.append(
            Error(
                f"WEBSOCKETS has an unknown key {key!r}.",
                hint=f"Known keys: {', '.join(sorted(DECLARED))}.",
                id=f"{ID}.E002",
            )
        )
    for key, value, setting in invalid_settings():
        errors.append(
            Error(
                f"WEBSOCKETS[{key!r}] must be {setting.expected}, not {value!r}.",
                hint=f"The default, {setting.default!r}, is used until it is fixed.",
                id=f"{ID}.{_invalid_value_id(key, setting)}",
            )
        )
    errors.extend(_lease_errors())
    errors.extend(_lane_errors())
    secrets = app_settings.gateway_secrets
    if not isinstance(secrets, list | tuple) or not all(isinstance(s, str) and s for s in secrets):
        errors.append(
            Error(
                "WEBSOCKETS['gateway_secrets'] must be a list of non-empty strings.",
                id=f"{ID}.E004",
            )
        )
    legacy = app_settings.gateway_secret
    if legacy is not None and not all(
        isinstance(s, str) and STATIC_VALUE.fullmatch(s)
        for s in (legacy if isinstance(legacy, list | tuple) else [legacy])
    ):
        errors.append(
            Error(
                "WEBSOCKETS['gateway_secret'] must be a secret or a list of secrets of at "
                "least 32 of the characters A-Z a-z 0-9 . _ ~ + / = -.",
                hint="Every integration carries its first secret in a static '...' value.",
                id=f"{ID}.E013",
            )
        )
    if not app_settings.aws_region and not is_loopback(app_settings.management_endpoint):
        errors.append(
            Warning(
                "Neither AWS_GATEWAY_REGION_NAME nor AWS_REGION_NAME is set: every send to "
                "AWS fails in the worker.",
                hint="Set AWS_GATEWAY_REGION_NAME to your API Gateway's region. Only a "
                "loopback WEBSOCKETS['management_endpoint'] (the local gateway) needs none.",
                id=f"{ID}.W001",
            )
        )
    visibility = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get(
        "visibility_timeout"
    )
    needed = DELIVERY_OPTIONS["time_limit"] + app_settings.delivery_retry_max_seconds
    if visibility is not None and visibility <= needed:
        errors.append(
            Warning(
                f"CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] ({visibility}s) is not "
                f"above the delivery time limit plus the longest retry delay ({needed}s): "
                "Redis would hand running deliveries to a second worker.",
                id=f"{ID}.W002",
            )
        )
    return errors


def _lane_errors() -> list[Error | Warning]:
    """A fast lane that is no lane: on the queue of the bulk batches."""
    if app_settings.realtime_queue != app_settings.delivery_queue:
        return []
    return [
        Warning(
            "WEBSOCKETS['realtime_queue'] is the delivery queue: small sends will wait "
            "behind the batches of large ones.",
            id=f"{ID}.W060",
        )
    ]


@register(Tags.compatibility, deploy=True)
def check_management_credentials(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``check --deploy``: a non-loopback Management API needs AWS credentials to post."""
    endpoint = app_settings.management_endpoint
    if not isinstance(endpoint, str) or is_loopback(endpoint) or credentials_source():
        return []
    return [
        Warning(
            f"No AWS credentials found for the Management API ({endpoint}): every send would "
            "fail with NoCredentialsError.",
            hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_IAM_PROFILE in "
            "settings, or the standard AWS environment variables or shared credentials file. "
            "Credentials from an EC2 instance role cannot be checked here: silence "
            f"{ID}.W004 if you use one.",
            id=f"{ID}.W004",
        )
    ]


@register(Tags.security, deploy=True)
def check_integration_hosts(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``check --deploy``: without ``allowed_integration_hosts`` any host may receive events.

    ``target_base_endpoint`` receives every ``$connect`` with the browser's cookies, so a
    gateway record pointing elsewhere (a typo, a compromised admin account) hands them over.
    """
    hosts = app_settings.allowed_integration_hosts
    if hosts:
        return []
    return [
        Warning(
            "WEBSOCKETS['allowed_integration_hosts'] is not set: a gateway's "
            "target_base_endpoint and its routes' integration URLs may name any host, which "
            "then receives every $connect with the browser's cookies.",
            hint="Set it to this site's host names, e.g. "
            "WEBSOCKETS = {'allowed_integration_hosts': ['example.com', '*.example.com']}.",
            id=f"{ID}.W030",
        )
    ]


@register(Tags.security, deploy=True)
def check_gateway_secrets(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[Error]:
    """``check --deploy``: every gateway in AWS needs a secret that AWS is known to send.

    A deployment check only, so neither ``check`` nor ``migrate`` (which an upgrading site
    runs to get its secrets) is ever blocked by it. It reads the named databases, else the
    default one, and skips a database it cannot read (not migrated yet, not reachable, or
    blocked, as pytest-django blocks it outside database tests).
    """
    if app_settings.gateway_secrets or legacy_secrets():
        return []  # every gateway's events need a shared secret
    errors: list[Error] = []
    for alias in databases or [DEFAULT_DB_ALIAS]:
        try:
            names = [
                f"{name} (pk {pk})"
                for pk, name in ApiGateway.objects.using(alias)
                .exclude(api_id="")
                .filter(gateway_secret="")
                .order_by("pk")
                .values_list("pk", "api_name")
            ]
        except (DatabaseError, RuntimeError):  # RuntimeError: database access blocked (tests)
            continue
        if names:
            outcome = (
                "their events are accepted from anyone (WEBSOCKETS['allow_unsigned_events'])"
                if app_settings.allow_unsigned_events
                else "their events are refused"
            )
            errors.append(
                Error(
                    f"API Gateway(s) that AWS sends no gateway secret to: {', '.join(names)}; "
                    f"{outcome}.",
                    hint="Run 'manage.py updateApiGatewayIntegrations --pk N' (or the admin "
                    "action 'Sync to AWS') for each: it gives AWS the gateway's secret and "
                    "records it once deployed.",
                    id=f"{ID}.E009",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_unsigned_events(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``check --deploy``: a project that opts out of gateway secrets hears about it."""
    if app_settings.user_settings.get("allow_unsigned_events") is not True:
        return []
    return [
        Warning(
            "WEBSOCKETS['allow_unsigned_events'] is True: gateways that AWS sends no secret "
            "to accept events from anyone who can reach the WebSocket views.",
            hint="Give every gateway its secret (manage.py updateApiGatewayIntegrations) and "
            "remove the setting.",
            id=f"{ID}.W020",
        )
    ]


def _lease_errors() -> list[Error]:
    lease, renew = app_settings.delivery_lease_seconds, app_settings.delivery_lease_renew_seconds
    if renew * 2 > lease:
        return [
            Error(
                f"WEBSOCKETS['delivery_lease_renew_seconds'] ({renew}) must be at most half of "
                f"'delivery_lease_seconds' ({lease}): a lease renewed late is taken over while "
                "its work still runs.",
                id=f"{ID}.E011",
            )
        ]
    return []

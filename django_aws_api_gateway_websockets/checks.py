"""System checks for the app's settings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from .aws.credentials import credentials_source
from .aws.factory import is_loopback
from .conf import AppSettings, app_settings
from .models import ApiGateway
from .tasks import DELIVERY_OPTIONS

ID = "django_aws_api_gateway_websockets"

TRANSPORTS = ("direct", "boto3")
HEADER_SETTINGS = ("gateway_secret_header", "api_id_header", "source_ip_header")
# An HTTP token (RFC 9110, section 5.1), as API Gateway's header mappings need.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
DECLARED = AppSettings.declared()
# Zero is meaningful for these: no grace retry for brand-new connections.
NON_NEGATIVE = {"gone_grace_seconds"}
NUMBERS = [
    key
    for key, setting in DECLARED.items()
    if isinstance(setting.default, int | float) and not isinstance(setting.default, bool)
]


def _number_error(key: str, value: Any) -> Error | None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and (value > 0 or (value == 0 and key in NON_NEGATIVE)):
        return None
    kind = "a non-negative" if key in NON_NEGATIVE else "a positive"
    return Error(f"WEBSOCKETS[{key!r}] must be {kind} number, not {value!r}.", id=f"{ID}.E003")


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    errors: list[Error | Warning] = []
    raw = getattr(settings, "WEBSOCKETS", {})
    if not isinstance(raw, dict):
        return [Error("WEBSOCKETS must be a dict.", id=f"{ID}.E001")]
    for key in sorted(set(raw) - set(DECLARED)):
        errors.append(
            Error(
                f"WEBSOCKETS has an unknown key {key!r}.",
                hint=f"Known keys: {', '.join(sorted(DECLARED))}.",
                id=f"{ID}.E002",
            )
        )
    number_errors = [e for key in NUMBERS if (e := _number_error(key, getattr(app_settings, key)))]
    errors.extend(number_errors or _lease_errors())
    secrets = app_settings.gateway_secrets
    if not isinstance(secrets, list | tuple) or not all(isinstance(s, str) and s for s in secrets):
        errors.append(
            Error(
                "WEBSOCKETS['gateway_secrets'] must be a list of non-empty strings.",
                id=f"{ID}.E004",
            )
        )
    for key in HEADER_SETTINGS:
        header = getattr(app_settings, key)
        if not isinstance(header, str) or not HEADER_NAME.fullmatch(header):
            errors.append(Error(f"WEBSOCKETS[{key!r}] must be a header name.", id=f"{ID}.E005"))
    if not isinstance(app_settings.push_changes_to_aws, bool):
        errors.append(
            Error("WEBSOCKETS['push_changes_to_aws'] must be True or False.", id=f"{ID}.E008")
        )
    endpoint = app_settings.management_endpoint
    try:
        endpoint.format(api_id="a", region="r", stage="s")
    except (AttributeError, KeyError, IndexError, ValueError):
        errors.append(
            Error(
                "WEBSOCKETS['management_endpoint'] must be a URL template using only "
                "{api_id}, {region} and {stage}.",
                id=f"{ID}.E006",
            )
        )
    transport = app_settings.delivery_transport
    if transport not in TRANSPORTS:
        errors.append(
            Error(
                f"WEBSOCKETS['delivery_transport'] must be one of {', '.join(TRANSPORTS)}, "
                f"not {transport!r}.",
                id=f"{ID}.E007",
            )
        )
    hosts = app_settings.allowed_integration_hosts
    if hosts is not None and not all(
        isinstance(h, str) and h for h in (hosts if isinstance(hosts, list | tuple) else [hosts])
    ):
        errors.append(
            Error(
                "WEBSOCKETS['allowed_integration_hosts'] must be a host name or a list of them.",
                id=f"{ID}.E010",
            )
        )
    if not app_settings.aws_region:
        errors.append(
            Warning(
                "Neither AWS_GATEWAY_REGION_NAME nor AWS_REGION_NAME is set; sends will fail.",
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


@register(Tags.security, Tags.database)
def check_gateway_secrets(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[Error]:
    """Outside DEBUG, every provisioned gateway needs a secret, its own or a shared one.

    A database check, as Django's own: it runs only when databases are named (``migrate``,
    ``check --database default``), so a plain ``manage.py check`` in CI, or a test suite
    whose records are made by hand (``api_created=True``, no AWS), never reads them.
    """
    if not databases or settings.DEBUG or app_settings.gateway_secrets:
        return []
    errors: list[Error] = []
    for alias in databases:
        try:
            names = list(
                ApiGateway.objects.using(alias)
                .filter(api_created=True, gateway_secret="")
                .values_list("api_name", flat=True)[:10]
            )
        except DatabaseError:  # not migrated yet: nothing provisioned to check
            continue
        if names:
            errors.append(
                Error(
                    f"API Gateway(s) without a gateway secret: {', '.join(names)}. Anyone who "
                    "can reach the WebSocket views could forge their events.",
                    hint="Run 'manage.py updateApiGatewayIntegrations --pk N' (or the admin "
                    "action 'Sync to AWS') to give each its own secret, or set "
                    "WEBSOCKETS['gateway_secrets'].",
                    id=f"{ID}.E009",
                )
            )
    return errors


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


@register(Tags.compatibility)
def check_channel_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """``channel_history`` and ``presence_channels`` (docs/channels.md, "Settings")."""
    errors: list[Error] = []
    policies = app_settings.channel_history
    if not isinstance(policies, dict) or not all(
        isinstance(pattern, str) and _is_history_policy(policy)
        for pattern, policy in policies.items()
    ):
        errors.append(
            Error(
                "WEBSOCKETS['channel_history'] must map channel patterns to "
                "{'size': <int >= 0>, 'age_seconds': <number > 0>}.",
                hint='For example {"room-*": {"size": 100, "age_seconds": 300}}.',
                id=f"{ID}.E070",
            )
        )
    patterns = app_settings.presence_channels
    if not isinstance(patterns, list | tuple) or not all(
        isinstance(p, str) and p for p in patterns
    ):
        errors.append(
            Error(
                "WEBSOCKETS['presence_channels'] must be a list of channel patterns.",
                hint='For example ["room-*"]; an empty list sends no presence events.',
                id=f"{ID}.E071",
            )
        )
    return errors


def _is_history_policy(policy: Any) -> bool:
    if not isinstance(policy, dict) or set(policy) != {"size", "age_seconds"}:
        return False
    size, age = policy["size"], policy["age_seconds"]
    return (
        isinstance(size, int)
        and not isinstance(size, bool)
        and size >= 0
        and isinstance(age, int | float)
        and not isinstance(age, bool)
        and age > 0
    )

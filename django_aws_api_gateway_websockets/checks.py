"""System checks for the app's settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import AppSettings, app_settings
from .tasks import DELIVERY_OPTIONS

ID = "django_aws_api_gateway_websockets"

TRANSPORTS = ("direct", "boto3")
DECLARED = AppSettings.declared()
POSITIVE_NUMBERS = [
    key
    for key, setting in DECLARED.items()
    if isinstance(setting.default, int | float) and not isinstance(setting.default, bool)
]


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
    for key in POSITIVE_NUMBERS:
        value = getattr(app_settings, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            errors.append(
                Error(
                    f"WEBSOCKETS[{key!r}] must be a positive number, not {value!r}.",
                    id=f"{ID}.E003",
                )
            )
    secrets = app_settings.gateway_secrets
    if not isinstance(secrets, list | tuple) or not all(isinstance(s, str) and s for s in secrets):
        errors.append(
            Error(
                "WEBSOCKETS['gateway_secrets'] must be a list of non-empty strings.",
                id=f"{ID}.E004",
            )
        )
    header = app_settings.gateway_secret_header
    if not isinstance(header, str) or not header:
        errors.append(
            Error("WEBSOCKETS['gateway_secret_header'] must be a header name.", id=f"{ID}.E005")
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
                id=f"{ID}.E008",
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
    if (visibility or 3600) >= app_settings.delivery_stall_seconds:
        errors.append(
            Warning(
                "WEBSOCKETS['delivery_stall_seconds'] should exceed the broker visibility timeout, "
                "or stalled batches are resumed while Redis still holds their message.",
                id=f"{ID}.W003",
            )
        )
    return errors

"""System checks for the app's settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULTS, app_settings

ID = "django_aws_api_gateway_websockets"

TRANSPORTS = ("direct", "boto3")
POSITIVE_NUMBERS = [key for key, value in DEFAULTS.items() if isinstance(value, int | float)]


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    errors: list[Error | Warning] = []
    raw = getattr(settings, "WEBSOCKETS", {})
    if not isinstance(raw, dict):
        return [Error("WEBSOCKETS must be a dict.", id=f"{ID}.E001")]
    for key in sorted(set(raw) - set(DEFAULTS)):
        errors.append(
            Error(
                f"WEBSOCKETS has an unknown key {key!r}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id=f"{ID}.E002",
            )
        )
    for key in POSITIVE_NUMBERS:
        value = app_settings.user_settings.get(key, DEFAULTS[key])
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            errors.append(
                Error(
                    f"WEBSOCKETS[{key!r}] must be a positive number, not {value!r}.",
                    id=f"{ID}.E003",
                )
            )
    secrets = app_settings.GATEWAY_SECRETS
    if not isinstance(secrets, list | tuple) or not all(isinstance(s, str) and s for s in secrets):
        errors.append(
            Error(
                "WEBSOCKETS['gateway_secrets'] must be a list of non-empty strings.",
                id=f"{ID}.E004",
            )
        )
    header = app_settings.GATEWAY_SECRET_HEADER
    if not isinstance(header, str) or not header:
        errors.append(
            Error("WEBSOCKETS['gateway_secret_header'] must be a header name.", id=f"{ID}.E005")
        )
    endpoint = app_settings.MANAGEMENT_ENDPOINT
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
    transport = app_settings.DELIVERY_TRANSPORT
    if transport not in TRANSPORTS:
        errors.append(
            Error(
                f"WEBSOCKETS['delivery_transport'] must be one of {', '.join(TRANSPORTS)}, "
                f"not {transport!r}.",
                id=f"{ID}.E007",
            )
        )
    if not app_settings.AWS_REGION:
        errors.append(
            Warning(
                "Neither AWS_GATEWAY_REGION_NAME nor AWS_REGION_NAME is set; sends will fail.",
                id=f"{ID}.W001",
            )
        )
    visibility = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get(
        "visibility_timeout"
    )
    from .tasks import DELIVERY_OPTIONS

    needed = DELIVERY_OPTIONS["time_limit"] + app_settings.DELIVERY_RETRY_MAX_SECONDS
    if visibility is not None and visibility <= needed:
        errors.append(
            Warning(
                f"CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] ({visibility}s) is not "
                f"above the delivery time limit plus the longest retry delay ({needed}s): "
                "Redis would hand running deliveries to a second worker.",
                id=f"{ID}.W002",
            )
        )
    if (visibility or 3600) >= app_settings.DELIVERY_STALL_SECONDS:
        errors.append(
            Warning(
                "WEBSOCKETS['delivery_stall_seconds'] should exceed the broker visibility timeout, "
                "or stalled batches are resumed while Redis still holds their message.",
                id=f"{ID}.W003",
            )
        )
    return errors

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


def _lease_errors() -> list[Error]:
    lease, renew = app_settings.delivery_lease_seconds, app_settings.delivery_lease_renew_seconds
    if renew * 2 > lease:
        return [
            Error(
                f"WEBSOCKETS['delivery_lease_renew_seconds'] ({renew}) must be at most half of "
                f"'delivery_lease_seconds' ({lease}): a lease renewed late is taken over while "
                "its work still runs.",
                id=f"{ID}.E008",
            )
        ]
    return []

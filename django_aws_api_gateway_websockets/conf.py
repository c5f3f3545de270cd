"""Every setting the app reads, with its default, in one place.

Settings are read on each access so that ``override_settings`` and pytest-django's
``settings`` fixture take effect at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Connect tokens
    "token_expiry_seconds": 60,
    "token_rate_limit_per_minute": 20,
    # Connection rate limiting
    "rate_limit_max_attempts": 20,
    "rate_limit_window_minutes": 5,
    # A shared secret API Gateway adds to every integration request
    "gateway_secret_header": "X-Gateway-Secret",
    "gateway_secrets": [],
    # Where the Management API is reached
    "management_endpoint": "https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
    # Delivery engine
    "delivery_batch_size": 500,
    "delivery_concurrency": 32,
    "delivery_max_attempts": 5,
    "delivery_retry_base_seconds": 1.0,
    "delivery_retry_max_seconds": 30.0,
    "delivery_timeout_seconds": 10.0,
    # "direct": sign and post without botocore's per-call pipeline; "boto3": client calls
    "delivery_transport": "direct",
    "gone_grace_seconds": 5,
    "delivery_stall_seconds": 3900,
    # Periodic cleanup
    "cleanup_batch_size": 1000,
    "connection_max_age_seconds": 7200,
    "token_max_age_seconds": 300,
    "rate_limit_retention_days": 7,
    "report_retention_days": 7,
}

# API Gateway refuses frames over 128 KB; this is AWS's limit, not a preference.
MAX_MESSAGE_BYTES = 128 * 1024


class AppSettings:
    """Read ``settings.WEBSOCKETS`` and the ``AWS_*`` names with defaults."""

    def __getattr__(self, name: str) -> Any:
        key = name.lower()
        if key not in DEFAULTS:
            raise AttributeError(name)
        return self.user_settings.get(key, DEFAULTS[key])

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "WEBSOCKETS", None)
        return value if isinstance(value, dict) else {}

    @property
    def AWS_IAM_PROFILE(self) -> str | None:
        return getattr(settings, "AWS_IAM_PROFILE", None) or None

    @property
    def AWS_ACCESS_KEY_ID(self) -> str | None:
        return getattr(settings, "AWS_ACCESS_KEY_ID", None) or None

    @property
    def AWS_SECRET_ACCESS_KEY(self) -> str | None:
        return getattr(settings, "AWS_SECRET_ACCESS_KEY", None) or None

    @property
    def AWS_REGION(self) -> str | None:
        return (
            getattr(settings, "AWS_GATEWAY_REGION_NAME", None)
            or getattr(settings, "AWS_REGION_NAME", None)
            or None
        )


app_settings = AppSettings()

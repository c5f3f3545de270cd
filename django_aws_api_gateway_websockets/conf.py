"""Every setting the app reads, with its default, in one place.

``app_settings.<key>`` is ``settings.WEBSOCKETS[key]`` when given, else the default declared
here. Settings are read on each access, so ``override_settings`` and pytest-django's
``settings`` fixture take effect at once. The system checks validate the same declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from django.conf import settings

T = TypeVar("T")

# API Gateway refuses messages over 128 KB; this is AWS's limit, not a preference.
MAX_MESSAGE_BYTES = 128 * 1024

# The default Celery queues of the app's tasks (``-Q`` of the workers that consume them).
DELIVERY_QUEUE = "websockets.delivery"
MAINTENANCE_QUEUE = "websockets.maintenance"


# The header 4.x's integrations carry the secret in (its ``gateway_secret`` key).
LEGACY_SECRET_HEADER = "X-Ws-Gateway-Secret"


class Setting(Generic[T]):
    """One key of ``settings.WEBSOCKETS`` and its default.

    ``legacy`` names a 4.x key this one is derived from when only that key is given, and how.
    """

    def __init__(self, default: T, legacy: tuple[str, Callable[[Any], T]] | None = None) -> None:
        self.default = default
        self.legacy = legacy
        self.key = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = name

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...

    @overload
    def __get__(self, instance: AppSettings, owner: type) -> T: ...

    def __get__(self, instance: AppSettings | None, owner: type) -> T | Setting[T]:
        if instance is None:
            return self
        given = instance.user_settings
        if self.key in given:
            return given[self.key]
        if self.legacy and self.legacy[0] in given:
            key, derive = self.legacy
            return derive(given[key])
        return self.default


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


class AppSettings:
    """``settings.WEBSOCKETS`` with defaults, and the top-level ``AWS_*`` settings of 4.x."""

    # Connect tokens
    token_expiry_seconds = Setting(60)
    token_rate_limit_per_minute = Setting(20)
    # Connection rate limiting
    rate_limit_max_attempts = Setting(20)
    rate_limit_window_minutes = Setting(5)
    # A shared secret API Gateway adds to every integration request. 4.x's single key,
    # ``gateway_secret`` (a secret or a list), stands for both when they are not given.
    gateway_secret_header = Setting(
        "X-Gateway-Secret", legacy=("gateway_secret", lambda _: LEGACY_SECRET_HEADER)
    )
    gateway_secrets: Setting[list[str]] = Setting([], legacy=("gateway_secret", _as_list))
    gateway_secret: Setting[str | list[str] | None] = Setting(None)
    # Hosts integrations may point at (4.x): None for any; "*.example.com" for subdomains
    allowed_integration_hosts: Setting[str | list[str] | None] = Setting(None)
    # Headers every integration maps from API Gateway's context (context.apiId and
    # context.identity.sourceIp; aws/integrations.py), so no client can set them
    api_id_header = Setting("X-Gateway-Api-Id")
    source_ip_header = Setting("X-Source-Ip")
    # 4.x: saving a deployed gateway or route also changes it in AWS
    push_changes_to_aws = Setting(True)
    # Where the Management API is reached
    management_endpoint = Setting("https://{api_id}.execute-api.{region}.amazonaws.com/{stage}")
    # Delivery engine
    delivery_batch_size = Setting(500)
    delivery_concurrency = Setting(32)
    delivery_max_attempts = Setting(5)
    delivery_retry_base_seconds = Setting(1.0)
    delivery_retry_max_seconds = Setting(30.0)
    delivery_timeout_seconds = Setting(10.0)
    # "direct": sign and post without botocore's per-call pipeline; "boto3": client calls
    delivery_transport = Setting("direct")
    gone_grace_seconds = Setting(5)
    # Leases on work in progress: held this long, renewed this often while the work runs;
    # recovery takes over work whose lease expired (a dead worker, a lost message).
    delivery_lease_seconds = Setting(30.0)
    delivery_lease_renew_seconds = Setting(5.0)
    # Outcomes recorded at least every this many posts, so a takeover repeats few.
    delivery_progress_every = Setting(50)
    # The Redis of shared state (rate limiter, history, presence); None: CELERY_BROKER_URL
    redis_url: Setting[str | None] = Setting(None)
    # Channels (docs/channels.md): history kept per channel pattern (first match wins),
    # presence events for the channels matching these patterns (opt-in), and the member
    # count beyond which they carry only counts (the first change of each interval at once,
    # the rest once at its end).
    channel_history: Setting[dict[str, dict[str, float]]] = Setting(
        {"*": {"size": 100, "age_seconds": 300}}
    )
    presence_channels: Setting[list[str]] = Setting([])
    # Channels one connection may subscribe to with the client action, besides its first
    max_channels_per_connection = Setting(100)
    presence_member_cap = Setting(100)
    presence_count_interval_seconds = Setting(2.0)
    # Celery queues: fan-out, and cleanup/resumption, each on its own
    delivery_queue = Setting(DELIVERY_QUEUE)
    maintenance_queue = Setting(MAINTENANCE_QUEUE)
    # Periodic cleanup
    cleanup_batch_size = Setting(1000)
    connection_max_age_seconds = Setting(7200)
    token_max_age_seconds = Setting(300)
    rate_limit_retention_days = Setting(7)
    report_retention_days = Setting(7)

    @classmethod
    def declared(cls) -> dict[str, Setting[Any]]:
        """Every ``WEBSOCKETS`` key, with its declaration."""
        return {name: value for name, value in vars(cls).items() if isinstance(value, Setting)}

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "WEBSOCKETS", None)
        return value if isinstance(value, dict) else {}

    @property
    def aws_iam_profile(self) -> str | None:
        return getattr(settings, "AWS_IAM_PROFILE", None) or None

    @property
    def aws_access_key_id(self) -> str | None:
        return getattr(settings, "AWS_ACCESS_KEY_ID", None) or None

    @property
    def aws_secret_access_key(self) -> str | None:
        return getattr(settings, "AWS_SECRET_ACCESS_KEY", None) or None

    @property
    def aws_region(self) -> str | None:
        return (
            getattr(settings, "AWS_GATEWAY_REGION_NAME", None)
            or getattr(settings, "AWS_REGION_NAME", None)
            or None
        )


app_settings = AppSettings()


def integration_hosts() -> list[str] | None:
    """``allowed_integration_hosts`` as lower-case host patterns; None when any host will do."""
    hosts = app_settings.allowed_integration_hosts
    if hosts is None:
        return None
    return [str(host).strip().lower() for host in _as_list(hosts)]


# 4.x's readers, for code written against them.


def get_setting(name: str) -> Any:
    return getattr(app_settings, name)


get_boolean_setting = get_setting
get_allowed_integration_hosts = integration_hosts


def get_websockets_config() -> dict[str, Any]:
    return app_settings.user_settings

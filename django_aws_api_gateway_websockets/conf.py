"""Every setting the app reads, with its default, in one place.

``app_settings.<key>`` is ``settings.WEBSOCKETS[key]`` when given, else the default declared
here. Settings are read on each access, so ``override_settings`` and pytest-django's
``settings`` fixture take effect at once. The system checks validate the same declarations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar, overload

from django.conf import settings

T = TypeVar("T")

# API Gateway refuses messages over 128 KB; this is AWS's limit, not a preference.
MAX_MESSAGE_BYTES = 128 * 1024

# The default Celery queues of the app's tasks (``-Q`` of the workers that consume them).
DELIVERY_QUEUE = "websockets.delivery"
MAINTENANCE_QUEUE = "websockets.maintenance"
# The fast lane: every send's planning, and the whole of a send that fits in one batch.
REALTIME_QUEUE = "websockets.realtime"


# The header 4.x's integrations carry the secret in (its ``gateway_secret`` key).
LEGACY_SECRET_HEADER = "X-Ws-Gateway-Secret"


Validator = Callable[[Any], bool]


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def non_negative(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def optional_positive(value: Any) -> bool:
    return value is None or positive(value)


def boolean(value: Any) -> bool:
    return isinstance(value, bool)


def text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def optional_text(value: Any) -> bool:
    return value is None or text(value)


# An HTTP token (RFC 9110, section 5.1), as API Gateway's header mappings need.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def header_name(value: Any) -> bool:
    return isinstance(value, str) and HEADER_NAME.fullmatch(value) is not None


def endpoint_template(value: Any) -> bool:
    try:
        value.format(api_id="a", region="r", stage="s")
    except (AttributeError, KeyError, IndexError, ValueError):
        return False
    return True


def host_names(value: Any) -> bool:
    """None (any host), a host name, or a list of them (an empty list: any host, as 4.x)."""
    return (
        value is None or text(value) or (isinstance(value, list | tuple) and all(map(text, value)))
    )


def history_policies(value: Any) -> bool:
    """``channel_history``: channel patterns mapped to ``{"size": n >= 0, "age_seconds": > 0}``."""
    return isinstance(value, dict) and all(
        isinstance(pattern, str) and _history_policy(policy) for pattern, policy in value.items()
    )


def _history_policy(policy: Any) -> bool:
    if not isinstance(policy, dict) or set(policy) != {"size", "age_seconds"}:
        return False
    size = policy["size"]
    return (
        isinstance(size, int)
        and not isinstance(size, bool)
        and size >= 0
        and positive(policy["age_seconds"])
    )


def channel_patterns(value: Any) -> bool:
    """``presence_channels``: a list of non-empty channel patterns."""
    return isinstance(value, list | tuple) and all(isinstance(p, str) and p for p in value)


def one_of(*choices: str) -> Validator:
    return lambda value: value in choices


class Setting(Generic[T]):
    """One key of ``settings.WEBSOCKETS`` and its default.

    ``legacy`` names a 4.x key this one is derived from when only that key is given, and how.
    ``valid`` accepts a value (``expected`` says what it wants, for the system check); a
    number's default makes it ``positive`` unless told otherwise, a boolean's ``boolean``.
    A value it refuses is never used: the default is, as in 4.x, and the checks say so.
    """

    def __init__(
        self,
        default: T,
        legacy: tuple[str, Callable[[Any], T]] | None = None,
        *,
        valid: Validator | None = None,
        expected: str = "",
    ) -> None:
        self.default = default
        self.legacy = legacy
        self.key = ""
        if valid is None and isinstance(default, bool):
            valid, expected = boolean, "True or False"
        elif valid is None and isinstance(default, int | float):
            valid, expected = positive, "a positive number"
        self.valid = valid
        self.expected = expected

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = name

    @overload
    def __get__(self, instance: None, owner: type[AppSettings]) -> Setting[T]: ...

    @overload
    def __get__(self, instance: AppSettings, owner: type[AppSettings]) -> T: ...

    def __get__(self, instance: AppSettings | None, owner: type[AppSettings]) -> T | Setting[T]:
        if instance is None:
            return self
        given, value = self.given(instance.user_settings)
        if given and self.accepts(value):
            return value
        return owner.default_overrides.get(self.key, self.default)

    def given(self, user_settings: dict[str, Any]) -> tuple[bool, Any]:
        """Whether the project set this key (or its 4.x key), and the value it set."""
        if self.key in user_settings:
            return True, user_settings[self.key]
        if self.legacy and self.legacy[0] in user_settings:
            key, derive = self.legacy
            return True, derive(user_settings[key])
        return False, None

    def accepts(self, value: Any) -> bool:
        return self.valid is None or bool(self.valid(value))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


class AppSettings:
    """``settings.WEBSOCKETS`` with defaults, and the top-level ``AWS_*`` settings of 4.x."""

    # Defaults changed for the whole process by a test harness (the pytest plugin); what
    # ``WEBSOCKETS`` gives still wins, and the declared defaults stay as documented.
    default_overrides: ClassVar[dict[str, Any]] = {}

    # Connect tokens
    token_expiry_seconds = Setting(60)
    token_rate_limit_per_minute = Setting(20)
    # Connection rate limiting
    rate_limit_max_attempts = Setting(20)
    rate_limit_window_minutes = Setting(5)
    # The header API Gateway carries each gateway's own secret in, and shared secrets
    # accepted in it for every gateway.
    gateway_secret_header = Setting("X-Gateway-Secret", valid=header_name, expected="a header name")
    gateway_secrets: Setting[list[str]] = Setting([])
    # 4.x's key (a secret or a list): while it is set, it is accepted in 4.x's header
    # (``LEGACY_SECRET_HEADER``) and every integration carries its first secret there too,
    # so 4.x processes of a mixed or rolled-back fleet keep accepting events.
    gateway_secret: Setting[str | list[str] | None] = Setting(None)
    # Accept events that carry no secret for gateways AWS sends none to yet. Off: such
    # events are refused. The pytest plugin turns it on for test sessions.
    allow_unsigned_events = Setting(False)
    # Hosts integrations may point at (4.x): None for any; "*.example.com" for subdomains
    allowed_integration_hosts: Setting[str | list[str] | None] = Setting(
        None, valid=host_names, expected="a host name or a list of them"
    )
    # Headers every integration maps from API Gateway's context (context.apiId and
    # context.identity.sourceIp; aws/integrations.py), so no client can set them
    api_id_header = Setting("X-Gateway-Api-Id", valid=header_name, expected="a header name")
    source_ip_header = Setting("X-Source-Ip", valid=header_name, expected="a header name")
    # 4.x: saving a deployed gateway or route also changes it in AWS
    push_changes_to_aws = Setting(True)
    # Where the Management API is reached
    management_endpoint = Setting(
        "https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
        valid=endpoint_template,
        expected="a URL template using only {api_id}, {region} and {stage}",
    )
    # Delivery engine
    delivery_batch_size = Setting(500)
    delivery_concurrency = Setting(32)
    delivery_max_attempts = Setting(5)
    delivery_retry_base_seconds = Setting(1.0)
    delivery_retry_max_seconds = Setting(30.0)
    delivery_timeout_seconds = Setting(10.0)
    # "direct": sign and post without botocore's per-call pipeline; "boto3": client calls
    delivery_transport = Setting(
        "direct", valid=one_of("direct", "boto3"), expected="'direct' or 'boto3'"
    )
    gone_grace_seconds = Setting(5, valid=non_negative, expected="a non-negative number")
    # Leases on work in progress: held this long, renewed this often while the work runs;
    # recovery takes over work whose lease expired (a dead worker, a lost message).
    delivery_lease_seconds = Setting(30.0)
    delivery_lease_renew_seconds = Setting(5.0)
    # Outcomes recorded at least every this many posts, so a takeover repeats few.
    delivery_progress_every = Setting(50)
    # Throttling (429) never fails a recipient before its send is this old; the attempt
    # count (delivery_max_attempts) bounds real errors only (5xx, network).
    delivery_deadline_seconds = Setting(900.0, valid=non_negative, expected="a non-negative number")
    # One budget of posts per AWS account and Region, shared by every worker on every host
    # (delivery/budget.py). AWS allows an account 10,000 requests/s, burst 5,000, for all its
    # REST, HTTP and WebSocket APIs and @connections calls together ("Amazon API Gateway
    # quotas"); the defaults leave most of it to the account's other APIs. None: no limit.
    post_rate_limit: Setting[float | None] = Setting(
        2000.0, valid=optional_positive, expected="a positive number or None"
    )
    post_rate_burst = Setting(1000)
    # What the budget is keyed on besides the Region; None: the AWS access key id in use.
    post_rate_key: Setting[str | None] = Setting(
        None, valid=optional_text, expected="a name or None"
    )
    # The Redis of shared state (rate limiter, history, presence); None: CELERY_BROKER_URL
    redis_url: Setting[str | None] = Setting(None, valid=optional_text, expected="a URL or None")
    # Channels (docs/channels.md): history kept per channel pattern (first match wins),
    # presence events for the channels matching these patterns (opt-in), and the member
    # count beyond which they carry only counts (the first change of each interval at once,
    # the rest once at its end).
    channel_history: Setting[dict[str, dict[str, float]]] = Setting(
        {"*": {"size": 100, "age_seconds": 300}},
        valid=history_policies,
        expected="a dict of channel patterns to {'size': <int >= 0>, 'age_seconds': <number > 0>}",
    )
    presence_channels: Setting[list[str]] = Setting(
        [], valid=channel_patterns, expected="a list of channel patterns"
    )
    # Channels one connection may subscribe to with the client action, besides its first
    max_channels_per_connection = Setting(100)
    presence_member_cap = Setting(100)
    presence_count_interval_seconds = Setting(2.0)
    # Celery queues: fan-out (the bulk lane), the fast lane, and cleanup/resumption
    delivery_queue = Setting(DELIVERY_QUEUE, valid=text, expected="a queue name")
    realtime_queue = Setting(REALTIME_QUEUE, valid=text, expected="a queue name")
    maintenance_queue = Setting(MAINTENANCE_QUEUE, valid=text, expected="a queue name")
    # Threads of the fast-lane worker that ``celery -A worker worker`` (prefork) starts
    # beside its pool, so that bulk batches holding every pool process never delay a small
    # send (worker/lanes.py); 0: none, the lane is left to workers started with -Q.
    realtime_lane_threads = Setting(4, valid=non_negative, expected="a non-negative number")
    # Periodic cleanup
    cleanup_batch_size = Setting(1000)
    connection_max_age_seconds = Setting(7200)
    # Connected sessions with no event for this long are asked about (GetConnection) by the
    # probe_connections task, so one whose $disconnect never came leaves presence.
    presence_probe_idle_seconds = Setting(300, valid=positive, expected="a positive number")
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


def legacy_secrets() -> list[str]:
    """4.x's ``WEBSOCKETS["gateway_secret"]`` as a list of its non-empty secrets."""
    configured = app_settings.gateway_secret
    if configured is None:
        return []
    return [secret for secret in _as_list(configured) if isinstance(secret, str) and secret]


def package_queues() -> list[str]:
    """Every Celery queue the app's tasks publish to, the fast lane first (workers that take
    queues in order serve it first): workers must consume them all.

    Workers started without ``-Q`` add them (``tasks.consume_package_queues``); with ``-Q``
    they name those they leave out.
    """
    return list(
        dict.fromkeys(
            [
                app_settings.realtime_queue,
                app_settings.delivery_queue,
                app_settings.maintenance_queue,
            ]
        )
    )


def integration_hosts() -> list[str] | None:
    """``allowed_integration_hosts`` as lower-case host patterns; None when any host will do
    (unset, or an empty list, as in 4.x)."""
    hosts = app_settings.allowed_integration_hosts
    if not hosts:
        return None
    return [str(host).strip().lower() for host in _as_list(hosts)]


def invalid_settings() -> list[tuple[str, Any, Setting[Any]]]:
    """Each ``WEBSOCKETS`` key set to a value its ``Setting`` refuses (the default is used)."""
    given = app_settings.user_settings
    found = []
    for key, setting in AppSettings.declared().items():
        present, value = setting.given(given)
        if present and not setting.accepts(value):
            found.append((key, value, setting))
    return found


# 4.x's readers, for code written against them.


def get_setting(name: str) -> Any:
    return getattr(app_settings, name)


get_boolean_setting = get_setting
get_allowed_integration_hosts = integration_hosts


def get_websockets_config() -> dict[str, Any]:
    return app_settings.user_settings

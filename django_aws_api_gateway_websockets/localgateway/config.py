"""Settings for one local stand-in of an API Gateway WebSocket API."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..boto3_factory import LOCAL_KEY

# API Gateway only accepts these characters in stage names; holding the local
# gateway to the same rule also keeps the stage safe to use as a literal URL segment.
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def check_rate(name: str, value: float) -> float:
    """Return ``value`` as a float if it is a fraction in [0, 1], else raise ValueError."""
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return rate


@dataclass
class GatewayConfig:
    """What the local gateway needs to know to behave like one deployed API stage.

    ``target_base_url`` is where ``connect``, ``disconnect`` and ``default`` are appended,
    so it always ends with a slash. ``routes`` maps additional route keys to the
    integration URL each one forwards to; ``routes_without_response`` names those of them
    that have no route response, whose replies API Gateway drops.

    ``enable_controls`` opens what AWS does not have: the ``/@local/*`` control API
    (faults, statistics, the last message of any connection) and Management API calls
    without a SigV4 signature. Tests and benchmarks turn it on; nothing else should.
    Otherwise every Management API call must be signed with ``access_key_id`` and
    ``secret_access_key`` (``local``/``local`` unless given), as AWS checks IAM signatures.
    """

    api_id: str
    stage: str
    target_base_url: str
    routes: dict[str, str] = field(default_factory=dict)
    routes_without_response: frozenset[str] = frozenset()
    host: str = "127.0.0.1"
    port: int = 8001
    secret_header: str | None = None
    secret: str | None = None
    # The headers the integrations map from context.apiId and context.identity.sourceIp.
    api_id_header: str = "X-Gateway-Api-Id"
    source_ip_header: str = "X-Source-Ip"
    enable_controls: bool = False
    idle_timeout: float = 600.0
    max_lifetime: float = 7200.0
    latency_ms: float = 0.0
    throttle_rate: float = 0.0
    gone_rate: float = 0.0
    route_selection_key: str = "action"
    # API Gateway closes a connection (1009) on a client frame over 32 KB; a message of
    # several frames, and a Management API payload, may reach 128 KB.
    max_frame_bytes: int = 32768
    max_message_bytes: int = 131072
    # API Gateway gives an integration at most 29 seconds to answer.
    integration_timeout: float = 29.0
    # Seeds the random draws behind throttle_rate / gone_rate so runs can be repeated.
    seed: int | None = None
    # The keys Management API calls must be signed with (the app's clients sign loopback
    # calls with LOCAL_KEY when the project's settings give no keys).
    access_key_id: str = LOCAL_KEY
    secret_access_key: str = field(default=LOCAL_KEY, repr=False)

    def __post_init__(self) -> None:
        if not self.api_id:
            raise ValueError("api_id must not be empty")
        if not (self.access_key_id and self.secret_access_key):
            raise ValueError("access_key_id and secret_access_key must not be empty")
        if not _STAGE_NAME.fullmatch(self.stage or ""):
            raise ValueError(f"stage must match [A-Za-z0-9_-]+, got {self.stage!r}")
        if not self.target_base_url:
            raise ValueError("target_base_url must not be empty")
        if not self.target_base_url.endswith("/"):
            self.target_base_url += "/"
        # Copy so a caller's dict changing later cannot change routing under us.
        self.routes = dict(self.routes)
        self.routes_without_response = frozenset(self.routes_without_response)
        unknown = sorted(self.routes_without_response - set(self.routes))
        if unknown:
            raise ValueError(f"routes_without_response names unknown routes: {', '.join(unknown)}")
        for name in ("idle_timeout", "max_lifetime", "integration_timeout"):
            if float(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.max_message_bytes <= 0 or self.max_frame_bytes <= 0:
            raise ValueError("max_message_bytes and max_frame_bytes must be positive")
        self.throttle_rate = check_rate("throttle_rate", self.throttle_rate)
        self.gone_rate = check_rate("gone_rate", self.gone_rate)

    def secret_for(self, access_key_id: str) -> str | None:
        """The secret access key of ``access_key_id``; None for a key this gateway does not know."""
        return self.secret_access_key if access_key_id == self.access_key_id else None

    def relays_reply(self, route_key: str) -> bool:
        """Does API Gateway send this route's integration reply back to the client?

        Only through a route response ("Set up route responses for WebSocket APIs in API
        Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html):
        ``$default`` has one (provisioning creates it), an additional route has one unless
        listed in ``routes_without_response``. ``$connect`` and ``$disconnect`` never relay.
        """
        if route_key in ("$connect", "$disconnect"):
            return False
        return route_key not in self.routes_without_response

    @property
    def connect_url(self) -> str:
        """Integration URL of the ``$connect`` route (without the browser's query string)."""
        return self.target_base_url + "connect"

    @property
    def disconnect_url(self) -> str:
        """Integration URL of the ``$disconnect`` route."""
        return self.target_base_url + "disconnect"

    @property
    def default_url(self) -> str:
        """Integration URL of the ``$default`` route."""
        return self.target_base_url + "default"

"""A local stand-in for an AWS API Gateway WebSocket API, for development and tests.

It holds browser WebSockets, forwards ``$connect`` / messages / ``$disconnect`` to
Django as API Gateway's HTTP_PROXY integration does, and serves the Management API
(``/@connections/{id}``) that boto3 talks to, with injectable faults.

It needs aiohttp, which the ``localgateway`` extra installs; the rest of the app does not.
"""

try:
    import aiohttp  # noqa: F401
except ImportError as exc:
    raise ImportError(
        "The local gateway needs aiohttp, which the 'localgateway' extra installs: "
        'pip install "django-gateway-sockets[localgateway]"',
        name=exc.name,
    ) from exc

from .app import create_app, create_management_app
from .config import GatewayConfig
from .faults import Fault, Faults
from .forwarding import Forwarder, ForwardError, ForwardResult, gateway_headers
from .ids import new_connection_id, new_trace_id
from .keys import CONFIG_KEY, FORWARDER_KEY, STATE_KEY
from .runner import GatewayThread, ServerThread, running_gateway, serve
from .state import GatewayState, Stats
from .websocket import select_route

__all__ = [
    "CONFIG_KEY",
    "FORWARDER_KEY",
    "STATE_KEY",
    "Fault",
    "Faults",
    "ForwardError",
    "ForwardResult",
    "Forwarder",
    "GatewayConfig",
    "GatewayState",
    "GatewayThread",
    "ServerThread",
    "Stats",
    "create_app",
    "create_management_app",
    "gateway_headers",
    "new_connection_id",
    "new_trace_id",
    "running_gateway",
    "select_route",
    "serve",
]

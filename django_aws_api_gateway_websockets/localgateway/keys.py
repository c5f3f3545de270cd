"""Typed keys under which the gateway stores its objects on the aiohttp application."""

from __future__ import annotations

from aiohttp import web

from .config import GatewayConfig
from .forwarding import Forwarder
from .state import GatewayState

CONFIG_KEY = web.AppKey("localgateway_config", GatewayConfig)
STATE_KEY = web.AppKey("localgateway_state", GatewayState)
FORWARDER_KEY = web.AppKey("localgateway_forwarder", Forwarder)

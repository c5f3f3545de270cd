"""Admin pages for gateways, sessions, channel rules, tokens, rate-limit rows and reports.

Importing this package registers every page; the classes stay importable from here, as in 4.x.
"""

from .base import ReadOnlyAdmin
from .connections import (
    ChannelPermissionAdmin,
    ChannelPermissionRuleInline,
    ConnectionRateLimitAdmin,
    WebSocketSessionAdmin,
    WebSocketTokenAdmin,
)
from .gateways import (
    ApiGatewayAdditionalRouteAdmin,
    ApiGatewayAdditionalRouteInline,
    ApiGatewayAdmin,
)
from .reports import DeliveryBatchInline, DeliveryReportAdmin
from .subscriptions import ChannelSubscriptionAdmin

__all__ = [
    "ApiGatewayAdditionalRouteAdmin",
    "ApiGatewayAdditionalRouteInline",
    "ApiGatewayAdmin",
    "ChannelPermissionAdmin",
    "ChannelPermissionRuleInline",
    "ChannelSubscriptionAdmin",
    "ConnectionRateLimitAdmin",
    "DeliveryBatchInline",
    "DeliveryReportAdmin",
    "ReadOnlyAdmin",
    "WebSocketSessionAdmin",
    "WebSocketTokenAdmin",
]

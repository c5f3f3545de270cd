"""The app's tables, one module per group, and the 4.x names that live on ``models``.

``get_boto3_client`` is re-exported here because 4.x code and the testing guide patch it
*on this module*: every AWS call of the app looks it up here when it runs (see
``aws.clients.boto3_client``), so ``patch("django_aws_api_gateway_websockets.models.
get_boto3_client")`` intercepts them all.
"""

from ..boto3_factory import get_boto3_client, get_region_name
from ..conf import MAX_MESSAGE_BYTES
from ..fields import validate_integration_host
from .channels import ChannelPermission, ChannelPermissionRule
from .credentials import hash_session_key, hash_user_auth
from .gateways import ApiGateway
from .reports import DeliveryBatch, DeliveryReport
from .routes import ApiGatewayAdditionalRoute, delete_route_from_aws
from .sessions import WebSocketSession, WebSocketSessionQuerySet, mark_gone, mark_one_gone
from .signals import close_sessions_on_logout, disconnect_sessions_of_deleted_gateway
from .subscriptions import ChannelSubscription
from .tokens import ConnectionRateLimit, WebSocketToken

__all__ = [
    "MAX_MESSAGE_SIZE",
    "ApiGateway",
    "ApiGatewayAdditionalRoute",
    "ChannelPermission",
    "ChannelPermissionRule",
    "ChannelSubscription",
    "ConnectionRateLimit",
    "DeliveryBatch",
    "DeliveryReport",
    "WebSocketSession",
    "WebSocketSessionQuerySet",
    "WebSocketToken",
    "close_sessions_on_logout",
    "delete_route_from_aws",
    "disconnect_sessions_of_deleted_gateway",
    "get_boto3_client",
    "get_region_name",
    "hash_session_key",
    "hash_user_auth",
    "mark_gone",
    "mark_one_gone",
    "validate_integration_host",
]

MAX_MESSAGE_SIZE = MAX_MESSAGE_BYTES

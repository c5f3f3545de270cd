"""What this package needs each route of a WebSocket API to be: its target, mappings, reply.

Request parameters ("Set up data mapping for WebSocket APIs in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-data-mapping.html):
integration request headers may be mapped from context variables and from static values in
single quotes. Every integration maps the connection id (``context.connectionId``), the
client's address (``context.identity.sourceIp``: "The source IP address of the immediate TCP
connection making the request to API Gateway endpoint", from "WebSocket API mapping template
reference for API Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html),
the API id (``context.apiId``) and the gateway's secret (static). A client can forge none of
them: API Gateway sets them on its own request to Django.

Replies ("Set up route responses for WebSocket APIs in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html):
"API Gateway will not pass the backend response through to the route response, unless you
set up a route response"; only the ``$default`` route response key exists for WebSocket APIs,
and the route's ``RouteResponseSelectionExpression`` must be ``$default`` too ("WebSocket
selection expressions", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-selection-expressions.html).
``$connect`` and ``$disconnect`` get none: ``$disconnect`` runs after the connection closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..conf import LEGACY_SECRET_HEADER, app_settings, legacy_secrets

if TYPE_CHECKING:
    from ..models import ApiGateway, ApiGatewayAdditionalRoute

BUILT_IN_ROUTES = ("$connect", "$disconnect", "$default")
REPLYING_BUILT_IN_ROUTES = frozenset({"$default"})
ROUTE_RESPONSE_KEY = "$default"


def header(name: str) -> str:
    return f"integration.request.header.{name}"


def mappings() -> dict[str, tuple[str, str]]:
    """Request parameter -> (what it is, in words; its source), secret excluded."""
    return {
        header("connectionId"): ("connection id", "context.connectionId"),
        header(app_settings.source_ip_header): ("source IP", "context.identity.sourceIp"),
        header(app_settings.api_id_header): ("API id", "context.apiId"),
    }


def secret_parameter() -> str:
    return header(app_settings.gateway_secret_header)


def legacy_secret_parameter() -> str:
    """Where 4.1.0's integrations carry ``WEBSOCKETS["gateway_secret"]``."""
    return header(LEGACY_SECRET_HEADER)


def request_parameters(secret: str) -> dict[str, str]:
    """The ``RequestParameters`` of every integration; the secret's only when there is one.

    While 4.1.0's ``WEBSOCKETS["gateway_secret"]`` is set, its first secret travels in 4.1.0's
    header as well: 4.1.0 processes still running (mid-rollout, after a rollback) check that
    header, this package checks both.
    """
    parameters = {name: source for name, (_, source) in mappings().items()}
    if secret:
        parameters[secret_parameter()] = f"'{secret}'"
    legacy = legacy_secrets()
    if legacy and legacy_secret_parameter() != secret_parameter():
        parameters[legacy_secret_parameter()] = f"'{legacy[0]}'"
    return parameters


@dataclass(frozen=True)
class WantedRoute:
    """A route as this package needs it in AWS."""

    key: str
    uri: str
    reply: bool
    record: Any = None  # the ApiGatewayAdditionalRoute, for additional routes
    built_in: bool = False


def built_in_routes(gateway: ApiGateway) -> list[WantedRoute]:
    base = gateway.target_base_endpoint or ""
    return [
        WantedRoute(key, base + key[1:], key in REPLYING_BUILT_IN_ROUTES, built_in=True)
        for key in BUILT_IN_ROUTES
    ]


def additional_route(route: ApiGatewayAdditionalRoute) -> WantedRoute:
    return WantedRoute(route.route_key, route.integration_url, route.route_response, route)


def integration_request(api_id: str, uri: str, secret: str) -> dict[str, Any]:
    """CreateIntegration's arguments: an HTTP_PROXY POST to Django with the mappings above."""
    return {
        "ApiId": api_id,
        "ConnectionType": "INTERNET",
        "IntegrationMethod": "POST",
        "IntegrationType": "HTTP_PROXY",
        "IntegrationUri": uri,
        "PassthroughBehavior": "WHEN_NO_MATCH",
        "PayloadFormatVersion": "1.0",
        "RequestParameters": request_parameters(secret),
        "TimeoutInMillis": 29000,
    }


def route_request(api_id: str, wanted: WantedRoute, integration_id: str) -> dict[str, Any]:
    """CreateRoute's arguments; a replying route selects the ``$default`` route response."""
    arguments: dict[str, Any] = {
        "ApiId": api_id,
        "ApiKeyRequired": False,
        "AuthorizationType": "NONE",
        "RouteKey": wanted.key,
        "Target": f"integrations/{integration_id}",
    }
    if wanted.reply:
        arguments["RouteResponseSelectionExpression"] = ROUTE_RESPONSE_KEY
    return arguments


def create_route(client: Any, api_id: str, wanted: WantedRoute, secret: str) -> dict[str, Any]:
    """Create the route's integration, the route, and its route response when it replies.

    Returns the route as GetRoutes would list it (key, id, target), for the record's ids.
    """
    integration = client.create_integration(**integration_request(api_id, wanted.uri, secret))
    target = f"integrations/{integration['IntegrationId']}"
    route = client.create_route(**route_request(api_id, wanted, integration["IntegrationId"]))
    if wanted.reply:
        add_route_response(client, api_id, route.get("RouteId"))
    return {"RouteKey": wanted.key, "RouteId": route.get("RouteId"), "Target": target}


def add_route_response(client: Any, api_id: str, route_id: Any) -> None:
    client.create_route_response(
        ApiId=api_id, RouteId=route_id, RouteResponseKey=ROUTE_RESPONSE_KEY
    )

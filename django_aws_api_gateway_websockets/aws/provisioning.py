"""Create a gateway's WebSocket API, routes, route responses, stage and deployment in AWS.

Each step is recorded only once AWS has answered, so a failure part-way never marks the
gateway created, and a retry carries on from what AWS already has: route keys are looked up
(GetRoutes) before anything is created, so nothing is created twice. Every batch of changes
ends in one deployment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from .clients import boto3_client
from .differences import apply, gateway_differences, route_differences
from .integrations import additional_route, built_in_routes, new_secret
from .remote import RemoteApi
from .throttling import ThrottledClient

if TYPE_CHECKING:
    from ..models import ApiGateway, ApiGatewayAdditionalRoute


def provisioning_client() -> Any:
    """An ``apigatewayv2`` client whose calls wait and retry while AWS throttles them."""
    return ThrottledClient(boto3_client())


def create_gateway(gateway: ApiGateway) -> bool:
    """Create the API, its routes and route responses, extra routes, the stage and a deployment.

    Returns True when created, False when it already was.
    """
    if gateway.api_created:
        return False
    if not gateway.target_base_endpoint:
        raise ValueError("A target base endpoint is required")
    client = provisioning_client()
    if not gateway.sent_secret:
        # Saved before any integration carries it, so a retry sends the same secret.
        gateway.pending_gateway_secret = new_secret()
        gateway.save(update_fields=["pending_gateway_secret", "updated_on"])
    # Nothing in AWS sends a secret yet: one set on the record by hand wins over the one
    # it was given when created.
    secret = gateway.gateway_secret or gateway.pending_gateway_secret
    if gateway.api_id:
        # A previous attempt failed part-way: carry on from what AWS already has.
        remote = RemoteApi.read(client, gateway.api_id, gateway.stage_name)
    else:
        remote = create_api(client, gateway)
    routes = list(gateway.additional_routes.filter(deployed=False))
    wanted = built_in_routes(gateway) + [additional_route(route) for route in routes]
    apply(client, gateway_differences(gateway, remote, wanted, secret))
    deploy(client, gateway)
    with transaction.atomic():
        gateway.api_created = True
        # Deployed: AWS sends this secret now (see sync.push).
        gateway.gateway_secret, gateway.pending_gateway_secret = secret, ""
        fields = ["api_created", "deployment_id", "gateway_secret", "pending_gateway_secret"]
        gateway.save(update_fields=[*fields, "updated_on"])
        gateway.additional_routes.filter(pk__in=[r.pk for r in routes]).update(deployed=True)
    return True


def create_api(client: Any, gateway: ApiGateway) -> RemoteApi:
    response = client.create_api(
        ApiKeySelectionExpression=gateway.api_key_selection_expression,
        Description=gateway.api_description,
        DisableSchemaValidation=True,
        Name=gateway.api_name,
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression=gateway.route_selection_expression,
        Tags={str(k): str(v) for k, v in gateway.tags.items()},
    )
    gateway.api_id = response["ApiId"]
    gateway.api_endpoint = response["ApiEndpoint"]
    gateway.save(update_fields=["api_id", "api_endpoint", "updated_on"])
    return RemoteApi(client, gateway.api_id)  # a new API holds nothing yet


def provision_route(route: ApiGatewayAdditionalRoute, previous_route_key: str = "") -> list[str]:
    """Bring one additional route of a deployed gateway up to date, deploy, mark it deployed.

    The route is looked up by key first (by ``previous_route_key`` after a rename), so a
    route whose deployment failed (throttled, say) is not created a second time: the next
    save finds it and only deploys.
    """
    gateway = route.api_gateway
    client = provisioning_client()
    remote = RemoteApi.read(client, gateway.api_id, gateway.stage_name)
    changes = []
    renamed = remote.routes.get(previous_route_key)
    if renamed is not None and route.route_key not in remote.routes:
        client.update_route(
            ApiId=gateway.api_id, RouteId=renamed["RouteId"], RouteKey=route.route_key
        )
        remote.routes[route.route_key] = {**renamed, "RouteKey": route.route_key}
        changes.append(f"{previous_route_key}: renamed to {route.route_key}")
    found = route_differences(
        remote, additional_route(route), gateway.sent_secret, gateway.previous_gateway_secret
    )
    apply(client, found)
    changes.extend(str(difference) for difference in found)
    if changes or not route.deployed:
        deploy(client, gateway)
        gateway.save(update_fields=["deployment_id", "updated_on"])
    if not route.deployed:
        route.deployed = True
        type(route).objects.filter(pk=route.pk).update(deployed=True)
    return changes


def deploy(client: Any, gateway: ApiGateway) -> None:
    """One CreateDeployment of the stage; the caller saves ``deployment_id``."""
    response = client.create_deployment(
        ApiId=gateway.api_id, Description=gateway.stage_description, StageName=gateway.stage_name
    )
    gateway.deployment_id = response["DeploymentId"]

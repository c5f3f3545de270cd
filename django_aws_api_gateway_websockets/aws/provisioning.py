"""Create a gateway's WebSocket API, routes, route responses, stage and deployment in AWS.

Each step is recorded only once AWS has answered, so a failure part-way never marks the
gateway created, and a retry carries on from what AWS already has: route keys are looked up
(GetRoutes) before anything is created, so nothing is created twice. Every batch of changes
ends in one deployment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..gateway_secrets import new_secret
from .clients import boto3_client
from .differences import apply, gateway_differences, route_differences
from .integrations import additional_route, built_in_routes
from .push import recording_outcome
from .remote import RemoteApi, integration_id_of, is_not_found
from .throttling import ThrottledClient

if TYPE_CHECKING:
    from ..models import ApiGateway, ApiGatewayAdditionalRoute

CREATING_MESSAGE = (
    "another run is creating this API (provisioning status 'creating'). If none is running, "
    "check AWS: set the status to 'pending' if the API is not there, else record its api_id "
    "and set 'api created' so the next run finishes it."
)


def provisioning_client() -> Any:
    """An ``apigatewayv2`` client whose calls wait and retry while AWS throttles them."""
    return ThrottledClient(boto3_client())


def create_gateway(gateway: ApiGateway) -> bool:
    """Create the API, its routes and route responses, extra routes, the stage and a deployment.

    Returns True when created (or finished after a run that stopped part-way, 4.1.0's
    ``api_created`` and ``routes_created`` statuses included), False when it already was.
    A pending gateway is first claimed (``pending`` -> ``creating``) by one conditional
    UPDATE, so of two concurrent runs only one creates an API; the other is refused.
    """
    if not gateway.needs_api_creation:
        return False
    if not gateway.target_base_endpoint:
        raise ValueError("A target base endpoint is required")
    if gateway.pk is None:
        gateway.save()  # validated before anything exists in AWS
    if gateway.provisioning_status == gateway.Status.CREATING or not claim(gateway):
        raise ValueError(CREATING_MESSAGE)
    client = provisioning_client()
    with recording_outcome(gateway):
        remote = api_of(client, gateway)
        # Nothing in AWS sends a secret yet: one set on the record by hand wins over the one
        # it was given when created.
        secret = gateway.gateway_secret or gateway.pending_gateway_secret
        routes = list(gateway.additional_routes.filter(deployed=False))
        wanted = built_in_routes(gateway) + [additional_route(route) for route in routes]
        found = gateway_differences(gateway, remote, wanted, secret)
        known = {**remote.routes, **apply(client, found)}
        gateway.record(provisioning_status=gateway.Status.ROUTES_CREATED)
        deploy(client, gateway)
        record_routes(routes, known)
        # Deployed: AWS sends this secret now (see sync.push).
        gateway.record(
            provisioning_status=gateway.Status.DEPLOYED,
            deployment_id=gateway.deployment_id,
            gateway_secret=secret,
            pending_gateway_secret="",
        )
    return True


def claim(gateway: ApiGateway) -> bool:
    """``pending`` -> ``creating`` in one conditional UPDATE; False if another run won.

    A gateway past ``pending`` (its API exists, half-provisioned) needs no claim: what is
    left is looked up before it is created, so a second run creates nothing twice.
    """
    if gateway.provisioning_status != gateway.Status.PENDING:
        return True
    manager = type(gateway)._base_manager
    if not manager.filter(pk=gateway.pk, provisioning_status=gateway.Status.PENDING).update(
        provisioning_status=gateway.Status.CREATING, api_created=False, custom_domain_created=False
    ):
        return False
    gateway.provisioning_status = gateway.Status.CREATING
    return True


def api_of(client: Any, gateway: ApiGateway) -> RemoteApi:
    """The API: created now (with the claim held), or as an earlier run left it."""
    try:
        if not gateway.sent_secret:
            # Saved before any integration carries it, so a retry sends the same secret.
            gateway.record(pending_gateway_secret=new_secret())
        if gateway.api_id:
            gateway.record(provisioning_status=gateway.Status.API_CREATED)
            return RemoteApi.read(client, gateway.api_id, gateway.stage_name)
        return create_api(client, gateway)
    except Exception:
        if gateway.provisioning_status == gateway.Status.CREATING:  # no API exists: give it back
            gateway.record(provisioning_status=gateway.Status.PENDING)
        raise


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
    gateway.record(
        api_id=response["ApiId"],
        api_endpoint=response["ApiEndpoint"],
        provisioning_status=gateway.Status.API_CREATED,
    )
    return RemoteApi(client, gateway.api_id)  # a new API holds nothing yet


def record_routes(
    routes: list[ApiGatewayAdditionalRoute], known: dict[str, dict[str, Any]]
) -> None:
    """Mark each route AWS has (``known``, by key) deployed and store its two ids."""
    for route in routes:
        found = known.get(route.route_key)
        if found is None:
            continue
        route.route_id, route.integration_id = found["RouteId"], integration_id_of(found)
        route.deployed = True
        type(route)._base_manager.filter(pk=route.pk).update(
            route_id=route.route_id, integration_id=route.integration_id, deployed=True
        )


def provision_route(route: ApiGatewayAdditionalRoute, previous_route_key: str = "") -> list[str]:
    """Bring one additional route of a deployed gateway up to date (``provision_routes``)."""
    return provision_routes(route.api_gateway, [(route, previous_route_key)])


def provision_routes(
    gateway: ApiGateway, saved: list[tuple[ApiGatewayAdditionalRoute, str]]
) -> list[str]:
    """Bring saved routes of a deployed gateway up to date, deploy once, mark them deployed.

    ``saved`` holds each route with its key before a rename (or ``""``). Each route is looked
    up by key first (by the previous key after a rename), so a route whose deployment failed
    (throttled, say) is not created a second time: the next save finds it and only deploys.
    """
    latest: dict[Any, tuple[ApiGatewayAdditionalRoute, str]] = {}
    for route, previous in saved:  # a route saved twice: its latest state, its first key
        latest[route.pk] = (route, latest.get(route.pk, (route, previous))[1] or previous)
    client = provisioning_client()
    remote = RemoteApi.read(client, gateway.api_id, gateway.stage_name)
    changes: list[str] = []
    known = dict(remote.routes)
    for route, previous_route_key in latest.values():
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
        known.update({**remote.routes, **apply(client, found)})
        changes.extend(str(difference) for difference in found)
    routes = [route for route, _ in latest.values()]
    if changes or not all(route.deployed for route in routes):
        deploy(client, gateway)
        gateway.record(deployment_id=gateway.deployment_id)
    record_routes(routes, known)
    return changes


def delete_routes(gateway: ApiGateway, routes: list[tuple[str, str]]) -> int:
    """Remove routes, given as ``(route_key, route_id)``, from the deployed API: each one's
    route responses, the route and its integration; then deploy once. Each is found by its
    id, else by its key; returns how many AWS still had."""
    client = provisioning_client()
    remote = RemoteApi.read(client, gateway.api_id, gateway.stage_name)
    by_id = {route["RouteId"]: route for route in remote.routes.values()}
    found = [by_id.get(route_id) or remote.routes.get(key) for key, route_id in routes]
    doomed = [route for route in found if route is not None]
    for route in doomed:
        delete_route(client, remote, route)
    if doomed:
        deploy(client, gateway)
        gateway.record(deployment_id=gateway.deployment_id)
    return len(doomed)


def delete_route(client: Any, remote: RemoteApi, route: dict[str, Any]) -> None:
    api_id, route_id = remote.api_id, route["RouteId"]
    for response in remote.route_responses(route):
        ignoring_not_found(
            client.delete_route_response,
            ApiId=api_id,
            RouteId=route_id,
            RouteResponseId=response["RouteResponseId"],
        )
    ignoring_not_found(client.delete_route, ApiId=api_id, RouteId=route_id)
    del remote.routes[route["RouteKey"]]
    integration_id = integration_id_of(route)
    shared = any(integration_id_of(other) == integration_id for other in remote.routes.values())
    if integration_id and not shared:
        ignoring_not_found(client.delete_integration, ApiId=api_id, IntegrationId=integration_id)


def ignoring_not_found(call: Any, **arguments: Any) -> None:
    """A delete of something already gone is done."""
    try:
        call(**arguments)
    except ClientError as error:
        if not is_not_found(error):
            raise


def deploy(client: Any, gateway: ApiGateway) -> None:
    """One CreateDeployment of the stage; the caller records ``deployment_id``."""
    response = client.create_deployment(
        ApiId=gateway.api_id, Description=gateway.stage_description, StageName=gateway.stage_name
    )
    gateway.deployment_id = response["DeploymentId"]

"""Keep a deployed gateway and its API in AWS in line: push, pull, check, rotate the secret.

``push`` brings AWS up to what the records and this package need (API attributes, routes,
route responses, integrations' URIs and request parameters, stage) and deploys once if it
changed anything; ``pull`` reads AWS back into the records (4.1.0's ``sync_from_aws``);
``check`` lists the differences without changing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..gateway_secrets import new_secret
from .differences import (
    API_ATTRIBUTES,
    Difference,
    apply,
    gateway_differences,
    unrecorded_routes,
)
from .integrations import additional_route, built_in_routes, secret_parameter
from .provisioning import deploy, provisioning_client, record_routes
from .remote import RemoteApi, integration_id_of, reporting_errors
from .throttling import ThrottledClient

if TYPE_CHECKING:
    from ..models import ApiGateway


def differences(
    gateway: ApiGateway,
    client: Any,
    secret: str,
    only: Callable[[Difference], bool] | None = None,
    unrecorded: bool = False,
) -> list[Difference]:
    """What to fix in AWS; with ``unrecorded``, also the routes only AWS has (``check``)."""
    remote = RemoteApi.read(client, gateway.api_id, gateway.stage_name)
    routes = built_in_routes(gateway) + [
        additional_route(r) for r in gateway.additional_routes.all()
    ]
    found = gateway_differences(gateway, remote, routes, secret)
    if unrecorded:
        found += unrecorded_routes(remote, routes)
    return [d for d in found if only is None or only(d)]


def push(
    gateway: ApiGateway,
    client: Any = None,
    only: Callable[[Difference], bool] | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Fix every difference (those ``only`` accepts), deploy once; the changes, in words.

    The secret pushed is the pending one (a rotation, a new record), else the current one; a
    gateway with neither gets a pending one first, saved before any integration carries it.
    The pending secret becomes the current one only once every integration carries it and a
    deployment succeeded (a failure part-way leaves every secret accepted as it was); after
    that the previous secret is kept until a push finds nothing to change, then dropped.
    """
    if not gateway.is_deployed:
        raise ValueError("The API must be deployed before it can be synced to AWS")
    client = ThrottledClient(client) if client else provisioning_client()
    if not gateway.sent_secret and not dry_run:
        gateway.pending_gateway_secret = new_secret()
        gateway.save(update_fields=["pending_gateway_secret", "updated_on"])
    secret = gateway.sent_secret or new_secret()
    promoting = secret != gateway.gateway_secret
    with reporting_errors():
        found = differences(gateway, client, secret, only)
        changes = [str(difference) for difference in found]
        if dry_run:
            return changes
        created = apply(client, found)
        # A promotion always deploys: an earlier push may have changed the integrations and
        # failed to deploy, and a stage serves its last deployment ("Every time you update an
        # API, you must redeploy it", "Deploy WebSocket APIs in API Gateway",
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-set-up-websocket-deployment.html).
        if found or promoting:
            deploy(client, gateway)
            changes.append(f"deployed stage {gateway.stage_name!r}")
            record_routes(list(gateway.additional_routes.all()), created)
    retire = only is None and not found and not promoting and bool(gateway.previous_gateway_secret)
    if retire:
        gateway.previous_gateway_secret = ""
        changes.append("dropped the previous gateway secret: every integration sends the new one")
    if promoting:
        if gateway.gateway_secret:
            gateway.previous_gateway_secret = gateway.gateway_secret
        gateway.gateway_secret, gateway.pending_gateway_secret = secret, ""
        changes.append("every integration sends the new gateway secret")
    if found or retire or promoting:
        fields = [
            "gateway_secret",
            "pending_gateway_secret",
            "previous_gateway_secret",
            "deployment_id",
            "updated_on",
        ]
        gateway.save(update_fields=fields)
    return changes


def update_integrations(gateway: ApiGateway, dry_run: bool = False) -> list[str]:
    """Only the integrations' request parameters (4.1.0's ``updateApiGatewayIntegrations``)."""
    return push(gateway, only=lambda d: d.kind == "parameters", dry_run=dry_run)


def rotate_secret(gateway: ApiGateway) -> list[str]:
    """A new pending secret, pushed; it becomes current once AWS has it (see ``push``).

    A rotation whose push failed leaves its pending secret; the next rotation pushes that
    same one again instead of a third, so whatever AWS sends stays accepted however many
    pushes fail in a row.
    """
    if not gateway.pending_gateway_secret:
        gateway.pending_gateway_secret = new_secret()
        gateway.save(update_fields=["pending_gateway_secret", "updated_on"])
    return push(gateway)


def check(gateway: ApiGateway) -> list[Difference]:
    """What AWS has otherwise than this package needs, route by route. Changes nothing."""
    client = provisioning_client()
    with reporting_errors():
        found = differences(gateway, client, gateway.sent_secret, unrecorded=True)
    if not gateway.gateway_secret:
        problem = "AWS is not known to send the gateway's secret (run Sync to AWS)"
        found.insert(0, Difference("", problem))
    return found


def pull(gateway: ApiGateway, client: Any = None) -> list[str]:
    """Read the deployed API back into the records (4.1.0's ``sync_from_aws``).

    Nothing is deleted locally and nothing changes in AWS: a local route AWS lacks is marked
    not deployed (the next push creates it), a route only AWS has is added locally.
    """
    if not gateway.is_deployed:
        raise ValueError("The API must be deployed before it can be synced from AWS")
    client = ThrottledClient(client) if client else provisioning_client()
    with reporting_errors():
        remote = RemoteApi.read(client, gateway.api_id, gateway.stage_name)
        values = gateway_values(gateway, remote)
        changed = [name for name, value in values.items() if getattr(gateway, name) != value]
        if changed:
            # Recorded as AWS has it: not a save, so nothing is pushed straight back.
            gateway.record(**{name: values[name] for name in changed})
        changes = [f"updated {name}" for name in changed]
        changes.extend(pull_routes(gateway, remote))
    return changes


def gateway_values(gateway: ApiGateway, remote: RemoteApi) -> dict[str, Any]:
    api = remote.api or {}
    values = {
        name: api[attribute] for name, attribute in API_ATTRIBUTES.items() if attribute in api
    }
    values["api_endpoint"] = api.get("ApiEndpoint", gateway.api_endpoint)
    default = remote.routes.get("$default")
    uri = (remote.integration_of(default) or {}).get("IntegrationUri", "") if default else ""
    if uri.endswith("default"):
        values["target_base_endpoint"] = uri.removesuffix("default")
    stage = remote.stage or {}
    if stage.get("DeploymentId"):
        values["deployment_id"] = stage["DeploymentId"]
        deployment = remote.client.get_deployment(
            ApiId=gateway.api_id, DeploymentId=stage["DeploymentId"]
        )
        values["stage_description"] = deployment.get("Description", "")
    secret = secret_sent_by(remote)
    known = (gateway.gateway_secret, gateway.pending_gateway_secret)
    if secret and secret not in (*known, gateway.previous_gateway_secret):
        values["gateway_secret"] = secret
    return values


def secret_sent_by(remote: RemoteApi) -> str:
    """The one secret every integration of ``remote`` sends, or "" (none, or several)."""
    parameters = (
        (integration.get("RequestParameters") or {}).get(secret_parameter())
        for integration in remote.integrations.values()
    )
    sent = {value for value in parameters if value is not None}
    return sent.pop().strip("'") if len(sent) == 1 else ""


def pull_routes(gateway: ApiGateway, remote: RemoteApi) -> list[str]:
    changes = []
    built_in = {route.key for route in built_in_routes(gateway)}
    extra = {key: route for key, route in remote.routes.items() if key not in built_in}
    records = gateway.additional_routes
    for local in records.all():
        route = extra.pop(local.route_key, None)
        if route is None:
            if local.deployed:
                records.filter(pk=local.pk).update(deployed=False)
                changes.append(f"{local.route_key}: not in AWS, marked not deployed")
            continue
        values = route_values(remote, route)
        if any(getattr(local, name) != value for name, value in values.items()):
            records.filter(pk=local.pk).update(**values)
            changes.append(f"{local.route_key}: updated from AWS")
    # What AWS holds is recorded as it is, without validation: it exists.
    records.bulk_create(
        [
            records.model(
                api_gateway=gateway, name=key[:63], route_key=key, **route_values(remote, route)
            )
            for key, route in extra.items()
        ]
    )
    changes.extend(f"{key}: added from AWS" for key in extra)
    return changes


def route_values(remote: RemoteApi, route: dict[str, Any]) -> dict[str, Any]:
    responses = remote.route_responses(route)
    return {
        "integration_url": (remote.integration_of(route) or {}).get("IntegrationUri", ""),
        "route_response": any(r.get("RouteResponseKey") == "$default" for r in responses),
        "deployed": True,
        "route_id": route["RouteId"],
        "integration_id": integration_id_of(route),
    }

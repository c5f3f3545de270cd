"""How a deployed API differs from what this package needs, each difference with its fix.

``checkApiGateway`` lists the differences; ``sync_to_aws`` and provisioning apply their fixes
and then deploy once. Comparing first means nothing is created twice: a route key AWS already
has is updated, never created again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from . import integrations as wanted_state
from .integrations import WantedRoute
from .remote import RemoteApi

if TYPE_CHECKING:
    from ..models import ApiGateway

# ApiGateway field -> the API's attribute in AWS
API_ATTRIBUTES = {
    "api_name": "Name",
    "api_description": "Description",
    "api_key_selection_expression": "ApiKeySelectionExpression",
    "route_selection_expression": "RouteSelectionExpression",
}


@dataclass(frozen=True)
class Difference:
    """One thing AWS has otherwise than needed; ``route_key`` is ``""`` for the API itself."""

    route_key: str
    problem: str
    fix: Callable[[Any], Any] | None = None
    kind: str = "route"  # "api", "stage", "route", "uri", "parameters" or "reply"

    def __str__(self) -> str:
        return f"{self.route_key or 'API'}: {self.problem}"


def apply(client: Any, differences: Iterable[Difference]) -> dict[str, dict[str, Any]]:
    """Apply each fix; the routes the fixes created or changed, by key (for their ids)."""
    routes = {}
    for difference in differences:
        if difference.fix is not None:
            result = difference.fix(client)
            if isinstance(result, dict) and {"RouteKey", "RouteId"} <= result.keys():
                routes[result["RouteKey"]] = result
    return routes


def gateway_differences(
    gateway: ApiGateway, remote: RemoteApi, routes: Iterable[WantedRoute], secret: str
) -> list[Difference]:
    """The API's attributes, each wanted route, and the stage."""
    found = api_differences(gateway, remote)
    for wanted in routes:
        found.extend(route_differences(remote, wanted, secret, gateway.previous_gateway_secret))
    return found + stage_differences(gateway, remote)


def unrecorded_routes(remote: RemoteApi, routes: Iterable[WantedRoute]) -> list[Difference]:
    """Routes AWS has that no record describes: drift the other way (nothing to fix here)."""
    known = {wanted.key for wanted in routes}
    return [
        Difference(
            key,
            "route is in AWS but not recorded in Django (Sync from AWS records it)",
            kind="unrecorded",
        )
        for key in sorted(remote.routes)
        if key not in known
    ]


def api_differences(gateway: ApiGateway, remote: RemoteApi) -> list[Difference]:
    if remote.api is None:  # just created from the record: nothing to compare
        return []
    update = {
        attribute: getattr(gateway, name)
        for name, attribute in API_ATTRIBUTES.items()
        if (remote.api.get(attribute) or "") != getattr(gateway, name)
    }
    if not update:
        return []
    return [
        Difference(
            "",
            f"{', '.join(update)} differ from the record",
            partial(_call, "update_api", ApiId=remote.api_id, **update),
            kind="api",
        )
    ]


def stage_differences(gateway: ApiGateway, remote: RemoteApi) -> list[Difference]:
    if remote.stage is None:
        create = partial(
            _call,
            "create_stage",
            ApiId=remote.api_id,
            StageName=gateway.stage_name,
            Description=gateway.stage_description,
        )
        return [Difference("", f"stage {gateway.stage_name!r} is missing", create, "stage")]
    found = []
    if (remote.stage.get("Description") or "") != gateway.stage_description:
        # UpdateStage, then the deployment that follows every batch of fixes carries it too.
        describe = partial(
            _call,
            "update_stage",
            ApiId=remote.api_id,
            StageName=gateway.stage_name,
            Description=gateway.stage_description,
        )
        problem = f"stage {gateway.stage_name!r} description differs from stage_description"
        found.append(Difference("", problem, describe, "stage"))
    if not remote.stage.get("DeploymentId"):
        found.append(Difference("", f"stage {gateway.stage_name!r} is not deployed", kind="stage"))
    return found


def route_differences(
    remote: RemoteApi, wanted: WantedRoute, secret: str, previous_secret: str = ""
) -> list[Difference]:
    """What keeps one route from working as this package needs."""
    api_id = remote.api_id
    route = remote.routes.get(wanted.key)
    if route is None:
        create = partial(wanted_state.create_route, api_id=api_id, wanted=wanted, secret=secret)
        return [Difference(wanted.key, "route is missing", create)]
    found: list[Difference] = []
    integration = remote.integration_of(route)
    if integration is None:
        fix = partial(_retarget, api_id=api_id, route=route, wanted=wanted, secret=secret)
        found.append(Difference(wanted.key, "route has no integration", fix))
    else:
        found.extend(_uri_differences(api_id, wanted, integration))
        found.extend(_parameter_differences(api_id, wanted, integration, secret, previous_secret))
    found.extend(_reply_differences(remote, wanted, route))
    return found


def _uri_differences(api_id: str, wanted: WantedRoute, integration: dict) -> list[Difference]:
    actual = integration.get("IntegrationUri", "")
    if actual == wanted.uri:
        return []
    if wanted.built_in:
        base = wanted.uri[: -len(wanted.key) + 1]
        problem = (
            f"integration URI {actual} is not {wanted.uri} (under target_base_endpoint {base})"
        )
    else:
        problem = f"integration URI {actual} is not the record's integration_url {wanted.uri}"
    fix = partial(
        _call,
        "update_integration",
        ApiId=api_id,
        IntegrationId=integration["IntegrationId"],
        IntegrationUri=wanted.uri,
    )
    return [Difference(wanted.key, problem, fix, "uri")]


def _parameter_differences(
    api_id: str, wanted: WantedRoute, integration: dict, secret: str, previous_secret: str
) -> list[Difference]:
    current = integration.get("RequestParameters") or {}
    needed = wanted_state.request_parameters(secret)
    labels = dict(wanted_state.mappings())
    labels[wanted_state.secret_parameter()] = ("gateway secret", "")
    labels[wanted_state.legacy_secret_parameter()] = ("4.1.0 gateway secret", "")
    wrong = [name for name, value in needed.items() if current.get(name) != value]
    # 4.1.0's header once WEBSOCKETS["gateway_secret"] is no longer set: dropped by sending the
    # map without it, as 4.1.0's own command removed it (botocore's "update_integration",
    # https://docs.aws.amazon.com/botocore/latest/reference/services/apigatewayv2/client/update_integration.html).
    # Were AWS to keep an omitted key, checkApiGateway would go on reporting it.
    stale = {wanted_state.legacy_secret_parameter()} & set(current) - set(needed)
    if not wrong and not stale:
        return []
    problems = []
    if wrong:
        words = [labels[name][0] for name in wrong]
        problems.append(f"integration does not map the {', '.join(words)} header")
        sent = current.get(wanted_state.secret_parameter())
        if previous_secret and sent == f"'{previous_secret}'":
            problems[-1] += " (it still sends the previous gateway secret)"
    if stale:
        problems.append("integration still sends 4.1.0's gateway secret header")
    kept = {name: value for name, value in current.items() if name not in stale}
    fix = partial(
        _call,
        "update_integration",
        ApiId=api_id,
        IntegrationId=integration["IntegrationId"],
        RequestParameters={**kept, **needed},
    )
    return [Difference(wanted.key, "; ".join(problems), fix, "parameters")]


def _reply_differences(remote: RemoteApi, wanted: WantedRoute, route: dict) -> list[Difference]:
    key, api_id, route_id = wanted.key, remote.api_id, route["RouteId"]
    if not wanted.reply:
        if wanted.built_in:  # $connect/$disconnect: whatever the user set up is theirs
            return []
        return [
            Difference(
                key,
                "route has a route response, but its record says route_response=False",
                partial(
                    _call,
                    "delete_route_response",
                    ApiId=api_id,
                    RouteId=route_id,
                    RouteResponseId=response["RouteResponseId"],
                ),
                "reply",
            )
            for response in remote.route_responses(route)
        ]
    found: list[Difference] = []
    if route.get("RouteResponseSelectionExpression") != wanted_state.ROUTE_RESPONSE_KEY:
        select = partial(
            _call,
            "update_route",
            ApiId=api_id,
            RouteId=route_id,
            RouteResponseSelectionExpression=wanted_state.ROUTE_RESPONSE_KEY,
        )
        found.append(
            Difference(key, "route has no RouteResponseSelectionExpression", select, "reply")
        )
    keys = {r.get("RouteResponseKey") for r in remote.route_responses(route)}
    if wanted_state.ROUTE_RESPONSE_KEY not in keys:
        add = partial(wanted_state.add_route_response, api_id=api_id, route_id=route_id)
        found.append(Difference(key, "route has no $default route response", add, "reply"))
    return found


def _call(method: str, client: Any, **arguments: Any) -> Any:
    return getattr(client, method)(**arguments)


def _retarget(client: Any, api_id: str, route: dict, wanted: WantedRoute, secret: str) -> dict:
    request = wanted_state.integration_request(api_id, wanted.uri, secret)
    integration = client.create_integration(**request)
    target = f"integrations/{integration['IntegrationId']}"
    client.update_route(ApiId=api_id, RouteId=route["RouteId"], Target=target)
    return {**route, "Target": target}

"""What moto 5.2.5's apigatewayv2 lacks, added for these tests only, as AWS documents it.

moto answers CreateDeployment/GetDeployments/GetDeployment with a 404 "Not yet implemented"
(it has no ``/deployments`` URL) and raises NotImplementedError for GetRouteResponses; its
stages never name a deployment. Provisioning needs all of these, and bypassing moto would test
nothing, so this module fills exactly those gaps inside moto's own request handling (its URL
table and its response class), keeping moto's stores, validation and errors for the rest:

- CreateDeployment (``POST /v2/apis/{apiId}/deployments``, 201): an API without routes is
  refused (BadRequestException), an unknown ``StageName`` is NotFoundException, and the named
  stage then points at the deployment (GetStage's ``DeploymentId``), as "CreateDeployment"
  in the API Gateway V2 API reference describes
  (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-deployments.html).
- GetDeployments / GetDeployment: the API's deployments, or NotFoundException.
- GetRouteResponses (``GET .../routes/{routeId}/routeresponses``): the route's responses.
- UpdateStage (``PATCH /v2/apis/{apiId}/stages/{stageName}``): the stage's description, as
  "UpdateStage" in the API Gateway V2 API reference describes
  (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html).

``Faults`` makes the next calls of one operation answer an AWS error (429 throttling, say)
as real HTTP responses, so botocore parses them as it parses AWS's.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from moto.apigatewayv2 import urls
from moto.apigatewayv2.exceptions import BadRequestException, StageNotFound
from moto.apigatewayv2.models import Stage
from moto.apigatewayv2.responses import ApiGatewayV2Response
from moto.core.exceptions import JsonRESTError

API = "{0}/v2/apis/(?P<api_id>[^/]+)"


class DeploymentNotFound(JsonRESTError):
    code = 404

    def __init__(self, deployment_id: str) -> None:
        super().__init__(
            "NotFoundException", f"Invalid Deployment identifier specified {deployment_id}"
        )


def _deployments(api: Any) -> dict[str, dict[str, Any]]:
    if not hasattr(api, "test_deployments"):
        api.test_deployments = {}
    return api.test_deployments


def create_deployment(self: ApiGatewayV2Response) -> Any:
    api = self.apigatewayv2_backend.get_api(self.path.split("/")[-2])
    params = json.loads(self.body or "{}")
    if not api.routes:
        raise BadRequestException("At least one route is required before deploying the Api.")
    stage_name = params.get("stageName")
    if stage_name and stage_name not in api.stages:
        raise StageNotFound()
    deployment = {
        "autoDeployed": False,
        "createdDate": datetime.now(UTC).isoformat(),
        "deploymentId": secrets.token_hex(3),
        "deploymentStatus": "DEPLOYED",
        "description": params.get("description", ""),
    }
    _deployments(api)[deployment["deploymentId"]] = deployment
    if stage_name:
        api.stages[stage_name].test_deployment_id = deployment["deploymentId"]
    return 201, {}, json.dumps(deployment)


def get_deployments(self: ApiGatewayV2Response) -> Any:
    api = self.apigatewayv2_backend.get_api(self.path.split("/")[-2])
    return 200, {}, json.dumps({"items": list(_deployments(api).values())})


def get_deployment(self: ApiGatewayV2Response) -> Any:
    parts = self.path.split("/")
    api = self.apigatewayv2_backend.get_api(parts[-3])
    deployment = _deployments(api).get(parts[-1])
    if deployment is None:
        raise DeploymentNotFound(parts[-1])
    return 200, {}, json.dumps(deployment)


def get_route_responses(self: ApiGatewayV2Response) -> Any:
    parts = self.path.split("/")
    route = self.apigatewayv2_backend.get_route(parts[-4], parts[-2])
    items = [response.to_json() for response in route.route_responses.values()]
    return 200, {}, json.dumps({"items": items})


def update_stage(self: ApiGatewayV2Response) -> Any:
    parts = self.path.split("/")
    api = self.apigatewayv2_backend.get_api(parts[-3])
    stage = api.stages.get(parts[-1])
    if stage is None:
        raise StageNotFound()
    params = json.loads(self.body or "{}")
    if "description" in params:
        stage.description = params["description"]
    stage.updated = datetime.now()
    return 200, {}, json.dumps(stage.to_json())


def stage_to_json(original: Any) -> Any:
    def to_json(self: Stage) -> dict[str, Any]:
        data = original(self)
        if getattr(self, "test_deployment_id", None):
            data["deploymentId"] = self.test_deployment_id
        return data

    return to_json


class Faults:
    """The next answers of chosen operations, as AWS errors."""

    def __init__(self) -> None:
        self.pending: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.calls: dict[str, int] = defaultdict(int)

    def add(self, operation: str, code: str, status: int, times: int = 1) -> None:
        self.pending[operation].extend([(status, code)] * times)

    def wrap(self, original: Any) -> Any:
        faults = self

        def call_action(response: ApiGatewayV2Response) -> Any:
            operation = response._get_action()
            faults.calls[operation] += 1
            if faults.pending.get(operation):
                status, code = faults.pending[operation].pop(0)
                body = json.dumps({"message": f"{code} injected by the test"})
                return status, {"x-amzn-ErrorType": code, "status": status}, body
            return original(response)

        return call_action


def install(monkeypatch: Any) -> Faults:
    """Add the operations above to moto for one test; returns the fault injector."""
    monkeypatch.setitem(urls.url_paths, API + "/deployments$", ApiGatewayV2Response.dispatch)
    monkeypatch.setitem(
        urls.url_paths,
        API + "/deployments/(?P<deployment_id>[^/]+)$",
        ApiGatewayV2Response.dispatch,
    )
    for function in (
        create_deployment,
        get_deployments,
        get_deployment,
        get_route_responses,
        update_stage,
    ):
        monkeypatch.setattr(ApiGatewayV2Response, function.__name__, function, raising=False)
    monkeypatch.setattr(Stage, "to_json", stage_to_json(Stage.to_json))
    faults = Faults()
    monkeypatch.setattr(
        ApiGatewayV2Response, "call_action", faults.wrap(ApiGatewayV2Response.call_action)
    )
    return faults

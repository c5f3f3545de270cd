"""moto's apigatewayv2 for provisioning tests: real boto3 clients, moto's state to assert on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from django_aws_api_gateway_websockets.aws import throttling
from django_aws_api_gateway_websockets.models import ApiGateway

from . import moto_extension


@dataclass
class Aws:
    client: Any  # to read moto's state, created inside the mock like the app's own
    faults: moto_extension.Faults
    sleeps: list[float]

    def routes(self, api_id: str) -> dict[str, dict[str, Any]]:
        items = self.client.get_routes(ApiId=api_id)["Items"]
        assert len({r["RouteKey"] for r in items}) == len(items), "a route key was created twice"
        return {route["RouteKey"]: route for route in items}

    def integration(self, api_id: str, route: dict[str, Any]) -> dict[str, Any]:
        integration_id = route["Target"].removeprefix("integrations/")
        return self.client.get_integration(ApiId=api_id, IntegrationId=integration_id)

    def response_keys(self, api_id: str, route: dict[str, Any]) -> list[str]:
        items = self.client.get_route_responses(ApiId=api_id, RouteId=route["RouteId"])["Items"]
        for item in items:  # and each one as moto's own GetRouteResponse returns it
            single = self.client.get_route_response(
                ApiId=api_id, RouteId=route["RouteId"], RouteResponseId=item["RouteResponseId"]
            )
            assert single["RouteResponseKey"] == item["RouteResponseKey"]
        return [item["RouteResponseKey"] for item in items]

    def deployments(self, api_id: str) -> list[dict[str, Any]]:
        return self.client.get_deployments(ApiId=api_id)["Items"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    # botocore's own retries off, so the app's backoff is what answers a 429; its waits
    # are recorded instead of slept.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    sleeps: list[float] = []
    monkeypatch.setattr(throttling, "sleep", sleeps.append)
    with mock_aws():
        faults = moto_extension.install(monkeypatch)
        client = boto3.client("apigatewayv2", region_name="us-east-1")
        yield Aws(client, faults, sleeps)


@pytest.fixture
def gateway(db: Any) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Moto", target_base_endpoint="https://app.example.com/ws/", stage_name="prod"
    )

"""Creating a gateway against moto's apigatewayv2, asserting what moto then holds."""

import pytest
from botocore.exceptions import ClientError

from django_aws_api_gateway_websockets.aws import throttling
from django_aws_api_gateway_websockets.models import ApiGatewayAdditionalRoute

pytestmark = pytest.mark.django_db

BUILT_IN = ["$connect", "$disconnect", "$default"]


def add_route(gateway, key, route_response=True):
    return ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway,
        name=key.title(),
        route_key=key,
        integration_url=f"https://app.example.com/ws/{key}",
        route_response=route_response,
    )


def test_create_gateway(aws, gateway):
    add_route(gateway, "chat")
    add_route(gateway, "notify", route_response=False)
    assert gateway.create_gateway() is True
    gateway.refresh_from_db()
    routes = aws.routes(gateway.api_id)
    assert sorted(routes) == sorted([*BUILT_IN, "chat", "notify"])
    for key, route in routes.items():
        integration = aws.integration(gateway.api_id, route)
        expected_uri = f"https://app.example.com/ws/{key.removeprefix('$')}"
        assert integration["IntegrationUri"] == expected_uri
        assert integration["IntegrationType"] == "HTTP_PROXY"
        assert integration["RequestParameters"] == {
            "integration.request.header.connectionId": "context.connectionId",
            "integration.request.header.X-Source-Ip": "context.identity.sourceIp",
            "integration.request.header.X-Gateway-Api-Id": "context.apiId",
            "integration.request.header.X-Gateway-Secret": f"'{gateway.gateway_secret}'",
        }
    # Two-way routes: a $default route response and the selection expression; others none.
    replying = {"$default", "chat"}
    for key, route in routes.items():
        assert aws.response_keys(gateway.api_id, route) == (["$default"] if key in replying else [])
        expression = route.get("RouteResponseSelectionExpression")
        assert expression == ("$default" if key in replying else None)
    stage = aws.client.get_stage(ApiId=gateway.api_id, StageName="prod")
    (deployment,) = aws.deployments(gateway.api_id)
    assert stage["DeploymentId"] == deployment["DeploymentId"] == gateway.deployment_id
    assert gateway.api_created is True
    assert set(gateway.additional_routes.values_list("deployed", flat=True)) == {True}


def test_retry_after_a_failure_part_way_creates_nothing_twice(aws, gateway):
    add_route(gateway, "chat")
    # The route exists but its route response was refused; then, on the retry, the stage.
    aws.faults.add("CreateRouteResponse", "BadRequestException", 400)
    with pytest.raises(ClientError):
        gateway.create_gateway()
    gateway.refresh_from_db()
    # The API exists, half-provisioned: 4.1.0's "api_created" status, which a retry finishes.
    assert (gateway.provisioning_status, gateway.needs_api_creation) == ("api_created", True)
    assert gateway.api_created is True and gateway.api_id
    assert gateway.last_error.startswith("BadRequestException")
    # Not deployed yet: the secret the integrations carry is only pending.
    secret = gateway.pending_gateway_secret
    assert secret and gateway.gateway_secret == ""
    assert sorted(aws.routes(gateway.api_id)) == ["$connect", "$default", "$disconnect"]

    aws.faults.add("CreateStage", "BadRequestException", 400)
    with pytest.raises(ClientError):
        gateway.create_gateway()
    assert sorted(aws.routes(gateway.api_id)) == sorted([*BUILT_IN, "chat"])

    assert gateway.create_gateway() is True
    gateway.refresh_from_db()
    # The integrations made first still match; deployed, it is the current secret.
    assert (gateway.gateway_secret, gateway.pending_gateway_secret) == (secret, "")
    routes = aws.routes(gateway.api_id)
    assert aws.response_keys(gateway.api_id, routes["$default"]) == ["$default"]
    assert aws.response_keys(gateway.api_id, routes["chat"]) == ["$default"]
    assert len(aws.client.get_apis()["Items"]) == 1
    assert len(aws.client.get_integrations(ApiId=gateway.api_id)["Items"]) == 4
    assert len(aws.deployments(gateway.api_id)) == 1


def test_throttled_deployment_is_retried_with_backoff(aws, gateway):
    aws.faults.add("CreateDeployment", "TooManyRequestsException", 429, times=2)
    assert gateway.create_gateway() is True
    assert aws.sleeps == [1.0, 2.0]
    assert aws.faults.calls["CreateDeployment"] == 3
    assert len(aws.deployments(gateway.api_id)) == 1


def test_throttling_is_retried_a_bounded_number_of_times(aws, gateway):
    aws.faults.add("CreateDeployment", "LimitExceededException", 429, times=10)
    with pytest.raises(ClientError) as error:
        gateway.create_gateway()
    assert error.value.response["Error"]["Code"] == "LimitExceededException"
    assert aws.faults.calls["CreateDeployment"] == throttling.MAX_ATTEMPTS
    assert aws.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    gateway.refresh_from_db()
    assert (gateway.provisioning_status, gateway.is_deployed) == ("routes_created", False)


def test_errors_other_than_throttling_are_not_retried(aws, gateway):
    aws.faults.add("CreateDeployment", "BadRequestException", 400)
    with pytest.raises(ClientError):
        gateway.create_gateway()
    assert aws.sleeps == []


def test_route_whose_deployment_was_throttled_is_not_created_twice(
    aws, gateway, django_capture_on_commit_callbacks
):
    gateway.create_gateway()
    gateway.refresh_from_db()
    aws.faults.add("CreateDeployment", "TooManyRequestsException", 429, times=10)
    with (
        pytest.raises(Exception, match="TooManyRequestsException"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        add_route(gateway, "late")
    route = ApiGatewayAdditionalRoute.objects.get(route_key="late")
    assert route.deployed is False
    aws.faults.pending.clear()
    with django_capture_on_commit_callbacks(execute=True):
        route.save()  # the next save finds the route and only deploys
    route.refresh_from_db()
    assert route.deployed is True
    routes = aws.routes(gateway.api_id)
    assert "late" in routes
    assert aws.response_keys(gateway.api_id, routes["late"]) == ["$default"]
    assert len(aws.deployments(gateway.api_id)) == 2

"""Bringing gateways provisioned before route responses and mapped headers up to date."""

import boto3
import pytest
from django.core.management import CommandError, call_command

from django_aws_api_gateway_websockets.aws.remote import ApiGatewaySyncError
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute

pytestmark = pytest.mark.django_db

OLD_PARAMETERS = {"integration.request.header.connectionId": "context.connectionId"}


def legacy_gateway(aws, extra_routes=("chat",)):
    """An API as the previous provisioning left it: no route response, connection id only."""
    client = aws.client
    api = client.create_api(
        Name="Legacy",
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression="$request.body.action",
        ApiKeySelectionExpression="$request.header.x-api-key",
    )
    for key in ["$connect", "$disconnect", "$default", *extra_routes]:
        integration = client.create_integration(
            ApiId=api["ApiId"],
            IntegrationType="HTTP_PROXY",
            IntegrationMethod="POST",
            IntegrationUri=f"https://old.example.com/ws/{key.removeprefix('$')}",
            RequestParameters=OLD_PARAMETERS,
        )
        client.create_route(
            ApiId=api["ApiId"],
            RouteKey=key,
            RouteResponseSelectionExpression="$default",
            Target=f"integrations/{integration['IntegrationId']}",
        )
    client.create_stage(ApiId=api["ApiId"], StageName="prod")
    deployment = client.create_deployment(ApiId=api["ApiId"], StageName="prod")
    gateway = ApiGateway.objects.create(
        api_name="Legacy",
        target_base_endpoint="https://app.example.com/ws/",
        stage_name="prod",
        api_id=api["ApiId"],
        api_created=True,
        deployment_id=deployment["DeploymentId"],
    )
    for key in extra_routes:
        url = f"https://app.example.com/ws/{key}"
        route = ApiGatewayAdditionalRoute(
            api_gateway=gateway, name=key, route_key=key, integration_url=url
        )
        route.save(push_to_aws=False)  # recorded as it was, without calling AWS
    ApiGatewayAdditionalRoute.objects.update(deployed=True)
    return gateway


def test_sync_to_aws_brings_a_legacy_gateway_up_to_date(aws):
    gateway = legacy_gateway(aws)
    pending = gateway.pending_gateway_secret  # given when the record was created
    changes = gateway.sync_to_aws()
    assert changes[-2:] == [
        "deployed stage 'prod'",
        "every integration sends the new gateway secret",
    ]
    gateway.refresh_from_db()
    # Pushed and deployed: the pending secret became the current one.
    assert (gateway.gateway_secret, gateway.pending_gateway_secret) == (pending, "")
    routes = aws.routes(gateway.api_id)
    for key in ["$default", "chat"]:
        assert aws.response_keys(gateway.api_id, routes[key]) == ["$default"]
    for key in ["$connect", "$disconnect"]:
        assert aws.response_keys(gateway.api_id, routes[key]) == []
    for key, route in routes.items():
        integration = aws.integration(gateway.api_id, route)
        assert integration["IntegrationUri"] == f"https://app.example.com/ws/{key.lstrip('$')}"
        parameters = integration["RequestParameters"]
        assert parameters["integration.request.header.X-Source-Ip"] == "context.identity.sourceIp"
        assert parameters["integration.request.header.X-Gateway-Api-Id"] == "context.apiId"
        assert parameters["integration.request.header.X-Gateway-Secret"] == (
            f"'{gateway.gateway_secret}'"
        )
    stage = aws.client.get_stage(ApiId=gateway.api_id, StageName="prod")
    assert stage["DeploymentId"] == gateway.deployment_id
    assert len(aws.deployments(gateway.api_id)) == 2  # the legacy one, and one for the batch
    # Nothing left to do: no change, no deployment.
    assert gateway.sync_to_aws() == []
    assert len(aws.deployments(gateway.api_id)) == 2


def test_sync_creates_missing_routes_and_stage(aws, gateway):
    gateway.create_gateway()
    gateway.refresh_from_db()
    aws.client.delete_route(
        ApiId=gateway.api_id, RouteId=aws.routes(gateway.api_id)["$default"]["RouteId"]
    )
    aws.client.delete_stage(ApiId=gateway.api_id, StageName="prod")
    changes = gateway.sync_to_aws()
    assert "$default: route is missing" in changes
    assert "API: stage 'prod' is missing" in changes
    routes = aws.routes(gateway.api_id)
    assert aws.response_keys(gateway.api_id, routes["$default"]) == ["$default"]
    assert aws.client.get_stage(ApiId=gateway.api_id, StageName="prod")["DeploymentId"]


def test_sync_needs_a_deployed_gateway(api_gateway):
    with pytest.raises(ValueError, match="must be deployed"):
        api_gateway.sync_to_aws()
    with pytest.raises(ValueError, match="must be deployed"):
        api_gateway.sync_from_aws()


def test_sync_errors_are_reported_as_sync_errors(aws, gateway):
    gateway.create_gateway()
    aws.faults.add("GetRoutes", "AccessDeniedException", 403)
    with pytest.raises(ApiGatewaySyncError, match="AccessDeniedException"):
        gateway.sync_to_aws()


def test_saving_a_changed_target_pushes_it(aws, gateway, django_capture_on_commit_callbacks):
    gateway.create_gateway()
    gateway = ApiGateway.objects.get(pk=gateway.pk)
    gateway.target_base_endpoint = "https://new.example.com/ws/"
    with django_capture_on_commit_callbacks(execute=True):
        gateway.save()
    routes = aws.routes(gateway.api_id)
    uri = aws.integration(gateway.api_id, routes["$connect"])["IntegrationUri"]
    assert uri == "https://new.example.com/ws/connect"
    gateway.api_description = "not pushed"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        gateway.save(push_to_aws=False)
    assert callbacks == []


def test_changing_a_route_pushes_it(aws, gateway, django_capture_on_commit_callbacks):
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway, name="Chat", route_key="chat", integration_url="https://a.example/c"
    )
    gateway.create_gateway()
    route = ApiGatewayAdditionalRoute.objects.get(pk=route.pk)
    route.route_key = "talk"
    route.route_response = False
    with django_capture_on_commit_callbacks(execute=True):
        route.save()
    routes = aws.routes(gateway.api_id)
    assert "chat" not in routes
    assert aws.response_keys(gateway.api_id, routes["talk"]) == []


def test_sync_from_aws_reads_the_api_back(aws):
    gateway = legacy_gateway(aws, extra_routes=("chat", "aws-only"))
    ApiGatewayAdditionalRoute.objects.filter(route_key="aws-only").delete()
    gone = ApiGatewayAdditionalRoute(
        api_gateway=gateway, name="Gone", route_key="gone", integration_url="https://a.example/g"
    )
    gone.save(push_to_aws=False)  # a record that says deployed, of a route AWS lacks
    ApiGatewayAdditionalRoute.objects.filter(route_key="gone").update(deployed=True)
    aws.client.update_api(ApiId=gateway.api_id, Name="Renamed in AWS")
    changes = gateway.sync_from_aws()
    gateway.refresh_from_db()
    assert gateway.api_name == "Renamed in AWS"
    assert gateway.target_base_endpoint == "https://old.example.com/ws/"
    assert gateway.api_endpoint.startswith("https://")
    assert "aws-only: added from AWS" in changes
    added = gateway.additional_routes.get(route_key="aws-only")
    assert (added.deployed, added.route_response) == (True, False)
    assert added.integration_url == "https://old.example.com/ws/aws-only"
    assert gateway.additional_routes.get(route_key="gone").deployed is False
    assert gateway.sync_from_aws() == []


def test_sync_from_aws_recovers_the_secret_aws_sends(aws, gateway):
    gateway.create_gateway()
    secret = ApiGateway.objects.get(pk=gateway.pk).gateway_secret
    ApiGateway.objects.filter(pk=gateway.pk).update(gateway_secret="")
    gateway = ApiGateway.objects.get(pk=gateway.pk)
    assert "updated gateway_secret" in gateway.sync_from_aws()
    gateway.refresh_from_db()
    assert gateway.gateway_secret == secret


def test_rotate_gateway_secret(aws, gateway):
    gateway.create_gateway()
    gateway.refresh_from_db()
    old = gateway.gateway_secret
    gateway.rotate_gateway_secret()
    gateway.refresh_from_db()
    assert gateway.previous_gateway_secret == old
    assert gateway.gateway_secret not in ("", old)
    for route in aws.routes(gateway.api_id).values():
        parameters = aws.integration(gateway.api_id, route)["RequestParameters"]
        assert parameters["integration.request.header.X-Gateway-Secret"] == (
            f"'{gateway.gateway_secret}'"
        )
    # A later sync that finds nothing to change retires the old secret.
    assert gateway.sync_to_aws() == [
        "dropped the previous gateway secret: every integration sends the new one"
    ]
    gateway.refresh_from_db()
    assert gateway.previous_gateway_secret == ""


def test_check_api_gateway_lists_what_differs_route_by_route(aws, capsys):
    gateway = legacy_gateway(aws)
    with pytest.raises(CommandError, match="difference"):
        call_command("checkApiGateway", pk=gateway.pk)
    out = capsys.readouterr().out
    assert "  $default\n" in out
    assert "route has no $default route response" in out
    assert "integration does not map the source IP, API id, gateway secret header" in out
    assert (
        "integration URI https://old.example.com/ws/connect is not "
        "https://app.example.com/ws/connect (under target_base_endpoint https://app.example.com/ws/)"
    ) in out
    assert "AWS is not known to send the gateway's secret" in out
    gateway.sync_to_aws()
    call_command("checkApiGateway", pk=gateway.pk)
    assert "all good" in capsys.readouterr().out


def test_check_api_gateway_names_a_stage_not_deployed_and_a_missing_secret(aws, gateway, capsys):
    gateway.create_gateway()
    gateway.refresh_from_db()
    aws.client.delete_stage(ApiId=gateway.api_id, StageName="prod")
    aws.client.create_stage(ApiId=gateway.api_id, StageName="prod")
    with pytest.raises(CommandError):
        call_command("checkApiGateway", pk=gateway.pk)
    assert "stage 'prod' is not deployed" in capsys.readouterr().out


def test_check_api_gateway_preconditions(api_gateway, aws):
    with pytest.raises(CommandError, match="not deployed"):
        call_command("checkApiGateway", pk=api_gateway.pk)
    with pytest.raises(CommandError, match="No ApiGateway with pk 999"):
        call_command("checkApiGateway", pk=999)
    ApiGateway.objects.filter(pk=api_gateway.pk).update(deployment_id="d1")
    with pytest.raises(CommandError, match="reading API abc123 failed"):
        call_command("checkApiGateway", pk=api_gateway.pk)


def test_update_api_gateway_integrations(aws, capsys):
    gateway = legacy_gateway(aws)
    call_command("updateApiGatewayIntegrations", "--pk", str(gateway.pk), "--dry-run")
    out = capsys.readouterr().out
    assert "Legacy: would change chat: integration does not map" in out
    integrations = aws.client.get_integrations(ApiId=gateway.api_id)["Items"]
    assert {tuple(i["RequestParameters"]) for i in integrations} == {tuple(OLD_PARAMETERS)}
    call_command("updateApiGatewayIntegrations")
    assert "Legacy: changed deployed stage 'prod'" in capsys.readouterr().out
    gateway.refresh_from_db()
    for integration in aws.client.get_integrations(ApiId=gateway.api_id)["Items"]:
        parameters = integration["RequestParameters"]
        assert parameters["integration.request.header.X-Gateway-Secret"] == (
            f"'{gateway.gateway_secret}'"
        )
        # Only the parameters: URIs are left to Sync to AWS, as 4.1.0's command did.
        assert integration["IntegrationUri"].startswith("https://old.example.com/")
    call_command("updateApiGatewayIntegrations", pk=gateway.pk)
    assert "Legacy: up to date." in capsys.readouterr().out


def test_update_api_gateway_integrations_reports_failures(aws, api_gateway, capsys):
    gateway = legacy_gateway(aws)
    aws.faults.add("GetRoutes", "AccessDeniedException", 403)
    with pytest.raises(CommandError, match="Failed for: Legacy"):
        call_command("updateApiGatewayIntegrations")
    out = capsys.readouterr().out
    assert "Test API: not deployed; skipped." in out
    assert gateway.pk


def test_sync_repairs_routes_made_by_hand(aws, gateway):
    gateway.create_gateway()
    gateway.refresh_from_db()
    api_id = gateway.api_id
    routes = aws.routes(api_id)
    for key in ("$default", "$connect"):
        aws.client.delete_route(ApiId=api_id, RouteId=routes[key]["RouteId"])
    aws.client.create_route(ApiId=api_id, RouteKey="$default", Target="integrations/i")
    aws.client.create_route(ApiId=api_id, RouteKey="$connect")  # targets nothing
    ApiGateway.objects.filter(pk=gateway.pk).update(api_description="described locally")
    gateway.refresh_from_db()
    changes = gateway.sync_to_aws()
    assert "API: Description differ from the record" in changes
    assert "$connect: route has no integration" in changes
    assert "$default: route has no integration" in changes
    assert "$default: route has no RouteResponseSelectionExpression" in changes
    assert "$default: route has no $default route response" in changes
    assert aws.client.get_api(ApiId=api_id)["Description"] == "described locally"
    routes = aws.routes(api_id)
    uri = aws.integration(api_id, routes["$connect"])["IntegrationUri"]
    assert uri == "https://app.example.com/ws/connect"
    assert aws.response_keys(api_id, routes["$default"]) == ["$default"]
    assert aws.routes(api_id)["$default"]["RouteResponseSelectionExpression"] == "$default"
    assert gateway.sync_to_aws() == []


def test_sync_with_a_client_given_retries_its_throttled_calls(aws, gateway):
    gateway.create_gateway()
    gateway.refresh_from_db()
    aws.faults.add("GetRoutes", "TooManyRequestsException", 429)
    client = boto3.client("apigatewayv2", region_name="us-east-1")
    assert gateway.sync_to_aws(client=client) == []
    assert gateway.sync_from_aws(client=client) == []
    assert aws.sleeps == [1.0]

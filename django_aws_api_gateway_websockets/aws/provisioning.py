"""Create a gateway's WebSocket API, routes, stage, deployment and custom domain in AWS.

Each step saves only once AWS has answered, so a failure part-way never marks the gateway
created and the call can be repeated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from ..conf import app_settings
from .clients import boto3_client

if TYPE_CHECKING:
    from ..models import ApiGateway, ApiGatewayAdditionalRoute

BUILT_IN_ROUTES = ("$connect", "$disconnect", "$default")


def create_gateway(gateway: ApiGateway) -> bool:
    """Create the API, its three routes, extra routes, the stage and a deployment.

    Returns True when created, False when it already was.
    """
    if gateway.api_created:
        return False
    if not gateway.target_base_endpoint:
        raise ValueError("A target base endpoint is required")
    client = boto3_client()
    routes_done: set[str] = set()
    stages_done: set[str] = set()
    if gateway.api_id:
        # A previous attempt failed part-way: carry on from what AWS already has.
        routes_done = {i["RouteKey"] for i in client.get_routes(ApiId=gateway.api_id)["Items"]}
        stages_done = {i["StageName"] for i in client.get_stages(ApiId=gateway.api_id)["Items"]}
    else:
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
    for route_key in BUILT_IN_ROUTES:
        if route_key not in routes_done:
            create_route(client, gateway, route_key, gateway.target_base_endpoint + route_key[1:])
    routes = list(gateway.additional_routes.filter(deployed=False))
    for route in routes:
        if route.route_key not in routes_done:
            create_route(client, gateway, route.route_key, route.integration_url)
    if gateway.stage_name not in stages_done:
        client.create_stage(ApiId=gateway.api_id, StageName=gateway.stage_name)
    deploy(client, gateway)
    with transaction.atomic():
        gateway.api_created = True
        gateway.save(update_fields=["api_created", "deployment_id", "updated_on"])
        gateway.additional_routes.filter(pk__in=[r.pk for r in routes]).update(deployed=True)
    return True


def create_additional_route(route: ApiGatewayAdditionalRoute) -> None:
    """Create one route of a deployed gateway, redeploy the stage and mark the route deployed."""
    gateway = route.api_gateway
    client = boto3_client()
    create_route(client, gateway, route.route_key, route.integration_url)
    deploy(client, gateway)
    gateway.save(update_fields=["deployment_id", "updated_on"])
    route.deployed = True
    route.save(update_fields=["deployed", "updated_on"])


def create_route(client: Any, gateway: ApiGateway, route_key: str, uri: str) -> None:
    integration = client.create_integration(**integration_params(gateway, uri))
    client.create_route(
        ApiId=gateway.api_id,
        ApiKeyRequired=False,
        AuthorizationType="NONE",
        RouteKey=route_key,
        RouteResponseSelectionExpression="$default",
        Target=f"integrations/{integration['IntegrationId']}",
    )


def integration_params(gateway: ApiGateway, uri: str) -> dict[str, Any]:
    parameters = {"integration.request.header.connectionId": "context.connectionId"}
    if app_settings.gateway_secrets:
        header = f"integration.request.header.{app_settings.gateway_secret_header}"
        parameters[header] = f"'{app_settings.gateway_secrets[0]}'"
    return {
        "ApiId": gateway.api_id,
        "ConnectionType": "INTERNET",
        "IntegrationMethod": "POST",
        "IntegrationType": "HTTP_PROXY",
        "IntegrationUri": uri,
        "PassthroughBehavior": "WHEN_NO_MATCH",
        "PayloadFormatVersion": "1.0",
        "RequestParameters": parameters,
        "TimeoutInMillis": 29000,
    }


def deploy(client: Any, gateway: ApiGateway) -> None:
    response = client.create_deployment(
        ApiId=gateway.api_id, Description=gateway.stage_description, StageName=gateway.stage_name
    )
    gateway.deployment_id = response["DeploymentId"]


def create_custom_domain(gateway: ApiGateway) -> bool:
    """Create the custom domain and map it to the stage. Route 53 records stay manual."""
    if not gateway.api_created:
        raise ValueError("The API needs to be created before calling this method")
    if not gateway.domain_name:
        raise ValueError("A domain name is required")
    if not gateway.certificate_arn:
        raise ValueError("A Certificate ARN is required")
    if gateway.custom_domain_created:
        return False
    config = {
        "CertificateArn": gateway.certificate_arn,
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    if gateway.hosted_zone_id:
        config["HostedZoneId"] = gateway.hosted_zone_id
    client = boto3_client()
    response = client.create_domain_name(
        DomainName=gateway.domain_name, DomainNameConfigurations=[config]
    )
    gateway.api_gateway_domain_name = response["DomainNameConfigurations"][0][
        "ApiGatewayDomainName"
    ]
    mapping = client.create_api_mapping(
        ApiId=gateway.api_id, DomainName=gateway.domain_name, Stage=gateway.stage_name
    )
    gateway.api_mapping_id = mapping["ApiMappingId"]
    gateway.custom_domain_created = True
    gateway.save(
        update_fields=[
            "api_gateway_domain_name",
            "api_mapping_id",
            "custom_domain_created",
            "updated_on",
        ]
    )
    return True

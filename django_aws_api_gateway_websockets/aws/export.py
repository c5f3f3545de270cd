"""What provisioning creates, as a CloudFormation template, and the IAM policy it all needs.

The template is built from the same descriptions provisioning sends to AWS
(``integrations.integration_request`` and ``route_request`` for each route of
``built_in_routes`` and ``additional_route``), so the two cannot drift apart. Resource types
and properties: "AWS::ApiGatewayV2::Api", "::Integration", "::Route", "::RouteResponse",
"::Stage", "::Deployment", "::DomainName" and "::ApiMapping" in the CloudFormation Template
Reference (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-api.html
and its neighbours ``...-integration.html``, ``-route.html``, ``-routeresponse.html``,
``-stage.html``, ``-deployment.html``, ``-domainname.html``, ``-apimapping.html``). The
gateway secret is a ``NoEcho`` parameter ("Parameters", CloudFormation User Guide,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html):
the template never contains it.

The policy: the web process and the workers post, read and delete connections through the
``@connections`` API, which ``execute-api:ManageConnections`` controls on
``arn:aws:execute-api:region:account-id:api-id/stage-name/METHOD/@connections`` ("Control
access to WebSocket APIs with IAM authorization",
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html).
Provisioning calls the API Gateway V2 control plane, whose IAM actions are the HTTP methods
(``apigateway:GET``, ``POST``, ``PATCH``, ``DELETE``) on ``arn:aws:apigateway:region::/apis/...``
and ``/domainnames/...`` resources ("Actions, resources, and condition keys for Amazon API
Gateway Management V2", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagementv2.html).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .integrations import (
    ROUTE_RESPONSE_KEY,
    WantedRoute,
    additional_route,
    built_in_routes,
    integration_request,
    legacy_secret_parameter,
    route_request,
    secret_parameter,
)

if TYPE_CHECKING:
    from ..models import ApiGateway

SECRET_PARAMETER = "GatewaySecret"
LEGACY_SECRET_PARAMETER = "LegacyGatewaySecret"  # 4.1.0's header, while it is configured
API = "Api"
STAGE = "Stage"
DEPLOYMENT = "Deployment"


def wanted_routes(gateway: ApiGateway) -> list[WantedRoute]:
    """Every route provisioning creates for ``gateway``, built-in ones first."""
    extra = gateway.additional_routes.order_by("route_key") if gateway.pk else []
    return built_in_routes(gateway) + [additional_route(route) for route in extra]


def logical_id(key: str, taken: set[str]) -> str:
    """A CloudFormation logical id (alphanumeric) for a route key, unique in ``taken``."""
    base = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", key)) or "Route"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


def route_resources(wanted: WantedRoute, name: str) -> dict[str, Any]:
    """The integration, route and (when it replies) route response of one route."""
    integration = integration_request("", wanted.uri, f"${{{SECRET_PARAMETER}}}")
    integration["ApiId"] = {"Ref": API}
    # The secret is the parameter's value, in the single quotes of a static value.
    parameters = integration["RequestParameters"]
    parameters[secret_parameter()] = {"Fn::Sub": parameters[secret_parameter()]}
    if legacy_secret_parameter() in parameters and legacy_secret_parameter() != secret_parameter():
        # ``request_parameters`` put 4.1.0's secret itself there: a parameter instead.
        parameters[legacy_secret_parameter()] = {"Fn::Sub": f"'${{{LEGACY_SECRET_PARAMETER}}}'"}
    route = route_request("", wanted, f"${{{name}Integration}}")
    route["ApiId"] = {"Ref": API}
    route["Target"] = {"Fn::Sub": route["Target"]}
    resources = {
        f"{name}Integration": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": integration},
        f"{name}Route": {"Type": "AWS::ApiGatewayV2::Route", "Properties": route},
    }
    if wanted.reply:
        resources[f"{name}RouteResponse"] = {
            "Type": "AWS::ApiGatewayV2::RouteResponse",
            "Properties": {
                "ApiId": {"Ref": API},
                "RouteId": {"Ref": f"{name}Route"},
                "RouteResponseKey": ROUTE_RESPONSE_KEY,
            },
        }
    return resources


def cloudformation_template(gateway: ApiGateway) -> dict[str, Any]:
    """The CloudFormation template of exactly what ``create_gateway`` (and, when a domain and
    certificate are configured, ``create_custom_domain``) creates for ``gateway``."""
    api: dict[str, Any] = {
        "Name": gateway.api_name,
        "ProtocolType": "WEBSOCKET",
        "RouteSelectionExpression": gateway.route_selection_expression,
        "ApiKeySelectionExpression": gateway.api_key_selection_expression,
        "DisableSchemaValidation": True,
    }
    if gateway.api_description:
        api["Description"] = gateway.api_description
    if gateway.tags:
        api["Tags"] = {str(k): str(v) for k, v in gateway.tags.items()}
    resources: dict[str, Any] = {API: {"Type": "AWS::ApiGatewayV2::Api", "Properties": api}}
    taken: set[str] = {API, STAGE, DEPLOYMENT}
    routes = []
    for wanted in wanted_routes(gateway):
        name = logical_id(wanted.key, taken)
        resources.update(route_resources(wanted, name))
        routes.append(f"{name}Route")
    resources[DEPLOYMENT] = {
        "Type": "AWS::ApiGatewayV2::Deployment",
        "DependsOn": routes,  # a deployment of an API without its routes fails
        "Properties": {"ApiId": {"Ref": API}, "Description": gateway.stage_description},
    }
    resources[STAGE] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Properties": {
            "ApiId": {"Ref": API},
            "StageName": gateway.stage_name,
            "Description": gateway.stage_description,
            "DeploymentId": {"Ref": DEPLOYMENT},
        },
    }
    outputs: dict[str, Any] = {
        "ApiId": {"Value": {"Ref": API}},
        "ApiEndpoint": {"Value": {"Fn::GetAtt": [API, "ApiEndpoint"]}},
        "StageName": {"Value": {"Ref": STAGE}},
    }
    if gateway.domain_name and gateway.certificate_arn:
        resources.update(custom_domain_resources(gateway))
        outputs["RegionalDomainName"] = {
            "Value": {"Fn::GetAtt": ["DomainName", "RegionalDomainName"]}
        }
        outputs["RegionalHostedZoneId"] = {
            "Value": {"Fn::GetAtt": ["DomainName", "RegionalHostedZoneId"]}
        }
    parameters: dict[str, Any] = {
        SECRET_PARAMETER: {
            "Type": "String",
            "NoEcho": True,
            "MinLength": 32,
            "AllowedPattern": "^[A-Za-z0-9_-]+$",
            "Description": "The gateway secret API Gateway sends with every event (URL-safe "
            "characters: it sits in a quoted static value). Record the API with "
            "importApiGateway, which reads it back.",
        }
    }
    legacy = legacy_secret_parameter()
    if any(legacy in r["Properties"].get("RequestParameters", {}) for r in resources.values()):
        parameters[LEGACY_SECRET_PARAMETER] = {
            "Type": "String",
            "NoEcho": True,
            "MinLength": 1,
            "Description": "The first of 4.1.0's WEBSOCKETS['gateway_secret'], sent in 4.1.0's "
            "header too while 4.1.0 processes may still check it.",
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"WebSocket API {gateway.api_name!r} as django-gateway-sockets makes it",
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": outputs,
    }


def custom_domain_resources(gateway: ApiGateway) -> dict[str, Any]:
    """The regional domain name (TLS 1.2, as WebSocket APIs need) and its mapping."""
    return {
        "DomainName": {
            "Type": "AWS::ApiGatewayV2::DomainName",
            "Properties": {
                "DomainName": gateway.domain_name,
                "DomainNameConfigurations": [
                    {
                        "CertificateArn": gateway.certificate_arn,
                        "EndpointType": "REGIONAL",
                        "SecurityPolicy": "TLS_1_2",
                    }
                ],
            },
        },
        "ApiMapping": {
            "Type": "AWS::ApiGatewayV2::ApiMapping",
            "Properties": {
                "ApiId": {"Ref": API},
                "DomainName": {"Ref": "DomainName"},
                "Stage": {"Ref": STAGE},
            },
        },
    }


def iam_policy(gateway: ApiGateway, region: str, account: str = "*") -> dict[str, Any]:
    """The least-privilege policy: one statement for web and workers, the rest provisioning's.

    Attach ``ManageConnections`` to the web process's and the workers' role; the others only
    where ``createApiGateway``, the sync commands or the admin's AWS actions run.
    """
    api_id = gateway.api_id or "*"
    connections = f"arn:aws:execute-api:{region}:{account}:{api_id}/{gateway.stage_name}"
    apis = f"arn:aws:apigateway:{region}::/apis"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ManageConnections",
            "Effect": "Allow",
            "Action": "execute-api:ManageConnections",
            # PostToConnection, GetConnection, DeleteConnection
            "Resource": [
                f"{connections}/{method}/@connections/*" for method in ("POST", "GET", "DELETE")
            ],
        },
        {
            "Sid": "ReadAndUpdateApi",
            "Effect": "Allow",
            "Action": ["apigateway:GET", "apigateway:PATCH"],
            "Resource": [f"{apis}/{api_id}"],  # GetApi, UpdateApi
        },
        {
            "Sid": "ProvisionRoutesIntegrationsStages",
            "Effect": "Allow",
            # routes, route responses, integrations, stages, deployments of this API
            "Action": [
                "apigateway:GET",
                "apigateway:POST",
                "apigateway:PATCH",
                "apigateway:DELETE",
            ],
            "Resource": [f"{apis}/{api_id}/*"],
        },
    ]
    if not gateway.api_id:
        statements.append(
            {
                "Sid": "CreateApi",
                "Effect": "Allow",
                "Action": "apigateway:POST",
                "Resource": [apis],
            }
        )
    if gateway.domain_name:
        domains = f"arn:aws:apigateway:{region}::/domainnames"
        domain = f"{domains}/{gateway.domain_name}"
        statements += [
            {
                "Sid": "CreateDomainName",
                "Effect": "Allow",
                "Action": "apigateway:POST",
                "Resource": [domains],
            },
            {
                "Sid": "ReadDomainName",
                "Effect": "Allow",
                "Action": "apigateway:GET",
                "Resource": [domain],
            },
            {
                "Sid": "MapDomainName",
                "Effect": "Allow",
                "Action": ["apigateway:GET", "apigateway:POST"],  # GetApiMappings, CreateApiMapping
                "Resource": [f"{domain}/apimappings"],
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}

"""A gateway's custom domain name and its API mapping, safe to retry after any failure.

No apigatewayv2 operation takes an idempotency token, and CreateDomainName answers 409
``ConflictException`` for a name that exists ("API Gateway V2 REST API reference,
DomainNames", https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames.html):
an existing domain is read back (GetDomainName) and an existing mapping of the same API and
stage reused (GetApiMappings), so a retry finishes what a failed attempt started.

``HostedZoneId`` and ``ApiGatewayDomainName`` are outputs: API Gateway's regional domain
name and its Route 53 zone, the alias target of your DNS record ("Set up a Regional custom
domain name in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-regional-api-custom-domain-create.html).
WebSocket APIs support TLS 1.2 only ("Set up custom domain names for WebSocket APIs in API
Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-custom-domain-names.html).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .provisioning import provisioning_client
from .remote import error_code, pages

if TYPE_CHECKING:
    from ..models import ApiGateway


def create_custom_domain(gateway: ApiGateway) -> bool:
    """Create (or reuse) the custom domain and map it to the stage. DNS records stay yours.

    Each step is recorded as AWS answers it (``domain_created``, then ``mapped``).
    """
    if gateway.needs_api_creation:
        raise ValueError("The API needs to be created before calling this method")
    if not gateway.domain_name:
        raise ValueError("A domain name is required")
    if not gateway.certificate_arn:
        raise ValueError("A Certificate ARN is required")
    if gateway.provisioning_status == gateway.Status.MAPPED:
        return False
    client = provisioning_client()
    configuration = regional_configuration(domain_name(client, gateway))
    gateway.record(
        api_gateway_domain_name=configuration.get("ApiGatewayDomainName", ""),
        hosted_zone_id=configuration.get("HostedZoneId") or gateway.hosted_zone_id,
        provisioning_status=gateway.Status.DOMAIN_CREATED,
    )
    gateway.record(
        api_mapping_id=api_mapping_id(client, gateway), provisioning_status=gateway.Status.MAPPED
    )
    return True


def domain_name(client: Any, gateway: ApiGateway) -> dict[str, Any]:
    """The domain name as AWS holds it: created now, or as an earlier attempt created it."""
    configuration = {
        "CertificateArn": gateway.certificate_arn,
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    try:
        return client.create_domain_name(
            DomainName=gateway.domain_name, DomainNameConfigurations=[configuration]
        )
    except ClientError as error:
        if error_code(error) != "ConflictException":
            raise
    return client.get_domain_name(DomainName=gateway.domain_name)


def regional_configuration(domain: dict[str, Any]) -> dict[str, Any]:
    """The (one) endpoint configuration of a domain as AWS answers it: certificate and outputs."""
    configurations: list[dict[str, Any]] = domain.get("DomainNameConfigurations") or [{}]
    return configurations[0]


def existing_mapping(client: Any, domain: str, api_id: str, stage: str) -> dict[str, Any] | None:
    """The mapping of ``domain`` to ``api_id``'s ``stage`` in AWS, if there is one."""
    for mapping in pages(client.get_api_mappings, DomainName=domain):
        if mapping.get("ApiId") == api_id and mapping.get("Stage") == stage:
            return mapping
    return None


def api_mapping_id(client: Any, gateway: ApiGateway) -> str:
    """The id of the domain's mapping to this API and stage, created when there is none."""
    mapping = existing_mapping(client, gateway.domain_name, gateway.api_id, gateway.stage_name)
    if mapping is not None:
        return mapping["ApiMappingId"]
    response = client.create_api_mapping(
        ApiId=gateway.api_id, DomainName=gateway.domain_name, Stage=gateway.stage_name
    )
    return response["ApiMappingId"]


def mapped_domain(client: Any, domain: str, api_id: str, stage: str) -> dict[str, str]:
    """What a record holds of custom domain ``domain``, read back from AWS (GetDomainName,
    GetApiMappings: what ``exportApiGateway --format iam-policy`` allows for it).

    Raises ``ValueError`` when the domain is not mapped to ``api_id``'s ``stage``.
    """
    try:
        found = client.get_domain_name(DomainName=domain)
    except ClientError as error:
        if error_code(error) != "NotFoundException":
            raise
        raise ValueError(f"Custom domain {domain!r} does not exist in AWS.") from error
    mapping = existing_mapping(client, domain, api_id, stage)
    if mapping is None:
        raise ValueError(f"Custom domain {domain!r} is not mapped to API {api_id} stage {stage!r}.")
    configuration = regional_configuration(found)
    return {
        "domain_name": domain,
        "certificate_arn": configuration.get("CertificateArn", ""),
        "api_gateway_domain_name": configuration.get("ApiGatewayDomainName", ""),
        "hosted_zone_id": configuration.get("HostedZoneId", ""),
        "api_mapping_id": mapping["ApiMappingId"],
    }

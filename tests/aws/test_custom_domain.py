"""Custom domains against moto: created once, safe to retry after a failure part-way."""

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.django_db


@pytest.fixture
def created(aws, gateway):
    gateway.domain_name = "ws.example.com"
    gateway.certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    gateway.save()
    gateway.create_gateway()
    gateway.refresh_from_db()
    return gateway


def test_create_custom_domain(aws, created):
    assert created.create_custom_domain() is True
    created.refresh_from_db()
    domain = aws.client.get_domain_name(DomainName="ws.example.com")
    assert domain["DomainNameConfigurations"] == [
        {
            "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
            "EndpointType": "REGIONAL",
            "SecurityPolicy": "TLS_1_2",
        }
    ]  # no HostedZoneId sent: it is AWS's answer, and moto (unlike AWS) gives none
    (mapping,) = aws.client.get_api_mappings(DomainName="ws.example.com")["Items"]
    assert (mapping["ApiId"], mapping["Stage"]) == (created.api_id, "prod")
    assert created.api_mapping_id == mapping["ApiMappingId"]
    assert created.custom_domain_created is True
    assert created.api_gateway_domain_name == ""


def test_retry_after_the_mapping_failed_reuses_the_domain(aws, created):
    aws.faults.add("CreateApiMapping", "BadRequestException", 400)
    with pytest.raises(ClientError):
        created.create_custom_domain()
    created.refresh_from_db()
    assert created.provisioning_status == "domain_created"  # the mapping is what is left
    assert created.create_custom_domain() is True  # ConflictException -> GetDomainName
    assert aws.faults.calls["CreateDomainName"] == 2
    assert aws.faults.calls["GetDomainName"] == 1
    assert len(aws.client.get_domain_names()["Items"]) == 1
    assert len(aws.client.get_api_mappings(DomainName="ws.example.com")["Items"]) == 1


def test_retry_after_the_record_was_not_saved_reuses_the_mapping(aws, created):
    assert created.create_custom_domain() is True
    mapping_id = created.api_mapping_id
    type(created).objects.filter(pk=created.pk).update(provisioning_status="deployed")
    created.refresh_from_db()
    assert created.create_custom_domain() is True
    assert created.api_mapping_id == mapping_id
    assert aws.faults.calls["CreateApiMapping"] == 1


def test_other_domain_errors_are_raised(aws, created):
    aws.faults.add("CreateDomainName", "AccessDeniedException", 403)
    with pytest.raises(ClientError, match="AccessDeniedException"):
        created.create_custom_domain()

"""The AWS provisioning commands."""

from unittest.mock import Mock, patch

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db
PATCH_CLIENT = "django_aws_api_gateway_websockets.models.get_boto3_client"


def test_create_api_gateway_command(capsys):
    from django_aws_api_gateway_websockets.models import ApiGateway

    gateway = ApiGateway.objects.create(
        api_name="Cmd", target_base_endpoint="https://a.example/ws/"
    )
    client = Mock()
    client.create_api.return_value = {"ApiId": "c1", "ApiEndpoint": "wss://c1"}
    client.create_integration.return_value = {"IntegrationId": "i"}
    client.create_deployment.return_value = {"DeploymentId": "d"}
    with patch(PATCH_CLIENT, return_value=client):
        call_command("createApiGateway", pk=gateway.pk)
        call_command("createApiGateway", "--pk", str(gateway.pk))
    out = capsys.readouterr().out
    assert "Cmd: API Gateway created." in out
    assert "Cmd: API Gateway already existed; nothing done." in out


def test_create_custom_domain_command_reports_preconditions(api_gateway):
    with pytest.raises(CommandError, match="A domain name is required"):
        call_command("createCustomDomain", pk=api_gateway.pk)


def test_unknown_pk():
    with pytest.raises(CommandError, match="No ApiGateway with pk 999"):
        call_command("createApiGateway", pk=999)

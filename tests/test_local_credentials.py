"""Local development needs no AWS account; `check --deploy` names missing credentials."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from django_aws_api_gateway_websockets.models import get_boto3_client

CHECK_ID = "django_aws_api_gateway_websockets.W004"


@pytest.fixture
def no_ambient_credentials(settings, monkeypatch, tmp_path):
    """No keys in settings, the environment or the shared files."""
    settings.AWS_ACCESS_KEY_ID = None
    settings.AWS_SECRET_ACCESS_KEY = None
    settings.AWS_IAM_PROFILE = None
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:8001/local", "http://localhost:8001/local", "http://[::1]:8001/x"],
)
def test_a_loopback_endpoint_signs_with_local_keys(no_ambient_credentials, endpoint):
    client = get_boto3_client("apigatewaymanagementapi", endpoint_url=endpoint)
    credentials = client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("local", "local")


def test_an_aws_endpoint_never_gets_local_keys(no_ambient_credentials):
    client = get_boto3_client(
        "apigatewaymanagementapi",
        endpoint_url="https://abc123.execute-api.us-east-1.amazonaws.com/prod",
    )
    assert client._request_signer._credentials is None


def test_keys_in_settings_win_on_loopback(settings):
    settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY = "AKIDSETTINGS", "secret"
    client = get_boto3_client("apigatewaymanagementapi", endpoint_url="http://127.0.0.1:1/x")
    assert client._request_signer._credentials.access_key == "AKIDSETTINGS"


def deploy_warnings() -> list[str]:
    return [m.id for m in run_checks(include_deployment_checks=True) if m.id == CHECK_ID]


def test_deploy_check_names_missing_credentials_for_aws(no_ambient_credentials):
    (message,) = [m for m in run_checks(include_deployment_checks=True) if m.id == CHECK_ID]
    assert "No AWS credentials found for the Management API" in message.msg
    assert "AWS_ACCESS_KEY_ID" in message.hint


def test_deploy_check_is_quiet_for_a_local_gateway(no_ambient_credentials, settings):
    settings.WEBSOCKETS = {"management_endpoint": "http://127.0.0.1:8001/{stage}"}
    assert deploy_warnings() == []


def test_deploy_check_accepts_environment_keys(no_ambient_credentials, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert deploy_warnings() == []


def test_deploy_check_accepts_a_task_role(no_ambient_credentials, monkeypatch):
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x")
    assert deploy_warnings() == []


def test_plain_check_never_looks_for_credentials(no_ambient_credentials):
    assert [m for m in run_checks() if m.id == CHECK_ID] == []

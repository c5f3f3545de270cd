"""The system check for provisioned gateways without a secret, and the new settings' checks."""

from unittest.mock import patch

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import ProgrammingError

from django_aws_api_gateway_websockets.checks import check_gateway_secrets, check_settings
from django_aws_api_gateway_websockets.models import ApiGateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def unprotected(db):
    return ApiGateway.objects.create(api_name="Open", api_id="open1", api_created=True)


def test_a_provisioned_gateway_without_a_secret_is_an_error(unprotected, settings):
    settings.DEBUG = False
    (error,) = check_gateway_secrets(databases=["default"])
    assert error.id == "django_aws_api_gateway_websockets.E009"
    assert "Open" in error.msg
    assert "updateApiGatewayIntegrations" in error.hint


def test_manage_py_check_with_a_database_fails(unprotected, settings):
    settings.DEBUG = False
    with pytest.raises(SystemCheckError, match="E009"):
        call_command("check", databases=["default"])


@pytest.mark.parametrize(
    "change",
    [
        {"DEBUG": True},
        {"WEBSOCKETS": {"gateway_secrets": ["a-shared-secret"]}},
    ],
)
def test_debug_or_a_shared_secret_is_enough(unprotected, settings, change):
    settings.DEBUG = False
    for name, value in change.items():
        setattr(settings, name, value)
    assert check_gateway_secrets(databases=["default"]) == []


def test_records_made_by_hand_never_break_a_plain_check(unprotected, settings):
    """Without named databases (manage.py check in CI, test suites) nothing is read."""
    settings.DEBUG = False
    assert check_gateway_secrets() == []
    call_command("check")


def test_gateways_with_their_own_secret_or_not_created_pass(settings):
    settings.DEBUG = False
    ApiGateway.objects.create(api_name="Own", api_created=True, gateway_secret="s" * 43)
    ApiGateway.objects.create(api_name="Pending")
    assert check_gateway_secrets(databases=["default"]) == []


def test_a_database_not_migrated_yet_is_skipped(settings):
    settings.DEBUG = False
    with patch.object(ApiGateway.objects, "using", side_effect=ProgrammingError("no column")):
        assert check_gateway_secrets(databases=["default"]) == []


@pytest.mark.parametrize("key", ["source_ip_header", "api_id_header"])
def test_mapped_header_names_are_checked(settings, key):
    settings.WEBSOCKETS = {key: ""}
    (error,) = check_settings()
    assert error.id.endswith("E005") and key in error.msg


def test_push_changes_to_aws_must_be_a_bool(settings):
    settings.WEBSOCKETS = {"push_changes_to_aws": "yes"}
    (error,) = check_settings()
    assert error.id.endswith("E008")

"""``check --deploy`` names gateways AWS sends no secret to; nothing blocks check or migrate."""

from unittest.mock import patch

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import ProgrammingError

from django_aws_api_gateway_websockets.checks import (
    check_gateway_secrets,
    check_settings,
    check_unsigned_events,
)
from django_aws_api_gateway_websockets.models import ApiGateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def unprotected(db):
    """A provisioned gateway as 4.1.0 left it: AWS sends it no secret (its own is pending)."""
    return ApiGateway.objects.create(api_name="Open", api_id="open1", api_created=True)


def test_check_deploy_names_every_gateway_aws_sends_no_secret_to(unprotected, settings):
    settings.WEBSOCKETS = {"allow_unsigned_events": False}  # the default outside the plugin
    ApiGateway.objects.create(api_name="Typed in", api_id="typed1")
    (error,) = check_gateway_secrets()
    assert error.id == "django_aws_api_gateway_websockets.E009"
    assert f"Open (pk {unprotected.pk})" in error.msg and "Typed in" in error.msg
    assert "their events are refused" in error.msg
    assert "updateApiGatewayIntegrations --pk N" in error.hint
    with pytest.raises(SystemCheckError, match="E009"):
        call_command("check", deploy=True)


def test_check_deploy_says_when_such_events_are_accepted(unprotected, settings):
    settings.WEBSOCKETS = {"allow_unsigned_events": True}
    (error,) = check_gateway_secrets(databases=["default"])
    assert "accepted from anyone" in error.msg
    (warning,) = check_unsigned_events()
    assert warning.id == "django_aws_api_gateway_websockets.W020"


def test_neither_check_nor_migrate_is_ever_blocked(unprotected, settings):
    """4.1.0's default (no configured secret) with DEBUG off: E009 blocked migrate before."""
    settings.DEBUG = False
    call_command("check")
    call_command("check", databases=["default"])
    call_command("migrate", verbosity=0)


def test_a_shared_secret_protects_every_gateway(unprotected, settings):
    for configured in ({"gateway_secrets": ["a-shared-secret"]}, {"gateway_secret": "s" * 40}):
        settings.WEBSOCKETS = configured
        assert check_gateway_secrets(databases=["default"]) == []


def test_gateways_aws_sends_a_secret_to_or_not_in_aws_pass(settings):
    ApiGateway.objects.create(api_name="Own", api_id="own1", gateway_secret="s" * 43)
    ApiGateway.objects.create(api_name="Pending")
    assert check_gateway_secrets(databases=["default"]) == []
    # The pytest plugin's default is not the project's opting out: no W020.
    assert check_unsigned_events() == []


def test_a_database_not_migrated_yet_is_skipped(settings):
    with patch.object(ApiGateway.objects, "using", side_effect=ProgrammingError("no column")):
        assert check_gateway_secrets(databases=["default"]) == []


@pytest.mark.parametrize("value", ["short", "x" * 40 + "'", ["s" * 40, 3], 7])
def test_4_1_0s_gateway_secret_must_fit_a_static_value(settings, value):
    settings.WEBSOCKETS = {"gateway_secret": value}
    assert [e.id for e in check_settings()] == ["django_aws_api_gateway_websockets.E013"]


def test_allow_unsigned_events_must_be_a_bool(settings):
    settings.WEBSOCKETS = {"allow_unsigned_events": "yes"}
    (error,) = check_settings()
    assert error.id.endswith("E012")


@pytest.mark.parametrize("key", ["source_ip_header", "api_id_header"])
def test_mapped_header_names_are_checked(settings, key):
    settings.WEBSOCKETS = {key: ""}
    (error,) = check_settings()
    assert error.id.endswith("E005") and key in error.msg


def test_push_changes_to_aws_must_be_a_bool(settings):
    settings.WEBSOCKETS = {"push_changes_to_aws": "yes"}
    (error,) = check_settings()
    assert error.id.endswith("E008")

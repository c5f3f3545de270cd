"""System checks name what is wrong with the settings."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from django_aws_api_gateway_websockets import boto3_factory as factory
from django_aws_api_gateway_websockets.checks import check_settings
from django_aws_api_gateway_websockets.conf import AppSettings, app_settings, integration_hosts
from django_aws_api_gateway_websockets.fields import validate_integration_host


def ids(settings_errors):
    return [e.id.rsplit(".", 1)[1] for e in settings_errors]


def test_defaults_pass():
    assert check_settings() == []


def test_not_a_dict(settings):
    settings.WEBSOCKETS = ["nope"]
    assert ids(check_settings()) == ["E001"]


def test_unknown_key(settings):
    settings.WEBSOCKETS = {"delivery_batchsize": 10}
    (error,) = check_settings()
    assert error.msg == "WEBSOCKETS has an unknown key 'delivery_batchsize'."
    assert "delivery_batch_size" in error.hint


@pytest.mark.parametrize("value", [0, -1, "10", True, None])
def test_numbers_must_be_positive(settings, value):
    settings.WEBSOCKETS = {"delivery_concurrency": value}
    (error,) = check_settings()
    assert error.id.endswith("E003")
    assert "delivery_concurrency" in error.msg


@pytest.mark.parametrize("value", [0, -5, "fast", True])
def test_the_post_budget_is_a_positive_rate_or_none(settings, value):
    settings.WEBSOCKETS = {"post_rate_limit": value}
    assert ids(check_settings()) == ["E060"]
    settings.WEBSOCKETS = {"post_rate_limit": None, "realtime_lane_threads": 0}
    assert check_settings() == []


@pytest.mark.parametrize("key", ["realtime_queue", "delivery_queue", "maintenance_queue"])
def test_queue_names(settings, key):
    settings.WEBSOCKETS = {key: ""}
    assert ids(check_settings()) == ["E061"]


def test_a_fast_lane_on_the_delivery_queue_is_no_lane(settings):
    settings.WEBSOCKETS = {"realtime_queue": "websockets.delivery"}
    assert ids(check_settings()) == ["W060"]


@pytest.mark.parametrize("value", ["one-secret", [""], [1]])
def test_gateway_secrets(settings, value):
    settings.WEBSOCKETS = {"gateway_secrets": value}
    assert ids(check_settings()) == ["E004"]


@pytest.mark.parametrize("key", ["gateway_secret_header", "api_id_header", "source_ip_header"])
@pytest.mark.parametrize("value", ["", "X Source Ip", "X-Ip:", 5])
def test_header_names(settings, key, value):
    settings.WEBSOCKETS = {key: value}
    (error,) = check_settings()
    assert error.id.endswith("E005")
    assert key in error.msg


@pytest.mark.parametrize("value", ["https://{api}.example/{stage}", 5, "https://{0}"])
def test_management_endpoint(settings, value):
    settings.WEBSOCKETS = {"management_endpoint": value}
    assert ids(check_settings()) == ["E006"]


def test_region_missing(settings):
    settings.AWS_GATEWAY_REGION_NAME = None
    assert ids(check_settings()) == ["W001"]


def test_visibility_timeout_too_short(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 120}
    assert ids(check_settings()) == ["W002"]


def test_lease_renewed_too_late_to_be_kept(settings):
    settings.WEBSOCKETS = {"delivery_lease_seconds": 10, "delivery_lease_renew_seconds": 6}
    assert ids(check_settings()) == ["E011"]
    settings.WEBSOCKETS = {"delivery_lease_seconds": 10, "delivery_lease_renew_seconds": 5}
    assert ids(check_settings()) == []


def test_no_grace_for_new_connections_is_allowed(settings):
    settings.WEBSOCKETS = {"gone_grace_seconds": 0}
    assert ids(check_settings()) == []
    settings.WEBSOCKETS = {"gone_grace_seconds": -1}
    [error] = check_settings()
    assert "must be a non-negative number" in error.msg


@pytest.mark.parametrize("value", ["fast", "", 5])
def test_delivery_transport(settings, value):
    settings.WEBSOCKETS = {"delivery_transport": value}
    assert ids(check_settings()) == ["E007"]


# Invalid values: the default is used, as in 4.x, and the check says so


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("delivery_concurrency", 0),
        ("delivery_batch_size", "500"),
        ("token_expiry_seconds", True),
        ("gone_grace_seconds", -1),
        ("push_changes_to_aws", "yes"),
        ("delivery_transport", "fast"),
        ("api_id_header", "X Api"),
        ("management_endpoint", "https://{api}.example/{stage}"),
        ("delivery_queue", ""),
        ("allowed_integration_hosts", [5]),
    ],
)
def test_an_invalid_value_is_never_used_and_the_check_says_the_default_is(settings, key, value):
    settings.WEBSOCKETS = {key: value}
    default = AppSettings.declared()[key].default

    assert getattr(app_settings, key) == default
    (error,) = check_settings()
    assert error.msg.startswith(f"WEBSOCKETS[{key!r}] must be ")
    assert error.hint == f"The default, {default!r}, is used until it is fixed."


def test_websockets_none_is_unset(settings):
    settings.WEBSOCKETS = None
    assert check_settings() == []
    assert app_settings.delivery_batch_size == 500
    call_command("check", fail_level="ERROR", stdout=StringIO())


def test_an_empty_list_of_integration_hosts_allows_any_host(settings):
    settings.WEBSOCKETS = {"allowed_integration_hosts": []}
    assert check_settings() == []
    assert integration_hosts() is None
    validate_integration_host("https://anything.example/ws/", "target_base_endpoint")
    settings.WEBSOCKETS = {"allowed_integration_hosts": ["*.example.com"]}
    with pytest.raises(ValidationError):
        validate_integration_host("https://other.test/ws/", "target_base_endpoint")


# The region: needed for AWS, not for the local gateway


def test_no_region_is_fine_for_the_local_gateway(settings):
    settings.AWS_GATEWAY_REGION_NAME = None
    settings.AWS_REGION_NAME = None
    settings.WEBSOCKETS = {"management_endpoint": "http://127.0.0.1:8001/{stage}"}
    assert check_settings() == []
    client = factory.get_boto3_client(
        "apigatewaymanagementapi", endpoint_url="http://127.0.0.1:8001/local"
    )
    assert client.meta.region_name == factory.LOCAL_REGION


def test_no_region_for_aws_names_the_setting(settings):
    settings.AWS_GATEWAY_REGION_NAME = None
    settings.AWS_REGION_NAME = None
    (warning,) = check_settings()
    assert "AWS_GATEWAY_REGION_NAME" in warning.msg and "fails in the worker" in warning.msg
    with pytest.raises(RuntimeError, match="AWS_GATEWAY_REGION_NAME or AWS_REGION_NAME must"):
        factory.get_boto3_client("apigatewaymanagementapi", endpoint_url="https://x.example/s")


@pytest.mark.django_db
def test_a_send_without_a_region_fails_in_the_task_naming_the_setting(
    websocket_session, settings, unguarded_factory
):
    """What a worker logs for the task (eager here, so it is raised to the caller)."""
    settings.AWS_GATEWAY_REGION_NAME = None
    settings.AWS_REGION_NAME = None
    with pytest.raises(RuntimeError, match="AWS_GATEWAY_REGION_NAME or AWS_REGION_NAME must"):
        websocket_session.send_message({"type": "hello"})

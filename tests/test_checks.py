"""System checks name what is wrong with the settings."""

import pytest

from django_aws_api_gateway_websockets.checks import check_settings


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

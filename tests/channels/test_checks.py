"""System checks of the channel settings."""

from __future__ import annotations

import pytest

from django_aws_api_gateway_websockets.checks import check_settings
from django_aws_api_gateway_websockets.conf import app_settings


def ids(errors) -> list[str]:
    return [e.id.rsplit(".", 1)[-1] for e in errors]


def test_defaults_pass(settings):
    settings.WEBSOCKETS = {}
    assert [i for i in ids(check_settings()) if i in ("E070", "E071")] == []


@pytest.mark.parametrize(
    "value",
    [
        [],
        {"room-*": {"size": 10}},
        {"room-*": {"size": -1, "age_seconds": 60}},
        {"room-*": {"size": 10, "age_seconds": 0}},
        {"room-*": {"size": True, "age_seconds": 60}},
        {1: {"size": 10, "age_seconds": 60}},
    ],
)
def test_channel_history_must_map_patterns_to_policies(settings, value):
    settings.WEBSOCKETS = {"channel_history": value}
    assert ids(check_settings()) == ["E070"]
    # The refused value is never used: the default is.
    assert app_settings.channel_history == {"*": {"size": 100, "age_seconds": 300}}


@pytest.mark.parametrize("value", ["room-*", [""], [3]])
def test_presence_channels_must_be_patterns(settings, value):
    settings.WEBSOCKETS = {"presence_channels": value}
    assert ids(check_settings()) == ["E071"]
    assert app_settings.presence_channels == []


@pytest.mark.parametrize("key", ["presence_member_cap", "presence_count_interval_seconds"])
def test_presence_numbers_must_be_positive(settings, key):
    settings.WEBSOCKETS = {key: 0}
    assert "E003" in ids(check_settings())

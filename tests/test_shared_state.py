"""The Redis of shared state: the configured URL, else the broker's; one client per URL."""

from __future__ import annotations

import pytest

from django_aws_api_gateway_websockets import shared_state


def test_the_broker_url_serves_when_no_redis_url_is_set(settings):
    settings.WEBSOCKETS = {}
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    assert shared_state.redis_url() == "redis://127.0.0.1:6379/15"
    assert shared_state.connection().ping()


def test_redis_url_wins_and_each_url_has_one_client(settings):
    settings.WEBSOCKETS = {"redis_url": "redis://127.0.0.1:6379/14"}
    first = shared_state.connection()
    assert first is shared_state.connection()
    assert first.connection_pool.connection_kwargs["db"] == 14


def test_a_broker_that_is_not_redis_is_refused_with_the_setting_named(settings):
    settings.WEBSOCKETS = {}
    settings.CELERY_BROKER_URL = "amqp://guest@localhost//"
    with pytest.raises(ValueError, match="WEBSOCKETS\\['redis_url'\\]"):
        shared_state.connection()

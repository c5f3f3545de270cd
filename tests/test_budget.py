"""The account's post budget: one GCRA limiter in the shared Redis for every worker."""

from __future__ import annotations

import uuid
from unittest.mock import patch

import pytest

from django_aws_api_gateway_websockets import shared_state
from django_aws_api_gateway_websockets.delivery import budget
from django_aws_api_gateway_websockets.models import WebSocketSession


@pytest.fixture
def key(settings):
    """A budget of its own in the test Redis, removed afterwards."""
    name = f"test-{uuid.uuid4().hex}"
    settings.WEBSOCKETS = {"post_rate_key": name, "post_rate_limit": 1, "post_rate_burst": 2}
    redis_key = budget.budget_key("eu-west-1", None)
    yield redis_key
    shared_state.connection().delete(redis_key)


def reserve(key, rate, burst, posts):
    first, interval = budget._script()(keys=[key], args=[rate, burst, posts])
    return float(first), float(interval)


def test_the_burst_goes_at_once_then_posts_are_spaced_at_the_rate(key):
    first, interval = reserve(key, 1, 2, 2)
    assert first <= 0 and interval == pytest.approx(1.0)
    # The burst is spent: the next posts are due one second apart, from now on.
    first, _ = reserve(key, 1, 2, 2)
    assert -0.5 < first <= 0
    first, _ = reserve(key, 1, 2, 2)
    assert 1.5 < first <= 2.0


def test_two_processes_draw_from_one_budget(key):
    """Two workers (two ``Budget`` objects, as in two processes) share the reservations."""
    one, two = budget.Budget(key), budget.Budget(key)
    one._reserve(1, 0.0)
    two._reserve(1, 0.0)
    # The second worker's slots come after the first worker's eight.
    assert two.slots[0] - one.slots[0] > 5


def test_a_429_pauses_everyone_and_lowers_the_rate_once_per_moment(key):
    reserve(key, 10, 5, 1)
    budget._script()(keys=[key], args=[10, 5, 0])
    budget._script()(keys=[key], args=[10, 5, 0])  # the same exhausted budget, seen again
    first, interval = reserve(key, 10, 5, 1)
    # No burst left and 50 posts' worth of pause (5 s at 10/s), at 85% of the rate.
    assert first > 4.5
    assert interval == pytest.approx(1 / 8.5, rel=0.01)


def test_budgets_are_per_region_and_access_key(settings):
    settings.WEBSOCKETS = {}
    assert budget.budget_key("eu-west-1", "AKIA1") != budget.budget_key("us-east-1", "AKIA1")
    assert budget.budget_key("eu-west-1", "AKIA1") != budget.budget_key("eu-west-1", "AKIA2")
    settings.WEBSOCKETS = {"post_rate_key": "account-1"}
    assert budget.budget_key("eu-west-1", "AKIA1") == budget.budget_key("eu-west-1", "AKIA2")


def test_without_redis_posts_go_unlimited(settings):
    settings.WEBSOCKETS = {"redis_url": "redis://127.0.0.1:9/0", "post_rate_key": "down"}
    spend = budget.Budget(budget.budget_key(None, None))
    spend.take()
    spend.take()  # skipped at once after the first failure
    assert spend.skip_until > 0


def test_no_limit_means_no_redis(settings):
    settings.WEBSOCKETS = {"post_rate_limit": None}
    with patch.object(budget, "_script") as script:
        budget.Budget("any").take()
        budget.Budget("any").throttled()
    script.assert_not_called()


@pytest.mark.django_db
def test_every_post_of_a_send_draws_from_the_budget(key, websocket_session, settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "post_rate_limit": 1000, "post_rate_burst": 500}
    spent = []
    original = budget.Budget.take

    def take(self):
        spent.append(self.key)
        original(self)

    with (
        patch.object(budget.Budget, "take", take),
        patch("django_aws_api_gateway_websockets.models.get_boto3_client"),
    ):
        WebSocketSession.objects.filter(pk=websocket_session.pk).send_message({"type": "x"})
    assert spent == [budget.budget_key(None, None)]
    assert shared_state.connection().delete(spent[0]) == 1

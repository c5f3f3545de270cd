"""Which object delivery posts through, and when it is made again."""

from __future__ import annotations

import os
import warnings
from unittest.mock import MagicMock, patch

import pytest
from botocore.client import BaseClient

from django_aws_api_gateway_websockets.aws import clients
from django_aws_api_gateway_websockets.aws.direct_post import DirectPoster

ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
PATCH_CLIENT = "django_aws_api_gateway_websockets.models.get_boto3_client"


# These tests look at the clients made for an AWS endpoint and post nothing.
pytestmark = pytest.mark.usefixtures("unguarded_factory")


def test_default_is_a_direct_poster_over_the_apps_client():
    poster = clients.management_poster(ENDPOINT)
    assert isinstance(poster, DirectPoster)
    assert poster.client is clients.management_client(ENDPOINT)
    assert (poster.host, poster.base_path, poster.region) == (
        "abc123.execute-api.us-east-1.amazonaws.com",
        "/prod",
        "us-east-1",
    )
    assert clients.management_poster(ENDPOINT) is poster


def test_boto3_transport_posts_through_the_client(settings):
    settings.WEBSOCKETS = {"delivery_transport": "boto3"}
    poster = clients.management_poster(ENDPOINT)
    assert isinstance(poster, BaseClient)
    assert poster is clients.management_client(ENDPOINT)


def test_a_replaced_factory_gets_every_call():
    mock_client = MagicMock()
    with patch(PATCH_CLIENT, return_value=mock_client) as factory:
        assert clients.management_poster(ENDPOINT) is mock_client
    assert factory.call_args.args == ("apigatewaymanagementapi",)
    assert factory.call_args.kwargs["endpoint_url"] == ENDPOINT
    # Once the patch is gone, the app's own client (and the direct poster) is back.
    assert isinstance(clients.management_poster(ENDPOINT), DirectPoster)


def test_a_client_direct_posting_cannot_stand_in_for_is_used_as_it_is():
    endpoint = "https://proxied.execute-api.us-east-1.amazonaws.com/prod"
    with patch("django_aws_api_gateway_websockets.aws.clients.supports", return_value=False):
        poster = clients.management_poster(endpoint)
    assert poster is clients.management_client(endpoint)


def test_a_forked_child_starts_without_its_parents_connections():
    clients.management_poster(ENDPOINT)
    assert clients._posters and clients._clients
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a threaded process is risky; this child only exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        os._exit(0 if not clients._posters and not clients._clients else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert clients._posters, "the parent keeps its own"

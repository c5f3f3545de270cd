"""Fixtures shared by the test packages."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

import pytest

from django_aws_api_gateway_websockets import boto3_factory as factory


@pytest.fixture
def unguarded_factory() -> Iterator[None]:
    """The app's own ``get_boto3_client``, without the pytest plugin's guard.

    The guard hooks into clients for AWS endpoints, which sends them through botocore; tests
    of which poster delivery picks for such clients (and that post nothing) need them plain.
    """
    with patch(
        "django_aws_api_gateway_websockets.models.get_boto3_client", factory.get_boto3_client
    ):
        yield

"""Small AWS helpers: error descriptions and the throttled client's pass-through."""

from unittest.mock import Mock

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from django_aws_api_gateway_websockets.aws.remote import (
    describe_error,
    error_code,
    integration_id_of,
    read_stage,
)
from django_aws_api_gateway_websockets.aws.throttling import ThrottledClient, is_throttled


def client_error(code, status=400, message="no"):
    response = {"Error": {"Code": code, "Message": message}}
    response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, "GetStage")


def test_describe_error():
    assert describe_error(client_error("ConflictException")) == "ConflictException: no"
    assert describe_error(client_error("X", message="")) == "X"
    network = EndpointConnectionError(endpoint_url="https://x")
    assert describe_error(network) == "EndpointConnectionError"
    assert error_code(network) == ""


def test_throttling_is_recognised_by_code_or_status():
    assert is_throttled(client_error("TooManyRequestsException", 429))
    assert is_throttled(client_error("SomethingElse", 429))
    assert not is_throttled(client_error("BadRequestException", 400))


def test_throttled_client_passes_attributes_through():
    client = Mock(meta="the meta")
    assert ThrottledClient(client).meta == "the meta"


def test_read_stage_raises_what_is_not_not_found():
    client = Mock()
    client.get_stage.side_effect = client_error("AccessDeniedException", 403)
    with pytest.raises(ClientError):
        read_stage(client, "a", "s")


def test_integration_id_of():
    assert integration_id_of({"Target": "integrations/abc"}) == "abc"
    assert integration_id_of({"Target": "other"}) == ""
    assert integration_id_of({}) == ""

"""The local Management API checks SigV4 as AWS does: only the gateway's keys get through.

Wrong key, wrong signature, a body other than the one signed, a stale or future date: 403
with AWS's error type and message, and nothing reaches the connection. boto3 and the
app's direct poster, signing with the keys, keep working.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from django_aws_api_gateway_websockets import sigv4
from django_aws_api_gateway_websockets.localgateway import (
    GatewayConfig,
    GatewayThread,
    create_management_app,
)
from django_aws_api_gateway_websockets.management.commands.runlocalgateway import (
    build_config,
    management_keys,
)

from .helpers import API_ID, STAGE

KEY_ID, SECRET_KEY = "gateway-key", "gateway-secret-key"


@pytest.fixture
def gateway() -> Iterator[GatewayThread]:
    """The Management API with keys of its own and no test controls, one virtual connection."""
    config = GatewayConfig(
        api_id=API_ID,
        stage=STAGE,
        target_base_url="http://127.0.0.1:9/",
        access_key_id=KEY_ID,
        secret_access_key=SECRET_KEY,
    )
    with GatewayThread(create_management_app(config)) as running:
        running.state.add_virtual(["v1"])
        yield running


def client(gateway: GatewayThread, key_id: str = KEY_ID, secret: str = SECRET_KEY) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{gateway.base_url}/{STAGE}",
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def signed_post(
    gateway: GatewayThread,
    *,
    body: bytes = b"hello",
    sent: bytes | None = None,
    secret: str = SECRET_KEY,
    now: datetime | None = None,
    authorization: str | None = None,
) -> tuple[int, str, dict[str, Any]]:
    """POST ``sent`` (default: ``body``) to v1, signed for ``body``; (status, type, json)."""
    path = f"/{STAGE}/@connections/v1"
    host = gateway.base_url.removeprefix("http://")
    credentials = SimpleNamespace(access_key=KEY_ID, secret_key=secret, token=None)
    headers = sigv4.sign(
        method="POST",
        host=host,
        path=path,
        body=body,
        credentials=credentials,
        region="us-east-1",
        service="execute-api",
        now=now,
    )
    if authorization is not None:
        headers["authorization"] = authorization
    request = urllib.request.Request(
        f"{gateway.base_url}{path}", data=body if sent is None else sent, method="POST"
    )
    for name, value in headers.items():
        if name != "host":
            request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, "", {}
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["x-amzn-ErrorType"], json.loads(error.read())


def test_boto3_with_the_gateways_keys_posts_reads_and_deletes(gateway: GatewayThread) -> None:
    management = client(gateway)
    management.post_to_connection(ConnectionId="v1", Data=b"hello")
    assert management.get_connection(ConnectionId="v1")["Identity"]["SourceIp"] == "127.0.0.1"
    management.delete_connection(ConnectionId="v1")
    assert gateway.state.snapshot()["delivered"] == 1


def test_a_correctly_signed_request_is_accepted(gateway: GatewayThread) -> None:
    assert signed_post(gateway)[0] == 200


@pytest.mark.parametrize("call", ["post", "get", "delete"])
def test_an_unknown_access_key_is_refused(gateway: GatewayThread, call: str) -> None:
    forged = client(gateway, key_id="local", secret="local")
    operation = {
        "post": lambda: forged.post_to_connection(ConnectionId="v1", Data=b"x"),
        "get": lambda: forged.get_connection(ConnectionId="v1"),
        "delete": lambda: forged.delete_connection(ConnectionId="v1"),
    }[call]
    with pytest.raises(ClientError) as refused:
        operation()
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert error["Error"]["Message"] == "The security token included in the request is invalid."
    assert gateway.state.lookup("v1") is not None
    assert gateway.state.snapshot()["delivered"] == 0


def test_a_wrong_secret_key_is_a_signature_mismatch(gateway: GatewayThread) -> None:
    with pytest.raises(ClientError) as refused:
        client(gateway, secret="not-the-secret").post_to_connection(ConnectionId="v1", Data=b"x")
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert refused.value.response["Error"]["Message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    assert gateway.state.snapshot()["delivered"] == 0


def test_a_body_other_than_the_signed_one_is_refused(gateway: GatewayThread) -> None:
    status, error_type, _ = signed_post(gateway, body=b"hello", sent=b"forged")
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert gateway.state.snapshot()["delivered"] == 0


@pytest.mark.parametrize(
    ("shift", "message"),
    [(-timedelta(minutes=10), "Signature expired: "), (timedelta(minutes=10), "Signature not yet")],
)
def test_a_stale_or_future_date_is_refused(gateway: GatewayThread, shift, message) -> None:
    status, error_type, body = signed_post(gateway, now=datetime.now(UTC) + shift)
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert body["message"].startswith(message)


def test_any_header_that_merely_looks_signed_is_refused(gateway: GatewayThread) -> None:
    """What main accepted: any ``Authorization: AWS4-HMAC-SHA256 ...``."""
    status, error_type, _ = signed_post(gateway, authorization="AWS4-HMAC-SHA256 anything")
    assert (status, error_type) == (403, "IncompleteSignatureException")
    forged = (
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )
    status, error_type, _ = signed_post(gateway, authorization=forged)
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert gateway.state.snapshot()["delivered"] == 0


def test_an_unsigned_call_answers_as_aws_does(gateway: GatewayThread) -> None:
    status, error_type, body = signed_post(gateway, authorization="")
    assert (status, error_type, body) == (
        403,
        "MissingAuthenticationTokenException",
        {"message": "Missing Authentication Token"},
    )


def test_runlocalgateway_takes_the_projects_keys(settings) -> None:
    settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY = "project-key", "project-secret"
    options = {"api_id": "local", "stage": "test", "target": "http://127.0.0.1:8000/ws/"}
    config = build_config(options, keys=management_keys())
    assert config.secret_for("project-key") == "project-secret"
    assert config.secret_for("local") is None
    assert "project-secret" not in repr(config)
    settings.AWS_ACCESS_KEY_ID = None
    assert build_config(options, keys=management_keys()).secret_for("local") == "local"

"""The Management API signer against botocore's own SigV4 signer, for the same request."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest.mock import patch

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from django_aws_api_gateway_websockets import sigv4

NOW = datetime(2026, 11, 25, 3, 4, 5, tzinfo=UTC)


def botocore_headers(url: str, body: bytes, credentials: ReadOnlyCredentials) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body)
    with patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        SigV4Auth(credentials, "execute-api", "eu-west-1").add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}


@pytest.mark.parametrize(
    ("scheme", "host", "path"),
    [
        ("https", "abc123.execute-api.eu-west-1.amazonaws.com", "/prod/@connections/Ab_cD%3D"),
        ("http", "127.0.0.1:8001", "/test/@connections/x%2By%2Fz%3D"),
        ("https", "ws.example.com", "/@connections/plain"),
    ],
)
@pytest.mark.parametrize("token", [None, "session-token/with+chars="])
def test_signature_equals_botocores(scheme, host, path, token):
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", token)
    body = b'{"type": "news", "delivery_id": "5f0c"}'
    ours = sigv4.sign(
        method="POST",
        host=host,
        path=path,
        body=body,
        credentials=credentials,
        region="eu-west-1",
        service="execute-api",
        now=NOW,
    )
    theirs = botocore_headers(f"{scheme}://{host}{path}", body, credentials)
    assert ours["authorization"] == theirs["authorization"]
    assert ours["x-amz-date"] == theirs["x-amz-date"] == "20261125T030405Z"
    assert ours.get("x-amz-security-token") == theirs.get("x-amz-security-token") == token
    assert ours["host"] == host


def test_a_different_body_changes_the_signature():
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "secret", None)
    common = {
        "method": "POST",
        "host": "h",
        "path": "/p",
        "credentials": credentials,
        "region": "eu-west-1",
        "service": "execute-api",
        "now": NOW,
    }
    first = sigv4.sign(body=b"one", **common)["authorization"]
    assert first != sigv4.sign(body=b"two", **common)["authorization"]
    assert first.startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/eu-west-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature="
    )

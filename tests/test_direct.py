"""DirectPoster against the local Management API and a bare HTTP server, beside boto3."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.client import HTTPSConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest.mock import MagicMock, patch

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
from botocore.httpsession import get_cert_path

from django_aws_api_gateway_websockets.aws.direct_post import (
    DirectPoster,
    error_code_and_message,
    supports,
    tls_context,
)
from django_aws_api_gateway_websockets.aws.outcomes import Outcome, classify
from django_aws_api_gateway_websockets.localgateway import (
    GatewayConfig,
    create_management_app,
    running_gateway,
)
from tests.support import free_port

STAGE = "prod"


def make_client(endpoint: str, **kwargs: Any) -> Any:
    kwargs.setdefault("aws_access_key_id", "AKIDEXAMPLE")
    kwargs.setdefault("aws_secret_access_key", "secret")
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=endpoint, region_name="eu-west-1", **kwargs
    )


@pytest.fixture
def gateway() -> Iterator[Any]:
    # The gateway verifies signatures: it knows the keys both posters sign with.
    config = GatewayConfig(
        api_id="direct1",
        stage=STAGE,
        target_base_url="http://127.0.0.1:9/",
        access_key_id="AKIDEXAMPLE",
        secret_access_key="secret",
    )
    with running_gateway(create_management_app(config)) as running:
        yield running


@pytest.fixture
def client(gateway) -> Any:
    """Without botocore's own retries, as ``clients.management_client`` makes them."""
    config = Config(retries={"total_max_attempts": 1})
    return make_client(f"{gateway.base_url}/{STAGE}", config=config)


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 to every POST, records it, then drops the connection without a word.

    Once ``answers_left`` reaches 0 it drops connections without answering at all.
    """

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, dict[str, str], bytes]]
    connections: set[int]
    answers_left: int | None = None

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.connections.add(self.client_address[1])
        self.close_connection = True
        if self.answers_left is not None:
            if self.answers_left == 0:
                return
            type(self).answers_left = self.answers_left - 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"seen": [], "connections": set()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{STAGE}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_posts_the_body_to_the_connection(gateway, client):
    gateway.state.add_virtual(["Ab_cD="])
    DirectPoster(client, 5).post_to_connection(Data=b'{"n": 1}', ConnectionId="Ab_cD=")
    assert gateway.state.deliveries("Ab_cD=") == 1
    assert gateway.state.last_body("Ab_cD=") == b'{"n": 1}'


def raised(post: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as info:
        post(**kwargs)
    return info.value


@pytest.mark.parametrize(
    ("faults", "size", "code", "outcome"),
    [
        ({"gone_ids": ["c1"]}, 10, "GoneException", Outcome.GONE),
        ({"throttle_counts": {"c1": 2}}, 10, "LimitExceededException", Outcome.THROTTLED),
        ({}, 128 * 1024 + 1, "PayloadTooLargeException", Outcome.FAILED),
    ],
)
def test_errors_are_the_ones_boto3_raises(gateway, client, faults, size, code, outcome):
    gateway.state.add_virtual(["c1"])
    gateway.state.set_faults(**faults)
    request = {"Data": b"x" * size, "ConnectionId": "c1"}
    ours = raised(DirectPoster(client, 5).post_to_connection, **request)
    theirs = raised(client.post_to_connection, **request)
    assert type(ours) is type(theirs)
    assert ours.response["Error"]["Code"] == theirs.response["Error"]["Code"] == code
    status = ours.response["ResponseMetadata"]["HTTPStatusCode"]
    assert status == theirs.response["ResponseMetadata"]["HTTPStatusCode"]
    assert classify(ours) is classify(theirs) is outcome
    assert ours.response["ResponseMetadata"]["RequestId"]


def test_a_refused_connection_is_retryable(client):
    poster = DirectPoster(make_client(f"http://127.0.0.1:{free_port()}/{STAGE}"), 5)
    with pytest.raises(HTTPClientError) as info:
        poster.post_to_connection(Data=b"x", ConnectionId="c1")
    assert classify(info.value) is Outcome.RETRY


def test_a_connection_the_server_dropped_is_reopened(recorder):
    endpoint, handler = recorder
    poster = DirectPoster(make_client(endpoint), 5)
    for n in range(3):
        poster.post_to_connection(Data=b"%d" % n, ConnectionId="c1")
    assert [body for _, _, body in handler.seen] == [b"0", b"1", b"2"]
    assert len(handler.connections) == 3


def test_a_keep_alive_closed_as_the_request_went_out_is_retried_once(recorder):
    endpoint, handler = recorder
    poster = DirectPoster(make_client(endpoint), 5)
    # The server's close arrives only after the idle check: the send meets a closed socket.
    with patch(
        "django_aws_api_gateway_websockets.aws.direct_post.wait_for_read", return_value=False
    ):
        for n in range(3):
            poster.post_to_connection(Data=b"%d" % n, ConnectionId="c1")
    assert [body for _, _, body in handler.seen] == [b"0", b"1", b"2"]
    assert len(handler.connections) == 3


@pytest.mark.parametrize("answers", [0, 1])
def test_a_server_that_closes_without_answering_is_retryable(recorder, answers):
    endpoint, handler = recorder
    handler.answers_left = answers
    poster = DirectPoster(make_client(endpoint), 5)
    with patch(
        "django_aws_api_gateway_websockets.aws.direct_post.wait_for_read", return_value=False
    ):
        for _ in range(answers):
            poster.post_to_connection(Data=b"{}", ConnectionId="c1")
        with pytest.raises(HTTPClientError) as info:
            poster.post_to_connection(Data=b"{}", ConnectionId="c1")
    assert classify(info.value) is Outcome.RETRY
    # A fresh connection is not tried twice. A reused one is, once: the send on the closed
    # connection never reached the server, the retry on a new one did.
    assert len(handler.seen) == answers + 1
    assert len(handler.connections) == answers + 1


def test_requests_are_signed_with_the_clients_credentials(recorder):
    endpoint, handler = recorder
    client = make_client(endpoint, aws_session_token="the-token")
    DirectPoster(client, 5).post_to_connection(Data=b"{}", ConnectionId="Ab=")
    [(path, headers, _)] = handler.seen
    assert path == f"/{STAGE}/@connections/Ab%3D"
    assert headers["host"] == endpoint.split("/")[2]
    assert headers["x-amz-security-token"] == "the-token"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["authorization"]


def test_without_credentials_nothing_is_sent(recorder, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    endpoint, handler = recorder
    client = boto3.session.Session().client(
        "apigatewaymanagementapi", endpoint_url=endpoint, region_name="eu-west-1"
    )
    with pytest.raises(NoCredentialsError):
        DirectPoster(client, 5).post_to_connection(Data=b"{}", ConnectionId="c1")
    assert handler.seen == []


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, True),
        ({"config": Config(proxies={"https": "http://proxy:3128"})}, False),
        ({"config": Config(client_cert="/tmp/cert.pem")}, False),
        ({"config": Config(signature_version=UNSIGNED)}, False),
    ],
)
def test_supports_plain_sigv4_clients(kwargs, expected):
    assert supports(make_client("https://abc.execute-api.eu-west-1.amazonaws.com/p", **kwargs)) is (
        expected
    )


def test_does_not_support_a_mock():
    assert supports(MagicMock()) is False


def test_does_not_support_a_botocore_that_keeps_credentials_elsewhere():
    client = make_client("https://abc.execute-api.eu-west-1.amazonaws.com/p")
    with patch.object(client, "_request_signer", object()):
        assert supports(client) is False


def test_tls_follows_the_clients_verify_setting():
    endpoint = "https://abc.execute-api.eu-west-1.amazonaws.com/p"
    unverified = tls_context(make_client(endpoint, verify=False))
    assert (unverified.verify_mode, unverified.check_hostname) == (ssl.CERT_NONE, False)
    verified = tls_context(make_client(endpoint, verify=get_cert_path(True)))
    assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname
    assert verified.cert_store_stats()["x509_ca"] > 0
    poster = DirectPoster(make_client(endpoint), 5)
    assert (poster.host, poster.port, poster.base_path) == (endpoint[8:-2], None, "/p")
    connection = poster.open()
    assert isinstance(connection, HTTPSConnection) and connection.sock is None
    assert connection.host == poster.host


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        ("GoneException:http://internal.amazon.com/", b"{}", ("GoneException", "")),
        (
            None,
            b'{"__type": "com.amazon#ForbiddenException", "message": "no"}',
            ("ForbiddenException", "no"),
        ),
        (
            None,
            b'{"code": "LimitExceededException", "Message": "slow"}',
            ("LimitExceededException", "slow"),
        ),
        (None, b"<html>bad gateway</html>", ("", "")),
        (None, b"[1]", ("", "")),
    ],
)
def test_error_code_and_message(header, body, expected):
    from http.client import HTTPMessage

    headers = HTTPMessage()
    if header:
        headers["x-amzn-ErrorType"] = header
    assert error_code_and_message(headers, body) == expected

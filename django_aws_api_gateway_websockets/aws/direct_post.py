"""Posting to connections with a boto3 client's settings, without its per-call pipeline.

A ``post_to_connection`` through botocore spends most of its CPU time on work that is the
same for every recipient (parameter handling, event hooks, a generic signer, a generic
HTTP session): on a fan-out to thousands of connections that work is what limits a worker.
``DirectPoster`` takes the endpoint, region, credentials and TLS settings of the boto3
client it is given, signs each request itself and keeps one keep-alive connection per
thread. It raises what the boto3 client raises (the modeled ``ClientError`` subclasses,
``HTTPClientError`` for network trouble), so callers cannot tell the two apart.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import threading
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.client import BaseClient
from botocore.exceptions import HTTPClientError, NoCredentialsError
from botocore.httpsession import get_cert_path
from urllib3.util import wait_for_read

from .. import sigv4
from .interception import intercepted

logger = logging.getLogger(__name__)

OPERATION = "PostToConnection"
USER_AGENT = "django-gateway-sockets"
HTTPConnection = http.client.HTTPConnection | http.client.HTTPSConnection
# What a keep-alive connection the server has just closed fails with.
STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class DirectPoster:
    """``post_to_connection`` for one Management API endpoint, shared by threads."""

    # ``client`` is a botocore client whose private parts ``supports`` found: typed Any,
    # as the stubs (rightly) do not publish them.
    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        url = urlsplit(client.meta.endpoint_url)
        self.secure = url.scheme == "https"
        self.hostname = url.hostname or ""
        self.port = url.port
        default_port = 443 if self.secure else 80
        self.host = url.netloc if url.port not in (None, default_port) else self.hostname
        self.base_path = url.path.rstrip("/")
        self.region = client.meta.region_name
        self.service = client.meta.service_model.signing_name
        # botocore keeps a client's (possibly refreshing) credentials on its signer only.
        self.credentials = client._request_signer._credentials
        self.timeout = timeout
        self.ssl_context = tls_context(client) if self.secure else None
        self.local = threading.local()

    def post_to_connection(self, *, Data: bytes, ConnectionId: str) -> None:
        """Send ``Data`` to one connection; the same signature and errors as boto3's."""
        if self.credentials is None:
            raise NoCredentialsError()
        path = f"{self.base_path}/@connections/{quote(ConnectionId, safe='')}"
        headers = sigv4.sign(
            method="POST",
            host=self.host,
            path=path,
            body=Data,
            credentials=self.credentials.get_frozen_credentials(),
            region=self.region,
            service=self.service,
        )
        headers["user-agent"] = USER_AGENT
        status, response_headers, body = self.request("POST", path, Data, headers)
        if status >= 300:
            raise self.client_error(status, response_headers, body)

    def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = self.connection()
        reused = connection.sock is not None
        try:
            try:
                return exchange(connection, method, path, body, headers)
            except STALE_ERRORS:
                if not reused:
                    raise
                # The server closed an idle keep-alive connection as the request went out:
                # once more on a new one (a duplicate is possible, as with any at-least-once
                # retry).
                connection.close()
                return exchange(connection, method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise HTTPClientError(error=exc) from exc

    def connection(self) -> HTTPConnection:
        """This thread's connection; one the server has closed meanwhile is reopened."""
        connection: HTTPConnection | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.open()
            self.local.connection = connection
        elif connection.sock is not None and wait_for_read(connection.sock, timeout=0.0):
            # Readable while idle means closed (or garbage): never send on it.
            connection.close()
        return connection

    def open(self) -> HTTPConnection:
        if self.ssl_context is not None:
            return http.client.HTTPSConnection(
                self.hostname, self.port, timeout=self.timeout, context=self.ssl_context
            )
        return http.client.HTTPConnection(self.hostname, self.port, timeout=self.timeout)

    def client_error(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> Exception:
        """The exception botocore's parser would raise for this answer."""
        code, message = error_code_and_message(headers, body)
        response: dict[str, Any] = {
            "Error": {"Code": code or str(status), "Message": message},
            "ResponseMetadata": {
                "RequestId": headers.get("x-amzn-RequestId", ""),
                "HTTPStatusCode": status,
                "HTTPHeaders": {name.lower(): value for name, value in headers.items()},
            },
        }
        return self.client.exceptions.from_code(code)(response, OPERATION)


def exchange(
    connection: HTTPConnection, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.headers, response.read()


def error_code_and_message(headers: http.client.HTTPMessage, body: bytes) -> tuple[str, str]:
    """The AWS error code and message of a REST-JSON error answer, as botocore reads them."""
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
    if not isinstance(parsed, dict):
        parsed = {}
    code = headers.get("x-amzn-ErrorType") or parsed.get("__type") or parsed.get("code") or ""
    # AWS may qualify the code: "GoneException:http://..." or "aws.protocol#GoneException".
    code = str(code).split(":")[0].rsplit("#", 1)[-1]
    message = parsed.get("message") or parsed.get("Message") or ""
    return code, str(message)


def tls_context(client: Any) -> ssl.SSLContext:
    """Verify certificates as the client would: its CA bundle, or not at all if told so."""
    verify = getattr(client._endpoint.http_session, "_verify", True)
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=get_cert_path(verify))


def supports(client: Any) -> bool:
    """Whether ``client`` is a plain SigV4 boto3 client that ``DirectPoster`` can stand in for.

    Proxies, client certificates, other signers and clients with event hooks (moto's
    ``mock_aws``, botocore's ``Stubber``, a project's own: they may answer instead of the
    network, and only botocore runs them) are left to botocore.
    """
    if not isinstance(client, BaseClient):
        return False
    # Private attributes and options set from defaults at runtime: unknown to the stubs.
    config: Any = client.meta.config
    internals: Any = client
    try:
        internals._request_signer._credentials  # noqa: B018
        internals._endpoint.http_session  # noqa: B018
    except AttributeError:
        logger.warning("This botocore version hides what DirectPoster needs; posting via boto3")
        return False
    return (
        not intercepted(client, OPERATION)
        and urlsplit(client.meta.endpoint_url).scheme in ("http", "https")
        and not config.proxies
        and not config.client_cert
        and config.signature_version in (None, "v4")
    )

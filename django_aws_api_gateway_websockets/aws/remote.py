"""What a WebSocket API holds in AWS, read through the apigatewayv2 control plane."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


class ApiGatewaySyncError(Exception):
    """AWS refused, or could not be reached for, a change to a deployed API Gateway (4.x name)."""


def error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def is_not_found(error: Exception) -> bool:
    return error_code(error) == "NotFoundException"


def describe_error(error: BaseException) -> str:
    """A short description of an AWS error, safe to show in the admin and to log."""
    if isinstance(error, ClientError):
        message = error.response.get("Error", {}).get("Message", "")
        return f"{error_code(error)}: {message}".rstrip(": ")
    if isinstance(error, ApiGatewaySyncError | ValueError):
        return str(error)
    return type(error).__name__


AWS_ERRORS = (BotoCoreError, ClientError)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """AWS errors raised as ``ApiGatewaySyncError``, as 4.1.0's sync methods raise them."""
    try:
        yield
    except AWS_ERRORS as error:
        raise ApiGatewaySyncError(describe_error(error)) from error


def pages(call: Callable[..., dict[str, Any]], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated ``get_*`` call."""
    token = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get("Items", [])
        token = page.get("NextToken")
        if not token:
            return


def integration_id_of(route: dict[str, Any]) -> str:
    """The integration a route targets (``Target`` is ``integrations/<id>``), or ``""``."""
    target = route.get("Target") or ""
    return target.removeprefix("integrations/") if target.startswith("integrations/") else ""


@dataclass
class RemoteApi:
    """The API, its routes (by key), integrations (by id) and stage, as AWS answered."""

    client: Any
    api_id: str
    api: dict[str, Any] | None = None
    routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    integrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    stage: dict[str, Any] | None = None
    _responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def read(cls, client: Any, api_id: str, stage_name: str) -> RemoteApi:
        routes = pages(client.get_routes, ApiId=api_id, MaxResults="100")
        integrations = pages(client.get_integrations, ApiId=api_id, MaxResults="100")
        return cls(
            client,
            api_id,
            api=client.get_api(ApiId=api_id),
            routes={route["RouteKey"]: route for route in routes},
            integrations={item["IntegrationId"]: item for item in integrations},
            stage=read_stage(client, api_id, stage_name),
        )

    def integration_of(self, route: dict[str, Any]) -> dict[str, Any] | None:
        return self.integrations.get(integration_id_of(route))

    def route_responses(self, route: dict[str, Any]) -> list[dict[str, Any]]:
        """The route's route responses (GetRouteResponses), read once per route when needed."""
        route_id = route["RouteId"]
        if route_id not in self._responses:
            self._responses[route_id] = list(
                pages(self.client.get_route_responses, ApiId=self.api_id, RouteId=route_id)
            )
        return self._responses[route_id]


def read_stage(client: Any, api_id: str, stage_name: str) -> dict[str, Any] | None:
    try:
        return client.get_stage(ApiId=api_id, StageName=stage_name)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise

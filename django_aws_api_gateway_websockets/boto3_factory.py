"""boto3 clients built from the project's settings, and where a stage's Management API is."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any, TypeGuard
from urllib.parse import urlsplit

import boto3

from .conf import app_settings

NO_REGION = (
    "AWS_GATEWAY_REGION_NAME or AWS_REGION_NAME must be set within settings.py: without a "
    "region nothing can be created in, or posted to, API Gateway on AWS."
)
# What clients of a loopback endpoint (the local gateway) sign for when no region is set:
# SigV4 needs one, and the local gateway checks only that calls are signed.
LOCAL_REGION = "us-east-1"


def get_region_name() -> str:
    """Return the AWS region from ``AWS_GATEWAY_REGION_NAME`` or ``AWS_REGION_NAME``."""
    region = app_settings.aws_region
    if not region:
        raise RuntimeError(NO_REGION)
    return region


def get_boto3_client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
    """Build a boto3 client from a profile, explicit keys, or the ambient credentials.

    Published as ``models.get_boto3_client``; the app calls it only through that name.
    A client for a loopback ``endpoint_url`` (the local gateway) without keys in settings
    signs with fixed local keys, and without a region in settings for ``LOCAL_REGION``:
    local development needs no AWS account, and the ambient credential chain (which may
    query the instance metadata service) is not consulted.
    """
    if app_settings.aws_iam_profile:
        session = boto3.Session(profile_name=app_settings.aws_iam_profile)
        return _any_client(session.client, service, kwargs)
    local = is_loopback(kwargs.get("endpoint_url") or "")
    if "region_name" not in kwargs:
        kwargs["region_name"] = app_settings.aws_region or (
            LOCAL_REGION if local else get_region_name()
        )
    if app_settings.aws_access_key_id and app_settings.aws_secret_access_key:
        kwargs.setdefault("aws_access_key_id", app_settings.aws_access_key_id)
        kwargs.setdefault("aws_secret_access_key", app_settings.aws_secret_access_key)
    elif local:
        kwargs.setdefault("aws_access_key_id", LOCAL_KEY)
        kwargs.setdefault("aws_secret_access_key", LOCAL_KEY)
    return _any_client(boto3.client, service, kwargs)


def _any_client(make: Callable[..., Any], service: str, kwargs: dict[str, Any]) -> Any:
    """``make(service, **kwargs)``, typed for any service name (boto3-stubs types each one)."""
    return make(service, **kwargs)


LOCAL_KEY = "local"


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost`` or a loopback address)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# The id is the first label of the Management API's host name,
# ``https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`` ("Amazon API Gateway
# Management API", https://docs.aws.amazon.com/apigatewaymanagementapi/latest/APIReference/Welcome.html),
# so a ``.``, ``/``, ``@``, ``#`` or ``:`` in it would send every signed post elsewhere. The
# ids API Gateway creates are 10 lower-case letters and digits (``a1b2c3d4e5``); shorter ones
# are allowed for records made by hand (the testing guide's ``abc123``).
API_ID_PATTERN = re.compile(r"[a-z0-9]{1,10}")
API_ID_MESSAGE = "An API Gateway id: 1 to 10 lower-case letters and digits."


def is_valid_api_id(api_id: object) -> TypeGuard[str]:
    return isinstance(api_id, str) and API_ID_PATTERN.fullmatch(api_id) is not None


def management_endpoint(api_id: str, stage: str) -> str:
    """The Management API URL of one deployed stage, from ``WEBSOCKETS["management_endpoint"]``.

    ``ValueError`` for an ``api_id`` that is not an API Gateway id.
    """
    if not is_valid_api_id(api_id):
        raise ValueError(f"Invalid API Gateway id {api_id!r}: {API_ID_MESSAGE}")
    region = app_settings.aws_region or ""
    return app_settings.management_endpoint.format(api_id=api_id, region=region, stage=stage)

"""Where the Management API's credentials would come from, found without any network call."""

from __future__ import annotations

import os

import botocore.session

from ..conf import app_settings

# Providers that ask a metadata endpoint over the network; a role is assumed to be there.
NETWORK_PROVIDERS = ("iam-role", "container-role")
CONTAINER_ENVIRONMENT = (
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def credentials_source() -> str | None:
    """Name where credentials come from (settings, environment, files, a task role), or None.

    An EC2 instance role cannot be seen without asking the metadata service, so it is not.
    """
    if app_settings.aws_iam_profile:
        return "AWS_IAM_PROFILE"
    if app_settings.aws_access_key_id and app_settings.aws_secret_access_key:
        return "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in settings"
    if any(os.environ.get(name) for name in CONTAINER_ENVIRONMENT):
        return "the container's task role"
    session = botocore.session.Session()
    resolver = session.get_component("credential_provider")
    for name in NETWORK_PROVIDERS:
        resolver.remove(name)
    credentials = resolver.load_credentials()
    return getattr(credentials, "method", None) if credentials else None

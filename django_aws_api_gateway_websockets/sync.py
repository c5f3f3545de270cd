"""4.x's import path of the error ``ApiGateway.sync_to_aws()`` raises."""

from .aws.remote import ApiGatewaySyncError

__all__ = ["ApiGatewaySyncError"]

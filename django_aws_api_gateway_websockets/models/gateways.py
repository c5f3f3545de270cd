"""API Gateway WebSocket APIs and their additional routes."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from ..aws.factory import management_endpoint
from ..fields import EndpointURLField, validate_integration_host

DOMAIN_NAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
API_NAME_RE = re.compile(r"^[ a-zA-Z0-9_-]+$")


class ApiGateway(models.Model):
    """One API Gateway WebSocket API, and what AWS returned when it was created."""

    class ProvisioningStatus(models.TextChoices):
        """How far creating the gateway in AWS has come (4.x's values)."""

        PENDING = "pending", "Pending"
        CREATING = "creating", "Creating"
        API_CREATED = "api_created", "API created"
        ROUTES_CREATED = "routes_created", "Routes created"
        DEPLOYED = "deployed", "Deployed"
        DOMAIN_CREATED = "domain_created", "Custom domain created"
        MAPPED = "mapped", "Custom domain mapped"

    api_name = models.CharField(max_length=255, unique=True)
    api_description = models.CharField(max_length=255, blank=True, default="")
    default_channel_name = models.CharField(
        max_length=128, blank=True, default="", help_text="Channel for clients that name none."
    )
    domain_name = models.CharField(
        max_length=255, blank=True, default="", help_text="Custom domain, e.g. ws.example.com."
    )
    target_base_endpoint = EndpointURLField(
        null=True,
        blank=True,
        default=None,
        help_text="Django URL the routes are appended to, with a trailing slash: https://example.com/ws/",
    )
    certificate_arn = models.CharField(max_length=255, blank=True, default="")
    hosted_zone_id = models.CharField(max_length=32, blank=True, default="")
    api_key_selection_expression = models.CharField(
        max_length=255, default="$request.header.x-api-key"
    )
    route_selection_expression = models.CharField(max_length=255, default="$request.body.action")
    route_key = models.CharField(max_length=255, default="$default")
    stage_name = models.CharField(max_length=63, default="production", blank=True)
    stage_description = models.CharField(max_length=63, default="", blank=True)
    deployment_id = models.CharField(max_length=32, default="", blank=True, editable=False)
    tags = models.JSONField(blank=True, default=dict, help_text='{"tag-name": "tag-value"}')
    api_id = models.CharField(max_length=32, blank=True, default="")
    api_endpoint = models.CharField(max_length=255, blank=True, default="")
    api_gateway_domain_name = models.CharField(max_length=255, blank=True, default="")
    api_mapping_id = models.CharField(max_length=128, blank=True, default="")
    api_created = models.BooleanField(default=False, editable=False)
    custom_domain_created = models.BooleanField(default=False, editable=False)
    provisioning_status = models.CharField(
        max_length=16,
        choices=ProvisioningStatus.choices,
        default=ProvisioningStatus.PENDING,
        help_text="Follows api_created and custom_domain_created.",
    )
    last_error = models.CharField(
        max_length=255,
        blank=True,
        default="",
        editable=False,
        help_text="The last AWS error while provisioning or syncing, if any.",
    )
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "API Gateway"
        indexes = [
            models.Index(fields=["api_id"]),
            models.Index(fields=["domain_name"]),
            models.Index(fields=["custom_domain_created"]),
            models.Index(fields=["api_created"]),
            models.Index(fields=["created_on"]),
        ]

    def __str__(self) -> str:
        return self.api_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.full_clean()
        if self.target_base_endpoint and not self.target_base_endpoint.endswith("/"):
            self.target_base_endpoint += "/"
        self._follow_provisioning_flags(kwargs)
        super().save(*args, **kwargs)

    def _follow_provisioning_flags(self, save_kwargs: dict[str, Any]) -> None:
        """Keep 4.x's ``provisioning_status`` in step with the two flags provisioning sets."""
        status = self.ProvisioningStatus
        if self.custom_domain_created:
            self.provisioning_status = status.MAPPED
        elif self.api_created and self.provisioning_status != status.DOMAIN_CREATED:
            self.provisioning_status = status.DEPLOYED
        update_fields = save_kwargs.get("update_fields")
        if update_fields is not None and {"api_created", "custom_domain_created"} & set(
            update_fields
        ):
            save_kwargs["update_fields"] = [*update_fields, "provisioning_status"]

    def clean(self) -> None:
        validate_integration_host(self.target_base_endpoint, "target_base_endpoint")
        if self.domain_name and not DOMAIN_NAME_RE.match(self.domain_name):
            raise ValidationError({"domain_name": "Invalid domain name format"})
        if self.api_name and not API_NAME_RE.match(self.api_name):
            raise ValidationError(
                {"api_name": "Use letters, digits, spaces, hyphens and underscores only"}
            )

    @property
    def is_deployed(self) -> bool:
        return bool(self.api_created and self.api_id and self.deployment_id)

    @property
    def effective_provisioning_status(self) -> str:
        """The status, for rows provisioned before the status was recorded: from the flags."""
        status = self.ProvisioningStatus
        if self.provisioning_status == status.PENDING and self.api_created:
            return status.MAPPED if self.custom_domain_created else status.DEPLOYED
        return self.provisioning_status

    @property
    def needs_api_creation(self) -> bool:
        done = {self.ProvisioningStatus.DEPLOYED, self.ProvisioningStatus.DOMAIN_CREATED}
        return self.effective_provisioning_status not in done | {self.ProvisioningStatus.MAPPED}

    @property
    def needs_custom_domain(self) -> bool:
        ready = {self.ProvisioningStatus.DEPLOYED, self.ProvisioningStatus.DOMAIN_CREATED}
        return self.effective_provisioning_status in ready

    @property
    def management_endpoint(self) -> str:
        return management_endpoint(self.api_id, self.stage_name)

    # 4.x provisioning methods, delegated to ``aws.provisioning``.

    def create_gateway(self) -> bool:
        """Create the API, its routes, the stage and a deployment; False if it already was."""
        from ..aws import provisioning

        return provisioning.create_gateway(self)

    def create_custom_domain(self) -> bool:
        """Create the custom domain and map it to the stage; False if it already was."""
        from ..aws import provisioning

        return provisioning.create_custom_domain(self)


class ApiGatewayAdditionalRoute(models.Model):
    """A custom route key that API Gateway forwards to its own Django URL."""

    api_gateway = models.ForeignKey(
        ApiGateway, on_delete=models.CASCADE, related_name="additional_routes"
    )
    name = models.CharField(max_length=63, help_text="Descriptive name for the route")
    route_key = models.CharField(max_length=64, db_index=True)
    integration_url = EndpointURLField()
    deployed = models.BooleanField(default=False, editable=False)
    route_id = models.CharField(max_length=32, blank=True, default="", editable=False)
    integration_id = models.CharField(max_length=32, blank=True, default="", editable=False)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        unique_together = [["api_gateway", "route_key"]]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        if self.api_gateway.api_created and not self.deployed:
            from ..aws import provisioning

            provisioning.create_additional_route(self)

    def clean(self) -> None:
        validate_integration_host(self.integration_url, "integration_url")

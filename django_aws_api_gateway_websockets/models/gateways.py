"""API Gateway WebSocket APIs and their additional routes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.utils import timezone

from ..aws import deferred
from ..aws.factory import API_ID_MESSAGE, API_ID_PATTERN, management_endpoint
from ..aws.integrations import new_secret
from ..conf import app_settings
from ..fields import EndpointURLField, validate_integration_host
from .channels import CHANNEL_NAME_MAX_LENGTH, validate_channel_name

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager

    from .sessions import WebSocketSession

DOMAIN_NAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
API_NAME_RE = re.compile(r"^[ a-zA-Z0-9_-]+$")
# Fields whose change a full save pushes to a deployed API (4.x)
SYNCED_GATEWAY_FIELDS = (
    "api_name",
    "api_description",
    "api_key_selection_expression",
    "route_selection_expression",
    "target_base_endpoint",
    "stage_description",
)
SYNCED_ROUTE_FIELDS = ("route_key", "integration_url", "route_response")


def push_enabled(push_to_aws: bool | None) -> bool:
    """An explicit ``push_to_aws`` wins; else ``WEBSOCKETS["push_changes_to_aws"]`` (4.x)."""
    return app_settings.push_changes_to_aws if push_to_aws is None else push_to_aws


class SyncedModel(models.Model):
    """Remembers the loaded values of the fields it pushes to AWS, to see what a save changed."""

    synced_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Any:
        instance = super().from_db(*args, **kwargs)
        instance._aws_snapshot = instance.synced_values()
        return instance

    def synced_values(self) -> dict[str, Any]:
        return {name: self.__dict__[name] for name in self.synced_fields if name in self.__dict__}

    def changed_synced_fields(self) -> dict[str, Any]:
        """The changed fields, with their previous values; resets the snapshot."""
        previous = getattr(self, "_aws_snapshot", {})
        self._aws_snapshot = current = self.synced_values()
        return {
            name: previous[name]
            for name, value in current.items()
            if name in previous and previous[name] != value
        }


class ApiGateway(SyncedModel):
    """One API Gateway WebSocket API, and what AWS returned when it was created."""

    if TYPE_CHECKING:  # reverse relations, declared for checkers without the Django plugin
        additional_routes: RelatedManager[ApiGatewayAdditionalRoute]
        sessions: RelatedManager[WebSocketSession]

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
        max_length=CHANNEL_NAME_MAX_LENGTH,
        blank=True,
        default="",
        validators=[validate_channel_name],
        help_text="Channel for clients that name none.",
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
    api_id = models.CharField(
        max_length=32,
        blank=True,
        default="",
        validators=[RegexValidator(rf"\A{API_ID_PATTERN.pattern}\Z", API_ID_MESSAGE)],
        help_text="The API's id in AWS (10 lower-case letters and digits).",
    )
    api_endpoint = models.CharField(max_length=255, blank=True, default="")
    api_gateway_domain_name = models.CharField(max_length=255, blank=True, default="")
    api_mapping_id = models.CharField(max_length=128, blank=True, default="")
    api_created = models.BooleanField(default=False, editable=False)
    custom_domain_created = models.BooleanField(default=False, editable=False)
    # The three secrets (see docs/security.md): ``gateway_secret`` is the one AWS is known to
    # send (pushed and deployed); ``pending_gateway_secret`` is being pushed, accepted already
    # and promoted once every integration carries it and the stage is deployed;
    # ``previous_gateway_secret`` is the one before the last promotion, accepted until a later
    # push finds every integration sending the current one. ``db_default``: rows inserted by
    # 4.1.0 code during a mixed-version rollout name none of these columns.
    gateway_secret = models.CharField(
        max_length=128,
        blank=True,
        default="",
        db_default="",
        help_text="The secret API Gateway sends as a static header on every integration "
        "request, recorded once AWS has it.",
    )
    previous_gateway_secret = models.CharField(
        max_length=128,
        blank=True,
        default="",
        db_default="",
        help_text="The secret before the last rotation, accepted until every integration "
        "sends the new one.",
    )
    gateway_secret_rotated_on = models.DateTimeField(
        null=True,
        blank=True,
        default=None,
        editable=False,
        help_text="When the current gateway secret was set (generated or rotated).",
    )
    pending_gateway_secret = models.CharField(
        max_length=128,
        blank=True,
        default="",
        db_default="",
        editable=False,
        help_text="A new secret not yet known to be in AWS: accepted, and made the gateway "
        "secret once a push to every integration succeeded.",
    )
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

    class Meta(SyncedModel.Meta):
        verbose_name = "API Gateway"
        # The admin's AWS actions need these besides the model's own permissions
        # (docs/commands.md, "Admin"): view or change alone never reaches AWS.
        permissions = [
            ("manage_aws", "Can create, sync and check the API in AWS"),
            ("rotate_secret", "Can rotate the gateway secret in AWS"),
        ]
        indexes = [
            models.Index(fields=["api_id"]),
            models.Index(fields=["domain_name"]),
            models.Index(fields=["custom_domain_created"]),
            models.Index(fields=["api_created"]),
            models.Index(fields=["created_on"]),
        ]

    def __str__(self) -> str:
        return self.api_name

    synced_fields = SYNCED_GATEWAY_FIELDS

    def save(self, *args: Any, push_to_aws: bool | None = None, **kwargs: Any) -> None:
        """Save; a full save validates, and pushes changed synced fields to a deployed API.

        A save with ``update_fields`` (how provisioning records progress) neither validates
        nor calls AWS. The push runs once the transaction commits; ``push_to_aws=False``
        skips it, ``True`` forces it, ``None`` follows ``WEBSOCKETS["push_changes_to_aws"]``.
        """
        full_save = kwargs.get("update_fields") is None
        if full_save:
            self.full_clean()
        if self._state.adding and not (self.gateway_secret or self.pending_gateway_secret):
            # Every record has a secret from the start: pending until AWS has it.
            self.pending_gateway_secret = new_secret()
        if self.target_base_endpoint and not self.target_base_endpoint.endswith("/"):
            self.target_base_endpoint += "/"
        self._follow_provisioning_flags(kwargs)
        self._note_secret_change(kwargs)
        super().save(*args, **kwargs)
        if "gateway_secret" in self.__dict__:
            self._loaded_secret = self.gateway_secret
        if not full_save:
            return
        changed = self.changed_synced_fields()
        if changed and self.is_deployed and push_enabled(push_to_aws):
            push = deferred.reported(self, lambda: self.sync_to_aws(fields=list(changed)))
            transaction.on_commit(push)

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Any:
        instance = super().from_db(*args, **kwargs)
        instance._loaded_secret = instance.__dict__.get("gateway_secret")
        return instance

    def _note_secret_change(self, save_kwargs: dict[str, Any]) -> None:
        """Stamp ``gateway_secret_rotated_on`` whenever the secret changes, by whatever path."""
        update_fields = save_kwargs.get("update_fields")
        if update_fields is not None and "gateway_secret" not in update_fields:
            return  # the secret is not being saved
        if "gateway_secret" not in self.__dict__:
            return  # deferred, so not changed here
        if self.gateway_secret == getattr(self, "_loaded_secret", ""):
            return
        self.gateway_secret_rotated_on = timezone.now() if self.gateway_secret else None
        if update_fields is not None:
            save_kwargs["update_fields"] = [*update_fields, "gateway_secret_rotated_on"]

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
        if self.domain_name and not DOMAIN_NAME_RE.fullmatch(self.domain_name):
            raise ValidationError({"domain_name": "Invalid domain name format"})
        if self.api_name and not API_NAME_RE.fullmatch(self.api_name):
            raise ValidationError(
                {"api_name": "Use letters, digits, spaces, hyphens and underscores only"}
            )

    @property
    def is_deployed(self) -> bool:
        """The API exists in AWS and has been deployed (records made by hand have no deployment)."""
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
        from ..aws import custom_domain

        return custom_domain.create_custom_domain(self)

    def sync_to_aws(self, client: Any = None, fields: Any = None) -> list[str]:
        """Bring the deployed API up to date (routes, route responses, integrations, stage).

        Deploys once if anything changed; returns the changes in words. ``fields`` (4.x) is
        accepted and not needed: everything is compared, and only what differs changes.
        Raises ``ApiGatewaySyncError`` when AWS refuses.
        """
        from ..aws import sync

        return sync.push(self, client)

    def sync_from_aws(self, client: Any = None) -> list[str]:
        """Read the deployed API back into this record and its routes; the changes in words."""
        from ..aws import sync

        return sync.pull(self, client)

    @property
    def sent_secret(self) -> str:
        """The secret integrations should carry: the pending one, else the current one."""
        return self.pending_gateway_secret or self.gateway_secret

    def rotate_gateway_secret(self) -> list[str]:
        """A new secret, current once AWS has it; the older ones are accepted meanwhile."""
        from ..aws import sync

        return sync.rotate_secret(self)


class ApiGatewayAdditionalRoute(SyncedModel):
    """A custom route key that API Gateway forwards to its own Django URL."""

    api_gateway = models.ForeignKey(
        ApiGateway, on_delete=models.CASCADE, related_name="additional_routes"
    )
    name = models.CharField(max_length=63, help_text="Descriptive name for the route")
    route_key = models.CharField(max_length=64, db_index=True)
    integration_url = EndpointURLField()
    deployed = models.BooleanField(default=False, editable=False)
    route_response = models.BooleanField(
        default=True,
        db_default=True,
        help_text="Send the handler's reply back to the client (an API Gateway route response).",
    )
    route_id = models.CharField(max_length=32, blank=True, default="", editable=False)
    integration_id = models.CharField(max_length=32, blank=True, default="", editable=False)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    synced_fields = SYNCED_ROUTE_FIELDS

    class Meta(SyncedModel.Meta):
        unique_together = [["api_gateway", "route_key"]]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, push_to_aws: bool | None = None, **kwargs: Any) -> None:
        """Save; on a deployed gateway, create the route in AWS or push what changed (4.x).

        A new route is created at once (it has to exist before it is used); a change to a
        deployed route is pushed once the transaction commits, unless ``push_to_aws`` is
        False or ``WEBSOCKETS["push_changes_to_aws"]`` is off.
        """
        if kwargs.get("update_fields") is None:
            self.full_clean()
        super().save(*args, **kwargs)
        changed = self.changed_synced_fields()
        if push_to_aws is False or not self.api_gateway.is_deployed:
            return
        from ..aws import provisioning, sync

        if not self.deployed:
            with sync.reporting_errors():
                provisioning.provision_route(self)
        elif changed and push_enabled(push_to_aws):
            previous_key = changed.get("route_key", "")

            def push() -> None:
                with sync.reporting_errors():
                    provisioning.provision_route(self, previous_route_key=previous_key)

            transaction.on_commit(deferred.reported(self, push))

    def clean(self) -> None:
        validate_integration_host(self.integration_url, "integration_url")

"""API Gateway WebSocket APIs (their additional routes are in ``models.routes``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from ..aws import push
from ..boto3_factory import API_ID_MESSAGE, API_ID_PATTERN, management_endpoint
from ..fields import EndpointURLField, validate_integration_host
from ..gateway_secrets import new_secret
from .channels import CHANNEL_NAME_MAX_LENGTH, validate_channel_name
from .state import (
    API_COMPLETE,
    ProvisioningStatus,
    StatusFlagField,
    flag_columns,
    keep_loaded_status,
)
from .synced import SyncedModel

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager

    from .routes import ApiGatewayAdditionalRoute
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


push_enabled = push.push_enabled  # 4.x's name here; the rule lives in ``aws.push``


class ApiGateway(SyncedModel):
    """One API Gateway WebSocket API, and what AWS returned when it was created."""

    if TYPE_CHECKING:  # reverse relations, declared for checkers without the Django plugin
        additional_routes: RelatedManager[ApiGatewayAdditionalRoute]
        sessions: RelatedManager[WebSocketSession]

    ProvisioningStatus = ProvisioningStatus
    Status = ProvisioningStatus

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
    # The provisioning state: this one field (see ``models.state``). Declared before the two
    # flags that mirror it, so a row's status is loaded before them.
    provisioning_status = models.CharField(
        max_length=16,
        choices=ProvisioningStatus.choices,
        default=ProvisioningStatus.PENDING,
        help_text="How far creating the gateway in AWS has come; the only provisioning state. "
        "'Creating' means a run holds the claim: if none is running, check AWS and set "
        "'Pending' (no API there) or 'API created' (record its api_id; the next run finishes).",
    )
    api_created = StatusFlagField(
        default=False,
        editable=False,
        help_text="4.1.0's flag, kept for 4.1.0 code: written from provisioning_status.",
    )
    custom_domain_created = StatusFlagField(
        default=False,
        editable=False,
        help_text="4.1.0's flag, kept for 4.1.0 code: written from provisioning_status.",
    )
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
        """Validate what is saved, save, and push a change AWS holds by ``aws.push``'s rule.

        The rule is the same whatever the arguments: a save with ``update_fields`` validates
        those fields and pushes when one AWS holds changed. ``push_to_aws=False`` never
        pushes, ``True`` pushes whatever the setting, ``None`` follows
        ``WEBSOCKETS["push_changes_to_aws"]``.
        """
        update_fields = kwargs.get("update_fields")
        if self.target_base_endpoint and not self.target_base_endpoint.endswith("/"):
            self.target_base_endpoint += "/"
        self.validate_saved(update_fields)
        if self._state.adding and not (self.gateway_secret or self.pending_gateway_secret):
            # Every record has a secret from the start: pending until AWS has it.
            self.pending_gateway_secret = new_secret()
        self._note_secret_change(kwargs)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"provisioning_status", *flag_columns("")} & set(
            update_fields
        ):
            # The status and the flags that mirror it are written together.
            kwargs["update_fields"] = {*update_fields, "provisioning_status", *flag_columns("")}
        super().save(*args, **kwargs)
        if "gateway_secret" in self.__dict__:
            self._loaded_secret = self.gateway_secret
        changed = self.changed_synced_fields(update_fields)
        if push.applies(self, bool(changed), push_to_aws):
            push.after_commit(self, self, "syncing", self.sync_to_aws)

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any, **kwargs: Any) -> Any:
        instance = super().from_db(db, field_names, values, **kwargs)
        keep_loaded_status(instance, field_names, values)
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

    def record(self, **values: Any) -> None:
        """Write these columns now: what AWS answered, as provisioning records its progress.

        Not a save: no validation, and nothing goes to AWS (it came from there). A status
        carries its flags; the values become the fields' loaded values.
        """
        if "provisioning_status" in values:
            values.update(flag_columns(values["provisioning_status"]))
        if "gateway_secret" in values and values["gateway_secret"] != getattr(
            self, "_loaded_secret", ""
        ):
            # As ``_note_secret_change`` stamps a save: the date follows every change.
            values["gateway_secret_rotated_on"] = (
                timezone.now() if values["gateway_secret"] else None
            )
            self._loaded_secret = values["gateway_secret"]
        values["updated_on"] = timezone.now()
        for name, value in values.items():
            setattr(self, name, value)
        if hasattr(self, "_aws_snapshot"):
            self._aws_snapshot.update(
                {name: value for name, value in values.items() if name in self.synced_fields}
            )
        if self.pk is not None:
            type(self)._base_manager.filter(pk=self.pk).update(**values)

    def check_fields(self, names: set[str] | None) -> None:
        def checking(name: str) -> bool:
            return names is None or name in names

        if checking("target_base_endpoint"):
            validate_integration_host(self.target_base_endpoint, "target_base_endpoint")
        if (
            checking("domain_name")
            and self.domain_name
            and not DOMAIN_NAME_RE.fullmatch(self.domain_name)
        ):
            raise ValidationError({"domain_name": "Invalid domain name format"})
        if checking("api_name") and self.api_name and not API_NAME_RE.fullmatch(self.api_name):
            raise ValidationError(
                {"api_name": "Use letters, digits, spaces, hyphens and underscores only"}
            )

    @property
    def is_deployed(self) -> bool:
        """Routes, stage and a deployment exist in AWS (records made by hand have none)."""
        return bool(self.provisioning_status in API_COMPLETE and self.api_id and self.deployment_id)

    @property
    def effective_provisioning_status(self) -> str:
        """4.1.0's name: ``provisioning_status`` itself, now that it is the only state."""
        return self.provisioning_status

    @property
    def needs_api_creation(self) -> bool:
        """``create_gateway`` has something to do (4.1.0's half-provisioned states included)."""
        return self.provisioning_status not in API_COMPLETE

    @property
    def needs_custom_domain(self) -> bool:
        return self.provisioning_status in {self.Status.DEPLOYED, self.Status.DOMAIN_CREATED}

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

        with push.recording_outcome(self):
            return custom_domain.create_custom_domain(self)

    def sync_to_aws(self, client: Any = None, fields: Any = None) -> list[str]:
        """Bring the deployed API up to date (routes, route responses, integrations, stage).

        Deploys once if anything changed; returns the changes in words. ``fields`` (4.x) is
        accepted and not needed: everything is compared, and only what differs changes.
        Raises ``ApiGatewaySyncError`` when AWS refuses.
        """
        from ..aws import sync

        with push.recording_outcome(self):
            return sync.push(self, client)

    def sync_from_aws(self, client: Any = None) -> list[str]:
        """Read the deployed API back into this record and its routes; the changes in words."""
        from ..aws import sync

        with push.recording_outcome(self):
            return sync.pull(self, client)

    @property
    def sent_secret(self) -> str:
        """The secret integrations should carry: the pending one, else the current one."""
        return self.pending_gateway_secret or self.gateway_secret

    def rotate_gateway_secret(self) -> list[str]:
        """A new secret, current once AWS has it; the older ones are accepted meanwhile."""
        from ..aws import sync

        with push.recording_outcome(self):
            return sync.rotate_secret(self)

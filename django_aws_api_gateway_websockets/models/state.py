"""A gateway's provisioning state: one field, ``provisioning_status``, and 4.1.0's two flags.

``provisioning_status`` is the state. 4.1.0's ``api_created`` and ``custom_domain_created``
stay as columns, because 4.1.0 processes still running during a rolling deploy (or after a
rollback) read and filter on them, and so does code written for 4.1.0. They hold no state of
their own: reading one answers from the status, and every save writes the column from the
status. Assigning one (``ApiGateway.objects.create(..., api_created=True)``, the testing
guide's record made by hand) moves the status to the nearest status that agrees with it.
A loaded row's status is taken as stored; only a ``pending`` row with a flag set (4.1.0 code
that set only the flag, in a mixed fleet) is read as 4.1.0 read it, its "effective" status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models


class ProvisioningStatus(models.TextChoices):
    """How far creating the gateway in AWS has come (4.1.0's values)."""

    PENDING = "pending", "Pending"
    CREATING = "creating", "Creating"
    API_CREATED = "api_created", "API created"
    ROUTES_CREATED = "routes_created", "Routes created"
    DEPLOYED = "deployed", "Deployed"
    DOMAIN_CREATED = "domain_created", "Custom domain created"
    MAPPED = "mapped", "Custom domain mapped"


Status = ProvisioningStatus
# The API exists in AWS (possibly half-provisioned: routes or stage still missing).
API_EXISTS = frozenset(
    {
        Status.API_CREATED,
        Status.ROUTES_CREATED,
        Status.DEPLOYED,
        Status.DOMAIN_CREATED,
        Status.MAPPED,
    }
)
# Routes, stage and a deployment are done: what ``create_gateway`` finishes with.
API_COMPLETE = frozenset({Status.DEPLOYED, Status.DOMAIN_CREATED, Status.MAPPED})
DOMAIN_EXISTS = frozenset({Status.DOMAIN_CREATED, Status.MAPPED})


@dataclass(frozen=True)
class Flag:
    """A 4.1.0 flag: true in ``true_in``; assigning it moves the status to agree."""

    true_in: frozenset[str]
    when_set: str  # where a True moves a status outside ``true_in``
    when_cleared: str  # where a False moves a status inside ``true_in``


FLAGS = {
    # A record made by hand for an API that exists is complete, as 4.1.0 treated it.
    "api_created": Flag(API_EXISTS, Status.DEPLOYED, Status.PENDING),
    "custom_domain_created": Flag(DOMAIN_EXISTS, Status.MAPPED, Status.DEPLOYED),
}


UNSET: Any = object()  # what ``__init__`` assigns a flag it was not given


def flag_columns(status: str) -> dict[str, bool]:
    """The flag columns as ``status`` implies them, to write beside it."""
    return {name: status in flag.true_in for name, flag in FLAGS.items()}


class StatusFlagDescriptor:
    """Reads the flag from the status; an assignment moves the status (see the module)."""

    def __init__(self, field: StatusFlagField) -> None:
        self.field = field

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return instance.provisioning_status in self.field.flag.true_in

    def __set__(self, instance: Any, value: Any) -> None:
        # Kept in __dict__ too, so Django counts the column as loaded (not deferred).
        instance.__dict__[self.field.attname] = value
        if value is UNSET or "provisioning_status" not in instance.__dict__:
            return  # status deferred: nothing to reconcile
        flag, status = self.field.flag, instance.__dict__["provisioning_status"]
        if value and status not in flag.true_in:
            instance.provisioning_status = flag.when_set
        elif not value and status in flag.true_in:
            instance.provisioning_status = flag.when_cleared


def keep_loaded_status(instance: Any, field_names: Any, values: Any) -> None:
    """After a load: the stored status stands, unless it is ``pending`` (see the module)."""
    stored = dict(zip(field_names, values, strict=False)).get("provisioning_status")
    if stored is not None and stored != Status.PENDING:
        instance.__dict__["provisioning_status"] = stored


class StatusFlagField(models.BooleanField):
    """A 4.1.0 flag column that mirrors ``provisioning_status`` (declared after it)."""

    descriptor_class = StatusFlagDescriptor

    def get_default(self) -> Any:
        """A new record not given the flag: its status decides (``__init__`` assigns this)."""
        return UNSET

    def get_prep_value(self, value: Any) -> Any:
        # Where Django writes the default itself (schema changes), the column's is False.
        return super().get_prep_value(False if value is UNSET else value)

    @property
    def flag(self) -> Flag:
        return FLAGS[self.name]

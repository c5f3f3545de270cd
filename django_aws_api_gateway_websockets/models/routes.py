"""Additional routes: custom route keys API Gateway forwards to their own Django URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from ..aws import push
from ..fields import EndpointURLField, validate_integration_host
from .gateways import ApiGateway
from .synced import SyncedModel

# Fields whose change a save pushes to a deployed API (4.x)
SYNCED_ROUTE_FIELDS = ("route_key", "integration_url", "route_response")


class ApiGatewayAdditionalRoute(SyncedModel):
    """A custom route key that API Gateway forwards to its own Django URL."""

    if TYPE_CHECKING:  # the foreign key's column, for checkers without the Django plugin
        api_gateway_id: int

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
        """Validate what is saved, save, and push it by ``aws.push``'s rule.

        A route not yet in AWS (``deployed`` False) is created, a changed one updated, once
        the transaction commits, when the gateway is deployed and pushing is on (the same
        rule as the gateway's; 4.1.0 created a new route at once even with pushing off).
        """
        update_fields = kwargs.get("update_fields")
        self.validate_saved(update_fields)
        super().save(*args, **kwargs)
        changed = self.changed_synced_fields(update_fields)
        gateway = self.api_gateway
        if not push.applies(gateway, bool(changed) or not self.deployed, push_to_aws):
            return
        from ..aws import provisioning

        push.after_commit_batched(
            gateway,
            "provisioning routes",
            (self, changed.get("route_key", "")),
            lambda saved: provisioning.provision_routes(gateway, saved),
            record=self,
        )

    def delete(self, *args: Any, push_to_aws: bool | None = None, **kwargs: Any) -> Any:
        """Delete the record and, by ``aws.push``'s rule, the route from AWS (4.1.0's kwarg).

        The route, its route responses and its integration are removed and the stage deployed
        once the transaction commits. Deleting through a queryset or the admin does the same
        (a ``pre_delete`` receiver), following ``WEBSOCKETS["push_changes_to_aws"]``.
        """
        self._push_to_aws = push_to_aws
        return super().delete(*args, **kwargs)

    def check_fields(self, names: set[str] | None) -> None:
        if names is None or "integration_url" in names:
            validate_integration_host(self.integration_url, "integration_url")


@receiver(pre_delete, sender=ApiGatewayAdditionalRoute)
def delete_route_from_aws(
    sender: Any, instance: ApiGatewayAdditionalRoute, origin: Any = None, **kwargs: Any
) -> None:
    """A deleted route leaves AWS too, by the push rule; not when its gateway is deleted.

    Deleting a gateway's record leaves its API in AWS as it is, routes included.
    """
    if isinstance(origin, ApiGateway) or getattr(origin, "model", None) is ApiGateway:
        return
    gateway = ApiGateway._base_manager.filter(pk=instance.api_gateway_id).first()
    if gateway is None or not push.applies(gateway, True, getattr(instance, "_push_to_aws", None)):
        return
    from ..aws import provisioning

    push.after_commit_batched(
        gateway,
        "deleting routes",
        (instance.route_key, instance.route_id),
        lambda routes: provisioning.delete_routes(gateway, routes),
        record=instance,
    )

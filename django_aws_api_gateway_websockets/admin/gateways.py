"""Admin pages for gateways and their routes, with the AWS actions."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from ..aws import deferred, push
from ..aws.sync import check
from ..models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
)
from .base import PermissionCheckedAdmin

logger = logging.getLogger(__name__)


class ApiGatewayAdditionalRouteInline(admin.TabularInline):
    model = ApiGatewayAdditionalRoute
    extra = 1
    readonly_fields = ["deployed"]


class ReportsRefusedPushes(PermissionCheckedAdmin):
    """AWS's refusal of a push deferred to the commit becomes a message, not a 500.

    The admin saves inside a transaction; a change to a deployed route is pushed when it
    commits, still inside the view. What AWS refuses then is shown, and the row stays saved.
    """

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._reporting(request, super().changeform_view, request, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._reporting(request, super().delete_view, request, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._reporting(request, super().changelist_view, request, *args, **kwargs)

    def _reporting(
        self, request: HttpRequest, view: Callable[..., HttpResponse], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        with deferred.collecting_errors() as errors:
            response = view(*args, **kwargs)
        for record, error in errors:
            text = without_secrets(f"{record}: {refused_message(error)}", gateway_of(record))
            self.message_user(request, text, messages.ERROR)
        return response

    # Saves and deletes go through the model, which pushes by ``aws.push``'s one rule. Only a
    # user without ``manage_aws`` changes the records alone (``push_to_aws=False``).

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if self.has_manage_aws_permission(request):
            obj.save()
        else:
            self._save_here_only(request, obj, form.changed_data)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if self.has_manage_aws_permission(request):
            return super().save_formset(request, form, formset, change)
        # By identity: a new record has no pk, so it cannot be a dict key itself.
        changed = {id(f.instance): f.changed_data for f in formset.forms if f.has_changed()}
        for record in formset.save(commit=False):
            self._save_here_only(request, record, changed.get(id(record), []))
        for record in formset.deleted_objects:
            record.delete(push_to_aws=False)
        formset.save_m2m()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if isinstance(obj, ApiGatewayAdditionalRoute) and not self.has_manage_aws_permission(
            request
        ):
            obj.delete(push_to_aws=False)
        else:
            super().delete_model(request, obj)  # a gateway's deletion leaves AWS as it is

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        if queryset.model is not ApiGatewayAdditionalRoute or self.has_manage_aws_permission(
            request
        ):
            super().delete_queryset(request, queryset)
            return
        for obj in queryset:
            obj.delete(push_to_aws=False)

    def _save_here_only(self, request: HttpRequest, obj: Any, changed_data: Any) -> None:
        """Save without AWS; say so when the model's rule would have pushed the save."""
        new_route = isinstance(obj, ApiGatewayAdditionalRoute) and not obj.deployed
        changes_aws = new_route or bool(set(changed_data) & set(obj.synced_fields))
        would_push = push.applies(gateway_of(obj), changes_aws, None)
        obj.save(push_to_aws=False)
        if would_push:
            self.message_user(request, NOT_PUSHED.format(obj), messages.WARNING)

    # Django offers an action to a user with ANY of its ``permissions``, so an action that
    # needs two names one check that requires both.

    def has_manage_aws_permission(self, request: HttpRequest) -> bool:
        """``manage_aws``: AWS may be called (check; pushes of what one saves)."""
        return self.has_model_permission(request, "manage_aws")

    def has_change_in_aws_permission(self, request: HttpRequest) -> bool:
        """``manage_aws`` and change of the gateway: AWS and the records both change."""
        return self.has_manage_aws_permission(request) and self._may_change_gateways(request)

    def has_rotate_secret_permission(self, request: HttpRequest) -> bool:
        """``rotate_secret`` and change of the gateway."""
        return self.has_model_permission(request, "rotate_secret") and self._may_change_gateways(
            request
        )

    def _may_change_gateways(self, request: HttpRequest) -> bool:
        return self.has_model_permission(request, "change_apigateway")


def refused_message(error: Exception) -> str:
    return (
        f"saved, but AWS refused the change ({error}); run 'Sync to AWS' on its gateway "
        "to try again."
    )


def gateway_of(record: object) -> ApiGateway | None:
    if isinstance(record, ApiGatewayAdditionalRoute):
        return record.api_gateway
    return record if isinstance(record, ApiGateway) else None


def without_secrets(text: str, gateway: ApiGateway | None) -> str:
    """``text`` with the gateway's secrets blanked: AWS's error messages may quote a request's
    parameters, which carry the secret."""
    if gateway is None:
        return text
    for secret in (gateway.gateway_secret, gateway.previous_gateway_secret):
        if secret:
            text = text.replace(secret, "[gateway secret]")
    return text


def secret_fingerprint(secret: str) -> str:
    """The first 8 hex digits of the secret's SHA-256: tells secrets apart, reveals nothing."""
    if not secret:
        return "(none)"
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


@admin.register(ApiGateway)
class ApiGatewayAdmin(ReportsRefusedPushes):
    search_fields = ["api_name", "domain_name", "api_id"]
    list_display = [
        "api_name",
        "domain_name",
        "default_channel_name",
        "api_id",
        "stage_name",
        "provisioning_status",
        "api_created",
        "custom_domain_created",
        "created_on",
    ]
    list_filter = ["provisioning_status", "api_created", "custom_domain_created"]
    date_hierarchy = "created_on"
    # The secrets are never shown, edited or filtered on: a fingerprint and the date suffice.
    exclude = hidden_fields = (
        "gateway_secret",
        "pending_gateway_secret",
        "previous_gateway_secret",
    )
    readonly_fields = [
        "deployment_id",
        "api_created",
        "custom_domain_created",
        "last_error",
        "gateway_secret_fingerprint",
        "pending_gateway_secret_fingerprint",
        "previous_gateway_secret_fingerprint",
        "gateway_secret_rotated_on",
    ]
    inlines = [ApiGatewayAdditionalRouteInline]
    actions = [
        "create_api_gateway",
        "create_custom_domain",
        "sync_to_aws",
        "sync_from_aws",
        "check_api_gateway",
        "rotate_gateway_secret",
    ]

    @admin.action(description="Create API Gateway in AWS", permissions=["change_in_aws"])
    def create_api_gateway(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._provision(request, queryset, "create_gateway", "API Gateway")

    @admin.action(description="Create custom domain in AWS", permissions=["change_in_aws"])
    def create_custom_domain(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._provision(request, queryset, "create_custom_domain", "custom domain")

    @admin.action(
        description="Sync to AWS (routes, route responses, integrations, stage)",
        permissions=["change_in_aws"],
    )
    def sync_to_aws(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._each(request, queryset, "syncing to AWS", lambda g: _changes(g.sync_to_aws()))

    @admin.action(
        description="Sync from AWS (read the deployed API into the records)",
        permissions=["change_in_aws"],
    )
    def sync_from_aws(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._each(request, queryset, "syncing from AWS", lambda g: _changes(g.sync_from_aws()))

    @admin.action(description="Check the deployed API in AWS", permissions=["manage_aws"])
    def check_api_gateway(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._each(request, queryset, "checking", _check)

    @admin.action(description="Rotate the gateway secret", permissions=["rotate_secret"])
    def rotate_gateway_secret(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        def rotate(gateway: ApiGateway) -> tuple[int, str]:
            gateway.rotate_gateway_secret()
            return messages.SUCCESS, (
                "new secret sent to AWS; the old one is accepted until a later 'Sync to AWS' "
                "finds nothing to change."
            )

        self._each(request, queryset, "rotating the secret", rotate)

    @admin.display(description="gateway secret (SHA-256 fingerprint)")
    def gateway_secret_fingerprint(self, obj: ApiGateway) -> str:
        return secret_fingerprint(obj.gateway_secret)

    @admin.display(description="pending gateway secret, not yet in AWS (SHA-256 fingerprint)")
    def pending_gateway_secret_fingerprint(self, obj: ApiGateway) -> str:
        return secret_fingerprint(obj.pending_gateway_secret)

    @admin.display(description="previous gateway secret (SHA-256 fingerprint)")
    def previous_gateway_secret_fingerprint(self, obj: ApiGateway) -> str:
        return secret_fingerprint(obj.previous_gateway_secret)

    def _provision(
        self, request: HttpRequest, queryset: QuerySet[ApiGateway], method: str, what: str
    ) -> None:
        def provision(gateway: ApiGateway) -> tuple[int, str]:
            if getattr(gateway, method)():
                return messages.SUCCESS, f"{what} created."
            return messages.INFO, f"{what} already existed."

        self._each(
            request,
            queryset,
            f"creating the {what}",
            provision,
            "; nothing was marked created, so the action can be repeated",
        )

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[ApiGateway],
        doing: str,
        run: Callable[[ApiGateway], tuple[int, str]],
        after_failure: str = "",
    ) -> None:
        """``run`` each gateway; its answer, a ValueError or an AWS failure as a message."""
        for gateway in queryset:
            logger.info("%s: %s %r (pk %s)", request.user, doing, gateway.api_name, gateway.pk)
            try:
                level, text = run(gateway)
            except ValueError as exc:
                self.message_user(request, f"{gateway}: {exc}", messages.ERROR)
            except Exception as exc:
                logger.exception("%s %r failed", doing, gateway.api_name)
                failure = f"{gateway}: {doing} failed ({type(exc).__name__}: {exc}){after_failure}."
                self.message_user(request, without_secrets(failure, gateway), messages.ERROR)
            else:
                self.message_user(request, f"{gateway}: {text}", level)


NOT_PUSHED = (
    "{}: saved here only; AWS was not changed, which needs the permission 'Can create, sync "
    "and check the API in AWS'. Someone who has it can run 'Sync to AWS'."
)


def _changes(changes: list[str]) -> tuple[int, str]:
    if not changes:
        return messages.INFO, "already up to date."
    return messages.SUCCESS, "; ".join(changes) + "."


def _check(gateway: ApiGateway) -> tuple[int, str]:
    if not gateway.is_deployed:
        raise ValueError("not deployed in AWS yet.")
    differences = check(gateway)
    if not differences:
        return messages.SUCCESS, "the deployed API has everything this package needs."
    return messages.WARNING, "; ".join(str(d) for d in differences) + "."


@admin.register(ApiGatewayAdditionalRoute)
class ApiGatewayAdditionalRouteAdmin(ReportsRefusedPushes):
    search_fields = ["name", "route_key"]
    list_display = [
        "name",
        "api_gateway",
        "route_key",
        "integration_url",
        "route_response",
        "deployed",
    ]
    list_filter = ["api_gateway", "deployed"]
    readonly_fields = ["deployed"]

"""Admin pages for gateways and their routes, with the AWS actions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from ..aws import deferred
from ..aws.sync import check
from ..models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
)

logger = logging.getLogger(__name__)


class PushFailuresAsMessages(admin.ModelAdmin):
    """Saves and deletes go to AWS by the model's one rule (``aws.push``), after the view's
    transaction commits; a refusal then is a message, not a 500. Nothing else decides here."""

    def _reporting(
        self, view: Callable[..., HttpResponse], request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        with deferred.collecting_errors() as errors:
            response = view(request, *args, **kwargs)
        for record, error in errors:
            self.message_user(
                request,
                f"{record}: saved, but AWS refused the change ({error}); run 'Sync to AWS' on "
                "its gateway to try again.",
                messages.ERROR,
            )
        return response

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._reporting(super().changeform_view, request, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._reporting(super().delete_view, request, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._reporting(super().changelist_view, request, *args, **kwargs)


class ApiGatewayAdditionalRouteInline(admin.TabularInline):
    model = ApiGatewayAdditionalRoute
    extra = 1
    readonly_fields = ["deployed"]


@admin.register(ApiGateway)
class ApiGatewayAdmin(PushFailuresAsMessages):
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
    readonly_fields = ["deployment_id", "api_created", "custom_domain_created", "last_error"]
    inlines = [ApiGatewayAdditionalRouteInline]
    actions = [
        "create_api_gateway",
        "create_custom_domain",
        "sync_to_aws",
        "sync_from_aws",
        "check_api_gateway",
        "rotate_gateway_secret",
    ]

    @admin.action(description="Create API Gateway in AWS")
    def create_api_gateway(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._provision(request, queryset, "create_gateway", "API Gateway")

    @admin.action(description="Create custom domain in AWS")
    def create_custom_domain(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._provision(request, queryset, "create_custom_domain", "custom domain")

    @admin.action(description="Sync to AWS (routes, route responses, integrations, stage)")
    def sync_to_aws(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._each(request, queryset, "syncing to AWS", lambda g: _changes(g.sync_to_aws()))

    @admin.action(description="Sync from AWS (read the deployed API into the records)")
    def sync_from_aws(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._each(request, queryset, "syncing from AWS", lambda g: _changes(g.sync_from_aws()))

    @admin.action(description="Check the deployed API in AWS")
    def check_api_gateway(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        self._each(request, queryset, "checking", _check)

    @admin.action(description="Rotate the gateway secret")
    def rotate_gateway_secret(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        def rotate(gateway: ApiGateway) -> tuple[int, str]:
            gateway.rotate_gateway_secret()
            return messages.SUCCESS, (
                "new secret sent to AWS; the old one is accepted until a later 'Sync to AWS' "
                "finds nothing to change."
            )

        self._each(request, queryset, "rotating the secret", rotate)

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
                self.message_user(
                    request,
                    f"{gateway}: {doing} failed ({type(exc).__name__}: {exc}){after_failure}.",
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"{gateway}: {text}", level)


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
class ApiGatewayAdditionalRouteAdmin(PushFailuresAsMessages):
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

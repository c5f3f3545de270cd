"""What the app's admin pages share: actions by permission, hidden fields, read-only pages."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, PermissionsMixin
from django.core.exceptions import PermissionDenied
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse


class PermissionCheckedAdmin(admin.ModelAdmin):
    """Actions only for who may run them; fields in ``hidden_fields`` never filtered on.

    Every action declares its permission (``@admin.action(permissions=[...])``, one name: Django
    offers an action to users passing ANY of the names, so what needs two is one check here).
    Posting an action that is not offered is refused with a 403, so a viewer cannot run one by
    crafting the request either.
    """

    # Credentials (or hashes of them) that must not leak, not even through ``?field__startswith=``
    # on the list, whose row count would otherwise tell them one character at a time.
    hidden_fields: tuple[str, ...] = ()

    def has_model_permission(self, request: HttpRequest, codename: str) -> bool:
        """``request.user`` has ``codename`` of this app (a model's ``Meta.permissions`` entry)."""
        # The admin requires a user model with PermissionsMixin (or its methods).
        user = cast("PermissionsMixin | AnonymousUser", request.user)
        return user.has_perm(f"{self.opts.app_label}.{codename}")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "POST":
            offered = self.get_actions(request)
            posted = [name for name in request.POST.getlist("action") if name]
            if any(name not in offered for name in posted):
                raise PermissionDenied("You may not run this action.")
        return super().changelist_view(request, extra_context)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        if lookup.split(LOOKUP_SEP)[0] in self.hidden_fields:
            return False
        return super().lookup_allowed(lookup, value, request)


class ReadOnlyAdmin(PermissionCheckedAdmin):
    """Rows written by the system itself: viewable only.

    Cleanup removes them on its schedule; deleting one by hand (a report under delivery, a
    token in use) would only confuse the work that owns it.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

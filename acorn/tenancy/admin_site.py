"""The Django admin, tenant-scoped for tenant staff.

Platform superusers see every tenant (the middleware runs their admin requests unscoped). Tenant staff
(roles with ``admin.access``) see only their tenant's rows: the middleware keeps their scope active,
and TenantScopedAdmin filters, fills in the tenant on create, and maps view/add/change/delete onto the
role table. Another tenant's object answers 404, not a redirect that confirms it exists.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from acorn.tenancy.permissions import has_permission


def _membership(request: HttpRequest) -> Any:
    return getattr(request, "membership", None)


class AcornAdminSite(admin.AdminSite):
    site_header = "ACORN"
    site_title = "ACORN admin"
    index_title = "ACORN"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not user.is_active:
            return False
        if user.is_superuser:
            return True
        return getattr(request, "tenant", None) is not None and has_permission(_membership(request), "admin.access")

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """One sign-in for the whole product (allauth, with two-factor and rate limits)."""
        if request.user.is_authenticated:
            # Signed in but not allowed here: say so rather than looping through the login page.
            raise PermissionDenied
        # Encoded: a `next` holding "&" or "#" stays one parameter (allauth checks it is a local URL).
        return redirect(
            f"{reverse('account_login')}?{urlencode({'next': request.GET.get('next', reverse('admin:index'))})}"
        )


class TenantScopedAdmin(admin.ModelAdmin):
    """Base admin for tenant-owned models. Set `permissions` to map admin actions onto the role table."""

    # e.g. {"view": "refunds.view", "change": "refunds.approve"}; a missing key means "not for tenant staff".
    permissions: dict[str, str] = {}

    def _allowed(self, request: HttpRequest, action: str) -> bool:
        if request.user.is_superuser:
            return True
        permission = self.permissions.get(action)
        return permission is not None and has_permission(_membership(request), permission)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, "view")

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, "view") or self._allowed(request, "change")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._allowed(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, "delete")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        # The scope is active already; the explicit filter is a second lock on the same door.
        return queryset.filter(tenant=request.tenant)  # type: ignore[attr-defined]

    def get_exclude(self, request: HttpRequest, obj: Model | None = None) -> Any:
        excluded = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser:
            excluded.append("tenant")
        return excluded

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and not request.user.is_superuser:
            obj.tenant = request.tenant  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> HttpResponse:
        raise Http404


class TenantScopedInline(admin.TabularInline):
    """Read-only rows shown inside a TenantScopedAdmin page (the parent's queryset already limits them to the
    tenant): visible to the roles whose `view_permission` the role table grants, never added, changed or
    deleted here."""

    view_permission = ""
    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if request.user.is_superuser:
            return True
        return bool(self.view_permission) and has_permission(_membership(request), self.view_permission)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

"""View guards: a signed-in member of a tenant, optionally with a permission from the role table."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.permissions import has_permission


class TenantRequest(HttpRequest):
    """The request as tenant views see it, after TenantMiddleware and the guard below."""

    tenant: Tenant
    membership: Membership
    request_id: str
    user: User


def _guard(request: HttpRequest, permission: str | None) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if getattr(request, "tenant", None) is None:
        return redirect("console:no-tenant")
    if permission and not has_permission(request.membership, permission):  # type: ignore[attr-defined]
        raise PermissionDenied
    return None


class TenantMemberMixin(LoginRequiredMixin):
    """Class-based views: requires a tenant membership and, if set, `permission_required`."""

    permission_required: str | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = _guard(request, self.permission_required)
        if refused is not None:
            return refused
        return super().dispatch(request, *args, **kwargs)  # type: ignore[return-value]


def tenant_member_required(
    permission: str | None = None,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Function views: the same guard as TenantMemberMixin (streamed and file responses included)."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            refused = _guard(request, permission)
            if refused is not None:
                return refused
            return view(request, *args, **kwargs)

        return wrapped

    return decorator

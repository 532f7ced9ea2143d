"""Request id and tenant middleware.

TenantMiddleware resolves the signed-in user's tenant from their memberships (the chosen tenant is kept
in the session and re-checked on every request, never taken from a URL or form), sets
``request.tenant`` / ``request.membership`` and runs the rest of the request inside that tenant's scope and its
time zone (dates shown in the tenant's zone, acorn.dates).
Platform superusers in the admin run unscoped; everyone else with no tenant runs with no scope, so any
tenant-owned query raises ScopeError.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from acorn import logcontext
from acorn.dates import tenant_time_zone
from acorn.tenancy.scoping import dangerously_unscoped, request_id_var, tenant_scope
from acorn.tenancy.selectors import membership_for_request

SESSION_TENANT_KEY = "acorn_tenant_id"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give each request an id (an upstream X-Request-ID if well-formed) for logs and audit events: the trace
    id of acorn.logcontext, on every log line of the request and of the tasks it sends."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)

        membership = membership_for_request(user=user, tenant_id=request.session.get(SESSION_TENANT_KEY))
        if membership is not None:
            if request.session.get(SESSION_TENANT_KEY) != membership.tenant_id:
                # Assigning marks the session modified: write it only when the tenant changes.
                request.session[SESSION_TENANT_KEY] = membership.tenant_id
            request.tenant = membership.tenant  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            with logcontext.bound(tenant_id=membership.tenant_id), tenant_time_zone(membership.tenant.time_zone):
                if user.is_superuser and _is_admin_path(request):
                    with dangerously_unscoped():
                        return self.get_response(request)
                with tenant_scope(membership.tenant):
                    return self.get_response(request)
        if user.is_superuser and _is_admin_path(request):
            with dangerously_unscoped():
                return self.get_response(request)
        return self.get_response(request)


def _is_admin_path(request: HttpRequest) -> bool:
    from django.urls import reverse

    return request.path.startswith(reverse("admin:index"))

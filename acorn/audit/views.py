"""The audit log page, for owners and admins."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from acorn.audit.forms import AuditFilterForm
from acorn.audit.selectors import audit_action_list, audit_event_list
from acorn.tenancy.mixins import TenantRequest, tenant_member_required


@tenant_member_required("audit.view")
def audit_event_list_view(request: TenantRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, actions=audit_action_list(tenant=request.tenant))
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_event_list(
        tenant=request.tenant,
        action=filters.get("action") or "",
        actor_query=filters.get("actor") or "",
        since=filters.get("since"),
        until=filters.get("until"),
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/auditevent_list.html", {"form": form, "page": page})

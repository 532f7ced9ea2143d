"""The notification centre."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from acorn.notifications import services
from acorn.notifications.selectors import notification_get_or_404, notification_list
from acorn.tenancy.mixins import TenantRequest, tenant_member_required


@tenant_member_required()
def notification_list_view(request: TenantRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    notifications = notification_list(tenant=request.tenant, user=request.user, unread_only=unread_only)
    page = Paginator(notifications, 25).get_page(request.GET.get("page"))
    return render(request, "notifications/notification_list.html", {"page": page, "unread_only": unread_only})


@require_POST
@tenant_member_required()
def notification_read_view(request: TenantRequest, notification_pk: int) -> HttpResponse:
    notification = notification_get_or_404(tenant=request.tenant, user=request.user, pk=notification_pk)
    services.notification_mark_read(tenant=request.tenant, user=request.user, notification=notification)
    target = notification.link
    if request.POST.get("follow") and target and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect("notifications:notification-list")


@require_POST
@tenant_member_required()
def notification_read_all_view(request: TenantRequest) -> HttpResponse:
    services.notification_mark_all_read(tenant=request.tenant, user=request.user)
    return redirect("notifications:notification-list")

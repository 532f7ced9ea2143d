"""Stock sharing pages: every store with its rule, and one store's rule, listings (what each should show
and what the channel shows) and push log, with "push now" and "retry failed"."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from acorn.forms import form_add_errors
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from channels.models import StoreStatus
from channels.selectors import store_get_or_404
from inventory.forms_sharing import ListingFilterForm, SharingRuleForm
from inventory.models import PushState
from inventory.selectors_sharing import (
    listing_get_or_404,
    listing_list,
    listing_state_counts,
    sharing_rule_get,
    sharing_store_list,
    sharing_warehouse_choices,
    stock_push_list,
)
from inventory.sharing import listings_retry_failed, sharing_rule_update, stock_push_request

LISTINGS_PER_PAGE = 50
RECENT_PUSHES = 20


@tenant_member_required("inventory.view")
def sharing_list_view(request: TenantRequest) -> HttpResponse:
    """Every store with its sharing rule in short and how its listings stand."""
    counts = listing_state_counts(tenant=request.tenant)
    rows = []
    for store in sharing_store_list(tenant=request.tenant):
        rule = getattr(store, "sharing_rule", None)
        rows.append((store, rule, counts.get(store.pk, {})))
    return render(request, "inventory/sharing_list.html", {"rows": rows})


@tenant_member_required("inventory.view")
def sharing_detail_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    """One store: the rule (editable by managers), its listings and the recent push log."""
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    can_manage = has_permission(request.membership, "inventory.manage")
    if request.method == "POST" and not can_manage:
        raise PermissionDenied
    rule = sharing_rule_get(store=store)
    initial = (
        {
            "share_percent": rule.share_percent,
            "safety_buffer": rule.safety_buffer,
            "max_listed": rule.max_listed,
            "warehouses": [warehouse.pk for warehouse in rule.warehouses.all()],
            "push_enabled": rule.push_enabled,
        }
        if rule is not None
        else None
    )
    form = SharingRuleForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        warehouses=sharing_warehouse_choices(tenant=request.tenant),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sharing_rule_update(
                tenant=request.tenant,
                store=store,
                actor=request.user,
                share_percent=data["share_percent"],
                safety_buffer=data["safety_buffer"],
                max_listed=data["max_listed"],
                warehouses=list(data["warehouses"]),
                push_enabled=data["push_enabled"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Sharing rule of %(store)s saved.") % {"store": store.name})
            return redirect("inventory:sharing-detail", store_pk=store.pk)
    filters = ListingFilterForm(request.GET or None)
    state = filters.cleaned_data["state"] if filters.is_valid() else ""
    page = Paginator(listing_list(store=store, state=state), LISTINGS_PER_PAGE).get_page(request.GET.get("page"))
    counts = listing_state_counts(tenant=request.tenant, store=store).get(store.pk, {})
    return render(
        request,
        "inventory/sharing_detail.html",
        {
            "store": store,
            "rule": rule,
            "form": form,
            "filters": filters,
            "state": state,
            "page": page,
            "counts": counts,
            "retryable": counts.get(PushState.FAILED, 0) + counts.get(PushState.REJECTED, 0),
            "pushes": stock_push_list(store=store)[:RECENT_PUSHES],
            "can_manage": can_manage,
            "can_push": rule is not None and rule.push_enabled and store.status == StoreStatus.ACTIVE,
        },
        status=400 if form.errors else 200,
    )


@tenant_member_required("inventory.manage")
@require_POST
def sharing_push_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    """Recompute the store's quantities and push them now."""
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    try:
        stock_push_request(tenant=request.tenant, store=store, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Quantities of %(store)s are being pushed.") % {"store": store.name})
    return redirect("inventory:sharing-detail", store_pk=store.pk)


@tenant_member_required("inventory.manage")
@require_POST
def sharing_retry_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    """Send failed and refused listings again, with their attempts counted afresh."""
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    retried = listings_retry_failed(tenant=request.tenant, store=store, actor=request.user)
    if retried:
        messages.success(
            request,
            ngettext("%(count)d listing will be pushed again.", "%(count)d listings will be pushed again.", retried)
            % {"count": retried},
        )
    else:
        messages.info(request, _("No listing failed."))
    return redirect("inventory:sharing-detail", store_pk=store.pk)


@tenant_member_required("inventory.view")
def listing_detail_view(request: TenantRequest, listing_pk: int) -> HttpResponse:
    """One listing: its numbers and every push of it."""
    listing = listing_get_or_404(tenant=request.tenant, pk=listing_pk)
    page = Paginator(stock_push_list(listing=listing), LISTINGS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, "inventory/sharing_listing_detail.html", {"listing": listing, "store": listing.store, "page": page}
    )

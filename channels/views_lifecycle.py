"""A store's lifecycle in the console: rename, marketplaces (Amazon), participations, disconnect, delete.
Owners and admins only ("stores.manage"); another tenant's store answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from acorn.forms import form_add_errors
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from channels import services_lifecycle as lifecycle
from channels.adapters.base import Capability, ChannelError
from channels.adapters.registry import platform_is_regional, platform_supports
from channels.forms import StoreDeleteForm, StoreMarketplacesForm, StoreRenameForm, marketplace_label
from channels.models import StoreStatus
from channels.selectors import store_get_or_404

DELETION_LABELS = {
    "orders": gettext_lazy("orders"),
    "refunds": gettext_lazy("refunds"),
    "returns": gettext_lazy("returns"),
    "sku_mappings": gettext_lazy("SKU mappings"),
    "reservations": gettext_lazy("stock reservations (released)"),
    "fba_stock_records": gettext_lazy("FBA stock records (taken out of the FBA warehouse)"),
    "settlements": gettext_lazy("settlements and payouts"),
    "sync_runs": gettext_lazy("sync runs"),
}


@tenant_member_required("stores.manage")
def store_rename_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    form = StoreRenameForm(request.POST if request.method == "POST" else None, initial={"name": store.name})
    if request.method == "POST" and form.is_valid():
        old = store.name
        try:
            lifecycle.store_rename(
                store=store, actor=request.user, membership=request.membership, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("“%(old)s” is now called “%(new)s”.") % {"old": old, "new": store.name})
            return redirect("channels:store-detail", store_pk=store.pk)
    return render(
        request, "channels/store_rename.html", {"store": store, "form": form}, status=400 if form.errors else 200
    )


@tenant_member_required("stores.manage")
def store_marketplaces_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    if not platform_is_regional(store.platform):
        raise Http404
    allowed = lifecycle.marketplace_choices_for(store)
    form = StoreMarketplacesForm(request.POST if request.method == "POST" else None, store=store, allowed=allowed)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.store_update_marketplaces(
                store=store,
                actor=request.user,
                membership=request.membership,
                marketplaces=form.cleaned_data["marketplaces"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(
                request,
                _("ACORN now reads %(marketplaces)s.") % {"marketplaces": ", ".join(store.marketplaces)},
            )
            return redirect("channels:store-detail", store_pk=store.pk)
    context = {
        "store": store,
        "form": form,
        "not_offered": [marketplace_label(code) for code in store.marketplaces if code not in allowed],
    }
    return render(request, "channels/store_marketplaces.html", context, status=400 if form.errors else 200)


@require_POST
@tenant_member_required("stores.manage")
def store_check_participations_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    if not platform_supports(store.platform, Capability.READ_MARKETPLACE_PARTICIPATIONS):
        raise Http404
    if store.status != StoreStatus.ACTIVE:
        messages.error(request, _("Authorise the store first; then ACORN can ask Amazon."))
        return redirect("channels:store-detail", store_pk=store.pk)
    try:
        lifecycle.store_refresh_participations(store=store)
    except ChannelError as error:
        messages.error(request, _("Amazon did not answer: %(reason)s") % {"reason": error})
    else:
        wrong = store.marketplaces_not_participating()
        if wrong:
            messages.warning(
                request,
                _("Amazon says this seller does not sell on %(marketplaces)s.") % {"marketplaces": ", ".join(wrong)},
            )
        else:
            messages.success(request, _("Amazon confirms the seller sells on every marketplace of this store."))
    return redirect("channels:store-detail", store_pk=store.pk)


@tenant_member_required("stores.manage")
def store_disconnect_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    if request.method == "POST":
        if store.status == StoreStatus.DISABLED:
            messages.info(request, _("“%(store)s” is already disconnected.") % {"store": store.name})
            return redirect("channels:store-detail", store_pk=store.pk)
        result = lifecycle.store_disconnect(store=store, actor=request.user, membership=request.membership)
        messages.success(
            request,
            _("“%(store)s” is disconnected: its tokens are deleted and syncing has stopped. Its data stays.")
            % {"store": store.name},
        )
        if result.webhook_problem:
            messages.warning(
                request,
                _("ACORN could not remove its webhooks from the shop (%(reason)s); remove them there if they stay.")
                % {"reason": result.webhook_problem},
            )
        return redirect("channels:store-detail", store_pk=store.pk)
    return render(request, "channels/store_disconnect.html", {"store": store})


@tenant_member_required("stores.manage")
def store_delete_view(request: TenantRequest, store_pk: int) -> HttpResponse:
    store = store_get_or_404(tenant=request.tenant, pk=store_pk)
    form = StoreDeleteForm(request.POST if request.method == "POST" else None, store=store)
    blockers = lifecycle.store_deletion_blockers(store=store)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.store_request_deletion(
                store=store,
                actor=request.user,
                membership=request.membership,
                confirm_name=form.cleaned_data["confirm_name"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(
                request,
                _("“%(store)s” is being deleted. You will get a notification when it is done.") % {"store": store.name},
            )
            return redirect("channels:store-list")
    preview = [
        (DELETION_LABELS.get(kind, kind), number)
        for kind, number in lifecycle.store_deletion_preview(store=store).items()
    ]
    return render(
        request,
        "channels/store_delete.html",
        {"store": store, "form": form, "blockers": blockers, "preview": preview},
        status=400 if form.errors else 200,
    )

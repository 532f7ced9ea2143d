"""The console pages of costs that belong to no order, under /app/finance/profit/costs-of-no-order/: the list
(filters, totals per kind and currency, pages), a cost entered by hand and its deletion, the advertising report
upload with its history, and the profit settings (spreading costs over SKUs, fulfilment rates). Seeing needs
`profit.view`; entering, uploading and settings need `profit.manage`. Views parse, call a selector or a
service, and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from acorn.dates import format_day
from acorn.forms import form_add_errors
from acorn.pagination import keyset_paginate
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from channels.selectors import store_list
from finance.profit.ad_reports import TEMPLATE_COLUMNS, ad_report_import
from finance.profit.forms_other import (
    AdReportUploadForm,
    FulfilmentRateForm,
    OtherCostFilterForm,
    OtherCostForm,
    ProfitSettingsForm,
)
from finance.profit.models import OtherCostKind
from finance.profit.other_costs import other_cost_create, other_cost_delete, profit_settings_update
from finance.profit.selectors_other import (
    ad_spend_upload_list,
    fulfilment_rate_rows,
    other_cost_list,
    other_cost_manual_get_or_404,
    other_cost_totals,
    product_choices,
    profit_settings_get,
)
from finance.profit.views import section_tabs

PER_PAGE = 50
UPLOADS_PER_PAGE = 20
_KIND_LABELS = dict(OtherCostKind.choices)


def _tabs(request: TenantRequest) -> list[dict[str, Any]]:
    """The Profit section's tabs, "Costs of no order" active (its upload and settings pages are reached from
    the list's buttons)."""
    return section_tabs(request, "other-costs")


@tenant_member_required("profit.view")
def other_cost_list_view(request: TenantRequest) -> HttpResponse:
    stores = [(store.pk, store.name) for store in store_list(tenant=request.tenant)]
    form = OtherCostFilterForm(request.GET or None, stores=stores)
    filters = form.filters()
    costs = other_cost_list(tenant=request.tenant, **filters)
    page = keyset_paginate(costs, ordering="-day", cursor=request.GET.get("cursor"), per_page=PER_PAGE)
    totals = [
        {**row, "label": _KIND_LABELS.get(str(row["kind"]), row["kind"])} for row in other_cost_totals(costs=costs)
    ]
    return render(
        request,
        "finance/profit/other_cost_list.html",
        {
            "tabs": _tabs(request),
            "form": form,
            "page": page,
            "totals": totals,
            "filtered": any(value not in (None, "") for value in filters.values()) or bool(form.errors),
            "can_manage": has_permission(request.membership, "profit.manage"),
        },
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("profit.manage")
def other_cost_create_view(request: TenantRequest) -> HttpResponse:
    form = OtherCostForm(
        request.POST or None,
        stores=store_list(tenant=request.tenant),
        products=product_choices(tenant=request.tenant),
    )
    if request.method == "POST" and form.is_valid():
        try:
            cost = other_cost_create(tenant=request.tenant, entry=form.entry(), actor=request.user)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(
                request,
                _("%(kind)s of %(day)s recorded.") % {"kind": cost.get_kind_display(), "day": format_day(cost.day)},
            )
            return redirect("finance:profit-other-cost-list")
    return render(
        request,
        "finance/profit/other_cost_form.html",
        {"tabs": _tabs(request), "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_member_required("profit.manage")
def other_cost_delete_view(request: TenantRequest, other_cost_pk: int) -> HttpResponse:
    """Delete a cost entered by hand (another tenant's, or one from a statement or a report: 404)."""
    cost = other_cost_manual_get_or_404(tenant=request.tenant, pk=other_cost_pk)
    other_cost_delete(tenant=request.tenant, cost=cost, actor=request.user)
    messages.success(request, _("The cost was deleted."))
    return redirect("finance:profit-other-cost-list")


@require_http_methods(["GET", "POST"])
@tenant_member_required("profit.view")
def ad_report_upload_view(request: TenantRequest) -> HttpResponse:
    """Upload an advertising report (profit.manage) and see the reports imported before (profit.view)."""
    can_manage = has_permission(request.membership, "profit.manage")
    if request.method == "POST" and not can_manage:
        raise PermissionDenied
    stores = store_list(tenant=request.tenant)
    form = AdReportUploadForm(request.POST or None, request.FILES or None, stores=stores)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = ad_report_import(
            tenant=request.tenant,
            store=form.cleaned_data["store"],
            data=upload.read(),
            filename=upload.name,
            currency=form.cleaned_data.get("currency") or "",
            actor=request.user,
        )
        if result.imported:
            text = _("%(file)s imported (%(format)s): %(written)d costs written, %(unchanged)d unchanged.") % {
                "file": result.filename,
                "format": result.format_label,
                "written": result.written,
                "unchanged": result.unchanged,
            }
            if result.skipped:
                text += " " + ngettext(
                    "%(count)d row without spend skipped.", "%(count)d rows without spend skipped.", result.skipped
                ) % {"count": result.skipped}
            messages.success(request, text)
            return redirect("finance:profit-ad-report-upload")
    history = Paginator(ad_spend_upload_list(tenant=request.tenant), UPLOADS_PER_PAGE).get_page(request.GET.get("page"))
    failed = bool(form.errors) or (result is not None and not result.imported)
    return render(
        request,
        "finance/profit/other_ad_report_upload.html",
        {
            "tabs": _tabs(request),
            "form": form,
            "result": result,
            "history": history,
            "has_stores": stores.exists(),
            "can_manage": can_manage,
            "template_columns": TEMPLATE_COLUMNS,
        },
        status=400 if failed else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("profit.manage")
def profit_settings_view(request: TenantRequest) -> HttpResponse:
    """Spread costs of no order over SKUs or not, and what shipping a merchant order costs per warehouse. A
    change rebuilds the P&L of the last 400 days in the background."""
    current = profit_settings_get(tenant=request.tenant)
    data = request.POST if request.method == "POST" else None
    form = ProfitSettingsForm(data, initial={"spread_unassigned_costs": current.spread_unassigned_costs})
    rows = []
    for warehouse, rate in fulfilment_rate_rows(tenant=request.tenant):
        initial = (
            {"currency": rate.currency, "per_order": rate.per_order_amount, "per_unit": rate.per_unit_amount}
            if rate is not None
            else {"currency": "USD"}
        )
        rows.append(FulfilmentRateForm(data, warehouse=warehouse, initial=initial, prefix=f"rate-{warehouse.pk}"))
    if request.method == "POST" and form.is_valid() and all(rate_form.is_valid() for rate_form in rows):
        try:
            changed = profit_settings_update(
                tenant=request.tenant,
                spread_unassigned_costs=form.cleaned_data["spread_unassigned_costs"],
                rates=[rate_form.entry() for rate_form in rows],
                actor=request.user,
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            if changed:
                messages.success(
                    request, _("Settings saved. Profit is being recalculated; this can take a few minutes.")
                )
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("finance:profit-settings")
    failed = request.method == "POST" and (bool(form.errors) or any(rate_form.errors for rate_form in rows))
    return render(
        request,
        "finance/profit/other_settings.html",
        {"tabs": _tabs(request), "form": form, "rate_forms": rows},
        status=400 if failed else 200,
    )

"""The costs pages of the finance section: products with their current average cost per warehouse, one
product's cost history, recording a receipt with its landed costs, and the CSV / XLSX import. `profit.view`
sees them, `profit.manage` changes costs. Views parse, call a selector or a service, and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from acorn.forms import form_add_errors
from acorn.pagination import keyset_paginate
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from finance.profit.costs import cost_receipt_delete, cost_receipt_record
from finance.profit.costs_import import CSV_COLUMNS, cost_receipts_import, received_moment
from finance.profit.forms_costs import CostImportForm, CostReceiptForm, CostSearchForm
from finance.profit.selectors_costs import (
    cost_current_averages,
    cost_product_get_or_404,
    cost_product_list,
    cost_receipt_deletable_get_or_404,
    cost_receipt_list,
    cost_warehouse_list,
)
from finance.profit.views import section_tabs
from inventory.models import Product

PER_PAGE = 50
# The service's field names → the form's.
_FORM_FIELDS = {
    "unit_cost_amount": "unit_cost",
    "freight_amount": "freight",
    "duty_amount": "duty",
    "other_amount": "other",
    "received_at": "received",
}


def _tabs(request: TenantRequest) -> list[dict[str, Any]]:
    return section_tabs(request, "costs")


def _can_manage(request: TenantRequest) -> bool:
    return has_permission(request.membership, "profit.manage")


@require_GET
@tenant_member_required("profit.view")
def cost_list_view(request: TenantRequest) -> HttpResponse:
    """Products with their current average unit cost in each warehouse, searched by SKU."""
    form = CostSearchForm(request.GET or None)
    query = form.query()
    page = keyset_paginate(
        cost_product_list(tenant=request.tenant, query=query),
        ordering="sku",
        cursor=request.GET.get("cursor"),
        per_page=PER_PAGE,
    )
    averages = cost_current_averages(
        tenant=request.tenant, product_ids=[p.pk for p in page.object_list], at=timezone.now()
    )
    return render(
        request,
        "finance/profit/cost_list.html",
        {
            "tabs": _tabs(request),
            "form": form,
            "page": page,
            "rows": [{"product": p, "averages": averages.get(p.pk, [])} for p in page.object_list],
            "query": query,
            "can_manage": _can_manage(request),
        },
    )


@require_GET
@tenant_member_required("profit.view")
def cost_history_view(request: TenantRequest, product_pk: int) -> HttpResponse:
    """One product's receipts with their landed cost and the average each one made, newest first."""
    product = cost_product_get_or_404(tenant=request.tenant, pk=product_pk)
    page = keyset_paginate(
        cost_receipt_list(tenant=request.tenant, product=product),
        ordering="-received_at",
        cursor=request.GET.get("cursor"),
        per_page=PER_PAGE,
    )
    return render(
        request,
        "finance/profit/cost_history.html",
        {
            "tabs": _tabs(request),
            "product": product,
            "page": page,
            "rows": [
                {"receipt": receipt, "average": next(iter(receipt.averages.all()), None)}
                for receipt in page.object_list
            ],
            "averages": cost_current_averages(tenant=request.tenant, product_ids=[product.pk], at=timezone.now())[
                product.pk
            ],
            "can_manage": _can_manage(request),
        },
    )


def _add_service_errors(form: CostReceiptForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        error = ValidationError(
            {_FORM_FIELDS.get(field, field): messages for field, messages in error.message_dict.items()}
        )
    form_add_errors(form, error)


@require_http_methods(["GET", "POST"])
@tenant_member_required("profit.manage")
def cost_receipt_create_view(request: TenantRequest) -> HttpResponse:
    """Record units received with their cost and landed costs (freight, duty, other)."""
    tenant = request.tenant
    products = Product.objects.filter(tenant=tenant)
    initial: dict[str, Any] = {}
    sku = request.GET.get("product", "").strip()
    if sku:
        product = products.filter(sku=sku).first()
        if product is not None:
            initial = {"product": product.sku, "currency": product.unit_cost_currency}
    form = CostReceiptForm(
        request.POST or None,
        initial=initial,
        products=products,
        warehouses=cost_warehouse_list(tenant=tenant),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            receipt = cost_receipt_record(
                tenant=tenant,
                product=data["product"],
                warehouse=data["warehouse"],
                quantity=data["quantity"],
                currency=data["currency"],
                unit_cost=data["unit_cost"],
                freight=data["freight"],
                duty=data["duty"],
                other=data["other"],
                received_at=received_moment(data["received"]),
                reference=data["reference"],
                note=data["note"],
                actor=request.user,
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Cost recorded: %(units)d units of %(sku)s at %(landed)s %(currency)s each, landed.")
                % {
                    "units": receipt.quantity,
                    "sku": receipt.product.sku,
                    "landed": receipt.landed_unit_cost_amount,
                    "currency": receipt.currency,
                },
            )
            return redirect("finance:profit-cost-history", product_pk=receipt.product_id)
    return render(
        request,
        "finance/profit/cost_receipt_form.html",
        {"tabs": _tabs(request), "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_member_required("profit.manage")
def cost_receipt_delete_view(request: TenantRequest, product_pk: int) -> HttpResponse:
    """Delete a receipt entered or imported (named by the form's `receipt`): the averages after it are
    computed again."""
    product = cost_product_get_or_404(tenant=request.tenant, pk=product_pk)
    receipt = cost_receipt_deletable_get_or_404(tenant=request.tenant, product=product, pk=request.POST.get("receipt"))
    try:
        cost_receipt_delete(tenant=request.tenant, receipt=receipt, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Receipt deleted; the average cost was computed again from that day."))
    return redirect("finance:profit-cost-history", product_pk=product.pk)


@require_http_methods(["GET", "POST"])
@tenant_member_required("profit.manage")
def cost_import_view(request: TenantRequest) -> HttpResponse:
    """Upload cost receipts as CSV or XLSX: all rows are recorded, or none and every problem is listed."""
    form = CostImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = cost_receipts_import(tenant=request.tenant, data=form.cleaned_data["file"].read(), actor=request.user)
        if result.imported:
            messages.success(
                request,
                ngettext(
                    "Import done: %(count)d cost receipt recorded for %(products)d products.",
                    "Import done: %(count)d cost receipts recorded for %(products)d products.",
                    result.created,
                )
                % {"count": result.created, "products": result.products},
            )
            return redirect(reverse("finance:profit-cost-list"))
    failed = bool(form.errors) or (result is not None and not result.imported)
    return render(
        request,
        "finance/profit/cost_import.html",
        {"tabs": _tabs(request), "form": form, "result": result, "columns": CSV_COLUMNS},
        status=400 if failed else 200,
    )

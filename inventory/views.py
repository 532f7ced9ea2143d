"""The inventory list: per product, on hand / reserved / available per warehouse (FBA apart)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from inventory import services
from inventory.forms import AdjustForm, ReceiveForm
from inventory.models import WarehouseKind
from inventory.selectors import (
    movement_list,
    product_get_or_404,
    product_stock_list,
    waiting_line_counts,
    warehouse_list,
)


@tenant_member_required("inventory.view")
def product_list_view(request: TenantRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    page = Paginator(product_stock_list(tenant=request.tenant, query=query), 50).get_page(request.GET.get("page"))
    warehouses = list(warehouse_list(tenant=request.tenant))
    rows = []
    for product in page.object_list:
        by_warehouse = {level.warehouse_id: level for level in product.levels.all()}
        on_hand, reserved = getattr(product, "total_on_hand", 0), getattr(product, "total_reserved", 0)
        available = (on_hand or 0) - (reserved or 0)  # own and third-party warehouses, FBA apart
        rows.append((product, [by_warehouse.get(warehouse.pk) for warehouse in warehouses], available))
    return render(
        request,
        "inventory/product_list.html",
        {
            "page": page,
            "rows": rows,
            "warehouses": warehouses,
            "query": query,
            "waiting": waiting_line_counts(tenant=request.tenant),
        },
    )


@tenant_member_required("inventory.view")
def product_detail_view(request: TenantRequest, product_pk: int) -> HttpResponse:
    """A product's stock per warehouse, its movement history, and (for managers) receipts and adjustments."""
    product = product_get_or_404(tenant=request.tenant, pk=product_pk)
    warehouses = warehouse_list(tenant=request.tenant).exclude(kind=WarehouseKind.FBA)
    can_manage = has_permission(request.membership, "inventory.manage")
    action = request.POST.get("action") if request.method == "POST" else None
    if action and not can_manage:
        raise PermissionDenied
    receive = ReceiveForm(request.POST if action == "receive" else None, warehouses=warehouses, prefix="receive")
    adjust = AdjustForm(request.POST if action == "adjust" else None, warehouses=warehouses, prefix="adjust")
    form = receive if action == "receive" else adjust if action == "adjust" else None
    if form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            if action == "receive":
                services.stock_receive(
                    product=product,
                    warehouse=data["warehouse"],
                    quantity=data["quantity"],
                    reference=data["reference"],
                    actor=request.user,
                )
            else:
                services.stock_adjust(
                    product=product,
                    warehouse=data["warehouse"],
                    delta=data["delta"],
                    kind=data["kind"],
                    reason=data["reason"],
                    actor=request.user,
                )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Stock of %(sku)s updated.") % {"sku": product.sku})
            return redirect("inventory:product-detail", product_pk=product.pk)
    page = Paginator(movement_list(product=product), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/product_detail.html",
        {
            "product": product,
            "levels": product.levels.select_related("warehouse").order_by("warehouse__kind", "warehouse__name"),
            "page": page,
            "receive": receive,
            "adjust": adjust,
            "can_manage": can_manage,
        },
        status=400 if form is not None and form.errors else 200,
    )

"""The inventory list: per product, on hand / reserved / available per warehouse (FBA apart)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from inventory.selectors import product_stock_list, waiting_line_counts, warehouse_list


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

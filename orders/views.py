"""The order list (the full order workspace comes with the order operations capability)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from channels.selectors import store_list
from orders.forms import OrderFilterForm
from orders.selectors import order_list


@tenant_member_required("orders.view")
def order_list_view(request: TenantRequest) -> HttpResponse:
    stores = [(store.pk, store.name) for store in store_list(tenant=request.tenant)]
    form = OrderFilterForm(request.GET or None, stores=stores)
    filters = form.cleaned_data if form.is_valid() else {}
    orders = order_list(
        tenant=request.tenant,
        store_id=filters.get("store"),
        status=filters.get("status") or "",
        stock=filters.get("stock") or "",
        query=filters.get("q") or "",
    )
    page = Paginator(orders, 50).get_page(request.GET.get("page"))
    return render(request, "orders/order_list.html", {"form": form, "page": page, "has_stores": bool(stores)})

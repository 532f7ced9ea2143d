"""Reads of orders."""

from __future__ import annotations

from django.db.models import QuerySet

from acorn.tenancy.models import Tenant
from orders.models import Order


def order_list(
    *, tenant: Tenant, store_id: int | None = None, status: str = "", stock: str = "", query: str = ""
) -> QuerySet[Order]:
    """`stock`: "unmapped", "backordered", or "any" for orders waiting for a mapping or for stock."""
    orders = Order.objects.filter(tenant=tenant).select_related("store")
    if stock == "any":
        orders = orders.exclude(stock_problem="")
    elif stock:
        orders = orders.filter(stock_problem=stock)
    if store_id:
        orders = orders.filter(store_id=store_id)
    if status:
        orders = orders.filter(status=status)
    if query:
        orders = orders.filter(external_id__icontains=query.strip()) | orders.filter(
            merchant_order_id__icontains=query.strip()
        )
    return orders.order_by("-purchased_at", "-pk")

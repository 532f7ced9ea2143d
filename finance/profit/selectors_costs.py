"""Reads of the cost of goods for the console: products with their current average per warehouse, one
product's history of receipts and averages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.http import Http404

from acorn.tenancy.models import Tenant
from finance.profit.costs import DELETABLE_SOURCES
from finance.profit.models import CostAverage, CostReceipt
from inventory.models import Product, Warehouse


def cost_product_list(*, tenant: Tenant, query: str = "") -> QuerySet[Product]:
    """The tenant's products, searched by SKU (or name), for the costs page."""
    products = Product.objects.filter(tenant=tenant)
    query = query.strip()
    if query:
        products = products.filter(Q(sku__icontains=query) | Q(name__icontains=query))
    return products


@dataclass(frozen=True)
class CurrentAverage:
    warehouse: Warehouse | None
    amount: Decimal
    currency: str
    quantity: int
    effective_at: datetime


def cost_current_averages(
    *, tenant: Tenant, product_ids: list[int], at: datetime | None = None
) -> dict[int, list[CurrentAverage]]:
    """The latest average (at `at`, else the latest of all) of each product in each warehouse, warehouses
    in name order and "all warehouses" last. One query for the averages plus one for the warehouses."""
    rows = CostAverage.objects.filter(tenant=tenant, product_id__in=product_ids)
    if at is not None:
        rows = rows.filter(effective_at__lte=at)
    latest: dict[tuple[int, int | None], CostAverage] = {}
    for row in rows.order_by("effective_at", "pk"):
        latest[(row.product_id, row.warehouse_id)] = row
    warehouses = Warehouse.objects.filter(tenant=tenant, pk__in={w for _p, w in latest if w is not None}).in_bulk()
    found: dict[int, list[CurrentAverage]] = {pk: [] for pk in product_ids}
    for (product_id, warehouse_id), row in latest.items():
        found[product_id].append(
            CurrentAverage(
                warehouse=warehouses.get(warehouse_id) if warehouse_id is not None else None,
                amount=row.unit_cost_amount,
                currency=row.currency,
                quantity=row.quantity,
                effective_at=row.effective_at,
            )
        )
    for averages in found.values():
        averages.sort(key=lambda a: (a.warehouse is None, a.warehouse.name if a.warehouse else ""))
    return found


def cost_product_get_or_404(*, tenant: Tenant, pk: int) -> Product:
    product = Product.objects.filter(tenant=tenant, pk=pk).first()
    if product is None:
        raise Http404
    return product


def cost_receipt_list(*, tenant: Tenant, product: Product) -> QuerySet[CostReceipt]:
    """A product's receipts with their warehouse and the average each one made (`average_rows`)."""
    return (
        CostReceipt.objects.filter(tenant=tenant, product=product)
        .select_related("warehouse", "created_by")
        .prefetch_related("averages")
    )


def cost_receipt_deletable_get_or_404(*, tenant: Tenant, product: Product, pk: int | str | None) -> CostReceipt:
    """A receipt of this product that can be deleted (entered or imported), else 404."""
    try:
        receipt_pk = int(pk or 0)
    except (TypeError, ValueError):
        raise Http404 from None
    receipt = (
        CostReceipt.objects.filter(tenant=tenant, product=product, pk=receipt_pk, source__in=DELETABLE_SOURCES)
        .select_related("product", "warehouse")
        .first()
    )
    if receipt is None:
        raise Http404
    return receipt


def cost_warehouse_list(*, tenant: Tenant) -> QuerySet[Warehouse]:
    return Warehouse.objects.filter(tenant=tenant).order_by("name")

"""Read side of the stock pool. Every query is scoped to the tenant."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from acorn.tenancy.models import Tenant
from channels.models import Store
from inventory.models import (
    AllocationState,
    LineAllocation,
    Product,
    SkuMapping,
    StockLevel,
    StockMovement,
    Warehouse,
)


def product_stock_list(*, tenant: Tenant, query: str = "") -> QuerySet[Product]:
    """Products with their levels per warehouse and totals, searchable by SKU or name."""
    products = (
        Product.objects.filter(tenant=tenant)
        .annotate(
            total_on_hand=Sum("levels__on_hand", filter=~Q(levels__warehouse__kind="fba")),
            total_reserved=Sum("levels__reserved", filter=~Q(levels__warehouse__kind="fba")),
        )
        .prefetch_related(Prefetch("levels", queryset=StockLevel.objects.select_related("warehouse")))
        .order_by("sku")
    )
    if query:
        products = products.filter(Q(sku__icontains=query.strip()) | Q(name__icontains=query.strip()))
    return products


def warehouse_list(*, tenant: Tenant) -> QuerySet[Warehouse]:
    return Warehouse.objects.filter(tenant=tenant).order_by("kind", "name")


def waiting_line_counts(*, tenant: Tenant) -> dict[str, int]:
    """How many order lines wait for a SKU mapping, and how many for stock."""
    rows = (
        LineAllocation.objects.filter(tenant=tenant, state__in=[AllocationState.UNMAPPED, AllocationState.BACKORDERED])
        .values("state")
        .annotate(count=Count("pk"))
    )
    counts = {row["state"]: row["count"] for row in rows}
    return {
        "unmapped": counts.get(AllocationState.UNMAPPED, 0),
        "backordered": counts.get(AllocationState.BACKORDERED, 0),
    }


def product_get_or_404(*, tenant: Tenant, pk: int) -> Product:
    product = Product.objects.filter(tenant=tenant, pk=pk).first()
    if product is None:
        raise Http404
    return product


def movement_list(*, product: Product) -> QuerySet[StockMovement]:
    return (
        StockMovement.objects.filter(product=product)
        .select_related("warehouse", "actor")
        .order_by("-created_at", "-pk")
    )


def warehouse_get_or_404(*, tenant: Tenant, pk: int) -> Warehouse:
    from django.http import Http404

    warehouse = Warehouse.objects.filter(tenant=tenant, pk=pk).first()
    if warehouse is None:
        raise Http404
    return warehouse


def component_choices(*, tenant: Tenant, bundle: Product | None = None) -> QuerySet[Product]:
    """Products that can go into a bundle: this company's plain products, the bundle itself excluded."""
    products = Product.objects.filter(tenant=tenant, is_bundle=False).order_by("sku")
    return products.exclude(pk=bundle.pk) if bundle is not None else products


def product_channel_listings(*, product: Product) -> QuerySet[SkuMapping]:
    """The channel SKUs mapped to a product, with what each channel should show and shows."""
    return (
        SkuMapping.objects.filter(product=product)
        .select_related("store", "listing")
        .order_by("store__name", "channel_sku", "channel_product_id")
    )


# --- which master product a channel line means ------------------------------------------------------------

_NORMALISE = re.compile(r"[^A-Z0-9]")


def normalise_sku(sku: str) -> str:
    """'abc-12 /blue' → 'ABC12BLUE': for suggesting mappings, never for applying them silently."""
    return _NORMALISE.sub("", sku.upper())


@dataclass(frozen=True)
class Resolved:
    product: Product
    multiplier: int


def mapping_resolve(*, store: Store, sku: str, channel_product_id: str = "") -> Resolved | None:
    """The master product of a channel line: by the channel's product id first, then by its SKU; a channel
    SKU equal to a master SKU maps itself."""
    mappings = SkuMapping.objects.filter(store=store).select_related("product")
    found = None
    if channel_product_id:
        found = mappings.filter(channel_product_id=channel_product_id).first()
    if found is None and sku:
        found = mappings.filter(channel_sku=sku).first()
    if found is not None:
        return Resolved(found.product, found.quantity_multiplier)
    product = Product.objects.filter(tenant_id=store.tenant_id, sku=sku, active=True).first() if sku else None
    return Resolved(product, 1) if product is not None else None


def mappings_resolve(*, store: Store, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Resolved | None]:
    """`mapping_resolve` for many (channel SKU, channel product id) pairs of one store in two queries (the
    mappings, then the master SKUs left), with the same precedence: the channel's product id, then its SKU,
    then a master SKU equal to the channel SKU."""
    pairs = set(pairs)
    product_ids = {product_id for _sku, product_id in pairs if product_id}
    skus = {sku for sku, _product_id in pairs if sku}
    by_product_id: dict[str, SkuMapping] = {}
    by_sku: dict[str, SkuMapping] = {}
    if product_ids or skus:
        for mapping in (
            SkuMapping.objects.filter(store=store)
            .filter(Q(channel_product_id__in=product_ids) | Q(channel_sku__in=skus))
            .select_related("product")
        ):
            if mapping.channel_product_id in product_ids:
                by_product_id[mapping.channel_product_id] = mapping
            if mapping.channel_sku in skus:
                by_sku[mapping.channel_sku] = mapping
    found: dict[tuple[str, str], Resolved | None] = {}
    for sku, product_id in pairs:
        mapping = (by_product_id.get(product_id) if product_id else None) or (by_sku.get(sku) if sku else None)
        found[(sku, product_id)] = Resolved(mapping.product, mapping.quantity_multiplier) if mapping else None
    masters = {sku for (sku, _product_id), resolved in found.items() if resolved is None and sku}
    if masters:
        products = {
            product.sku: product
            for product in Product.objects.filter(tenant_id=store.tenant_id, sku__in=masters, active=True)
        }
        for (sku, product_id), resolved in found.items():
            if resolved is None and sku in products:
                found[(sku, product_id)] = Resolved(products[sku], 1)
    return found

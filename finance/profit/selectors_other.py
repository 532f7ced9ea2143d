"""Reads of costs that belong to no order: the list and its filters, one manual cost, the advertising report
history, the tenant's profit settings and fulfilment rates, and the bulk look-up of channel SKUs to master
products (the same rule as inventory.selectors.mapping_resolve, one query per store for a whole file)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from acorn.tenancy.models import Tenant
from channels.models import Store
from finance.profit.models import AdSpendUpload, FulfilmentRate, OtherCost, OtherCostSource, ProfitSettings
from inventory.models import Product, SkuMapping, Warehouse


def other_cost_list(
    *,
    tenant: Tenant,
    kind: str = "",
    store_id: int | None = None,
    source: str = "",
    day_from: date | None = None,
    day_until: date | None = None,
) -> QuerySet[OtherCost]:
    """The tenant's costs of no order, newest day first, filtered."""
    costs = OtherCost.objects.filter(tenant=tenant).select_related("store", "product", "upload")
    if kind:
        costs = costs.filter(kind=kind)
    if store_id is not None:
        costs = costs.filter(store_id=store_id)
    if source:
        costs = costs.filter(source=source)
    if day_from is not None:
        costs = costs.filter(day__gte=day_from)
    if day_until is not None:
        costs = costs.filter(day__lte=day_until)
    return costs.order_by("-day", "-pk")


def other_cost_totals(*, costs: QuerySet[OtherCost]) -> list[dict[str, Any]]:
    """What the filtered costs add up to per kind and currency (never one sum across currencies)."""
    rows = (
        costs.order_by()
        .values("kind", "currency")
        .annotate(total=Sum("amount"), count=Count("pk"))
        .order_by("kind", "currency")
    )
    return [dict(row) for row in rows]


def other_cost_manual_get_or_404(*, tenant: Tenant, pk: int) -> OtherCost:
    """A cost entered in the console (the only kind a person deletes); another tenant's, or one that came from
    a statement or a report, is 404."""
    cost = OtherCost.objects.filter(tenant=tenant, pk=pk, source=OtherCostSource.MANUAL).first()
    if cost is None:
        raise Http404
    return cost


def ad_spend_upload_list(*, tenant: Tenant) -> QuerySet[AdSpendUpload]:
    """The advertising reports imported, newest first."""
    return (
        AdSpendUpload.objects.filter(tenant=tenant)
        .select_related("store", "uploaded_by")
        .order_by("-uploaded_at", "-pk")
    )


def profit_settings_get(*, tenant: Tenant) -> ProfitSettings:
    """The tenant's profit settings as stored, or the defaults (unsaved) when it never changed them."""
    found = ProfitSettings.objects.filter(tenant=tenant).first()
    return found if found is not None else ProfitSettings(tenant=tenant)


def fulfilment_rate_rows(*, tenant: Tenant) -> list[tuple[Warehouse, FulfilmentRate | None]]:
    """Every warehouse of the tenant with its fulfilment rate (None: not set)."""
    rates = {rate.warehouse_id: rate for rate in FulfilmentRate.objects.filter(tenant=tenant)}
    return [
        (warehouse, rates.get(warehouse.pk))
        for warehouse in Warehouse.objects.filter(tenant=tenant).order_by("name", "pk")
    ]


def products_for_channel_skus(
    *, store: Store, skus: Iterable[str] = (), asins: Iterable[str] = ()
) -> tuple[dict[str, Product], dict[str, Product]]:
    """The master product of each channel SKU and of each ASIN of one store, in bulk: a SKU mapping of the
    store first (by channel SKU; an ASIN by the mapping's ASIN or channel product id), then a channel SKU equal
    to an active master SKU maps itself (inventory.selectors.mapping_resolve's rule). Unknown ones are left
    out. Returns (by SKU, by ASIN)."""
    wanted_skus = {sku for sku in skus if sku}
    wanted_asins = {asin.upper() for asin in asins if asin}
    by_sku: dict[str, Product] = {}
    by_asin: dict[str, Product] = {}
    if not wanted_skus and not wanted_asins:
        return by_sku, by_asin
    condition = Q(channel_sku__in=wanted_skus) | Q(asin__in=wanted_asins) | Q(channel_product_id__in=wanted_asins)
    for mapping in SkuMapping.objects.filter(store=store).filter(condition).select_related("product").order_by("pk"):
        if mapping.channel_sku in wanted_skus:
            by_sku.setdefault(mapping.channel_sku, mapping.product)
        for value in (mapping.asin.upper(), mapping.channel_product_id.upper()):
            if value and value in wanted_asins:
                by_asin.setdefault(value, mapping.product)
    unmapped = wanted_skus - set(by_sku)
    if unmapped:
        for product in Product.objects.filter(tenant_id=store.tenant_id, sku__in=unmapped, active=True):
            by_sku[product.sku] = product
    return by_sku, by_asin


def product_choices(*, tenant: Tenant) -> QuerySet[Product]:
    """The products a cost entered by hand may name: the tenant's active products by SKU."""
    return Product.objects.filter(tenant=tenant, active=True).order_by("sku")

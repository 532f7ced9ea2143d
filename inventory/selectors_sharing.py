"""Reads of stock sharing: stores with their rules, channel listings and the push log. Scoped to the tenant."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, QuerySet
from django.http import Http404

from acorn.tenancy.models import Tenant
from channels.models import Store
from inventory.models import ChannelListing, PushState, SharingRule, StockPush, Warehouse, WarehouseKind


def sharing_store_list(*, tenant: Tenant) -> QuerySet[Store]:
    """The company's stores with their sharing rule (None when not set) and its warehouses."""
    return (
        Store.objects.filter(tenant=tenant)
        .select_related("sharing_rule")
        .prefetch_related("sharing_rule__warehouses")
        .order_by("name", "pk")
    )


def listing_state_counts(*, tenant: Tenant, store: Store | None = None) -> dict[int, dict[str, int]]:
    """Store pk → listing state → how many listings of the store are in it (every store, or one)."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    listings = ChannelListing.objects.filter(tenant=tenant)
    if store is not None:
        listings = listings.filter(store=store)
    rows = listings.order_by().values("store_id", "state").annotate(n=Count("pk"))
    for row in rows:
        counts[row["store_id"]][row["state"]] = row["n"]
    return counts


def sharing_rule_get(*, store: Store) -> SharingRule | None:
    return SharingRule.objects.filter(store=store).prefetch_related("warehouses").first()


def sharing_warehouse_choices(*, tenant: Tenant) -> QuerySet[Warehouse]:
    """Warehouses a rule may draw from: this company's active own and third-party ones (never FBA)."""
    return Warehouse.objects.filter(tenant=tenant, active=True).exclude(kind=WarehouseKind.FBA).order_by("kind", "name")


def listing_list(*, store: Store, state: str = "") -> QuerySet[ChannelListing]:
    """The store's listings with their mapping and master product, by channel SKU; optionally in one state."""
    listings = (
        ChannelListing.objects.filter(store=store)
        .select_related("mapping__product")
        .order_by("mapping__channel_sku", "mapping__channel_product_id", "pk")
    )
    if state in PushState.values:
        listings = listings.filter(state=state)
    return listings


def listing_get_or_404(*, tenant: Tenant, pk: int) -> ChannelListing:
    listing = ChannelListing.objects.filter(tenant=tenant, pk=pk).select_related("store", "mapping__product").first()
    if listing is None:
        raise Http404
    return listing


def stock_push_list(*, store: Store | None = None, listing: ChannelListing | None = None) -> QuerySet[StockPush]:
    """The push log, newest first: of a store, or of one listing."""
    pushes = StockPush.objects.select_related("listing__mapping").order_by("-created_at", "-pk")
    if listing is not None:
        return pushes.filter(listing=listing)
    if store is not None:
        return pushes.filter(store=store)
    return pushes.none()

"""The stock pool in the admin: read-only. Stock, mappings and products change through the console's
services, which keep the movement ledger and the audit trail; the admin is for looking things up."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from acorn.tenancy.admin_site import TenantScopedAdmin
from inventory.models import (
    ChannelListing,
    LineAllocation,
    Product,
    SkuMapping,
    StockLevel,
    StockMovement,
    StockPush,
    Warehouse,
)


class ReadOnlyAdmin(TenantScopedAdmin):
    permissions = {"view": "inventory.view"}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field.name for field in self.model._meta.fields]


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = [
        "sku",
        "name",
        "is_bundle",
        "unit_cost_amount",
        "unit_cost_currency",
        "low_stock_threshold",
        "active",
    ]
    list_filter = ["active", "is_bundle"]
    search_fields = ["sku", "name"]


@admin.register(Warehouse)
class WarehouseAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "country", "region", "active"]
    list_filter = ["kind", "active"]


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ["product", "warehouse", "on_hand", "reserved", "inbound", "unfulfillable", "updated_at"]
    list_filter = ["warehouse"]
    search_fields = ["product__sku"]
    list_select_related = ["product", "warehouse"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "product",
        "warehouse",
        "kind",
        "on_hand_delta",
        "reserved_delta",
        "reference",
        "actor",
    ]
    list_filter = ["kind", "warehouse"]
    search_fields = ["product__sku", "reference"]
    list_select_related = ["product", "warehouse", "actor"]


@admin.register(SkuMapping)
class SkuMappingAdmin(ReadOnlyAdmin):
    list_display = ["store", "channel_sku", "channel_product_id", "asin", "product", "quantity_multiplier"]
    list_filter = ["store"]
    search_fields = ["channel_sku", "channel_product_id", "asin", "product__sku"]
    list_select_related = ["store", "product"]


@admin.register(LineAllocation)
class LineAllocationAdmin(ReadOnlyAdmin):
    list_display = ["reference", "store", "channel_sku", "product", "units", "state", "updated_at"]
    list_filter = ["state", "store"]
    search_fields = ["reference", "channel_sku", "line_ref"]
    list_select_related = ["store", "product"]


@admin.register(ChannelListing)
class ChannelListingAdmin(ReadOnlyAdmin):
    list_display = ["mapping", "store", "target_quantity", "channel_quantity", "state", "attempts", "pushed_at"]
    list_filter = ["state", "store"]
    list_select_related = ["mapping", "store"]


@admin.register(StockPush)
class StockPushAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "store", "listing", "quantity", "previous", "outcome"]
    list_filter = ["outcome", "store"]
    list_select_related = ["store", "listing"]

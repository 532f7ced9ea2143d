from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from acorn.tenancy.admin_site import TenantScopedAdmin
from orders.models import FulfillmentRequest, FulfillmentTarget, Order, OrderAdjustment, OrderLine, Shipment


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = (
        "external_id",
        "sku",
        "asin",
        "quantity",
        "currency",
        "unit_price_amount",
        "item_amount",
        "discount_amount",
        "tax_amount",
        "tax_included",
        "shipping_amount",
        "total_amount",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderAdjustmentInline(admin.TabularInline):
    """Shipping, fees, duties, tips, order discounts and the unexplained difference, as the channel reported."""

    model = OrderAdjustment
    fk_name = "order"
    extra = 0
    can_delete = False
    fields = ("kind", "label", "line", "amount", "included_tax_amount", "currency")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(TenantScopedAdmin):
    """Orders are the channel's record: read-only for everyone."""

    permissions = {"view": "orders.view"}
    list_display = [
        "external_id",
        "store",
        "marketplace",
        "purchased_at",
        "status",
        "total_amount",
        "currency",
        "unexplained_amount",
    ]
    list_filter = ["status", "fulfillment_channel", "marketplace"]
    search_fields = ["external_id", "merchant_order_id"]
    inlines = [OrderLineInline, OrderAdjustmentInline]


class _ReadOnly(TenantScopedAdmin):
    """Fulfilment and shipments change through the console's services (signed, audited, confirmed to the
    channel); the admin is for looking things up."""

    permissions = {"view": "orders.view"}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field.name for field in self.model._meta.fields if field.name != "secrets"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_exclude(request, obj), "secrets"]


@admin.register(FulfillmentTarget)
class FulfillmentTargetAdmin(_ReadOnly):
    list_display = ["name", "kind", "warehouse", "endpoint_url", "active"]
    list_filter = ["kind", "active"]


@admin.register(FulfillmentRequest)
class FulfillmentRequestAdmin(_ReadOnly):
    list_display = ["order", "target", "state", "attempts", "sent_at", "updated_at"]
    list_filter = ["state", "target"]
    search_fields = ["order__external_id", "key", "warehouse_reference"]
    list_select_related = ["order", "target"]


@admin.register(Shipment)
class ShipmentAdmin(_ReadOnly):
    list_display = ["order", "carrier", "tracking_number", "shipped_at", "source", "confirmation", "attempts"]
    list_filter = ["confirmation", "source"]
    search_fields = ["order__external_id", "tracking_number"]
    list_select_related = ["order"]

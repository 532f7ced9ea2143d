from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from acorn.tenancy.admin_site import TenantScopedAdmin
from orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ("external_id", "sku", "asin", "quantity", "currency", "unit_price_amount", "item_amount")
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
    ]
    list_filter = ["status", "fulfillment_channel", "marketplace"]
    search_fields = ["external_id", "merchant_order_id"]
    inlines = [OrderLineInline]

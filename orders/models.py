"""Orders from every channel, normalised; the channel's own status is kept beside ours."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, Money, validate_currency_code
from acorn.tenancy.models import TenantScopedModel
from channels.adapters.base import FulfillmentChannel as Channel
from channels.adapters.base import OrderStatus as Status
from channels.models import Store
from inventory.models import AllocationState


def _amount(verbose_name: Any) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, default=0
    )


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = Status.PENDING_PAYMENT, _("Pending payment")
    PAID_UNSHIPPED = Status.PAID_UNSHIPPED, _("Paid, not shipped")
    PARTIALLY_SHIPPED = Status.PARTIALLY_SHIPPED, _("Partially shipped")
    SHIPPED = Status.SHIPPED, _("Shipped")
    CANCELLED = Status.CANCELLED, _("Cancelled")


class FulfillmentChannel(models.TextChoices):
    FBA = Channel.FBA, _("FBA")
    MERCHANT = Channel.MERCHANT, _("Merchant")


class StockProblem(models.TextChoices):
    UNMAPPED = AllocationState.UNMAPPED.value, _("Unmapped SKU")
    BACKORDERED = AllocationState.BACKORDERED.value, _("Backordered")


class Order(TenantScopedModel):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="orders", verbose_name=_("store"))
    external_id = models.CharField(_("order id"), max_length=100)
    merchant_order_id = models.CharField(_("merchant order id"), max_length=100, blank=True)
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)
    purchased_at = models.DateTimeField(_("purchased"))
    channel_updated_at = models.DateTimeField(_("last updated on the channel"))
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices)
    raw_status = models.CharField(_("channel status"), max_length=50)
    fulfillment_channel = models.CharField(_("fulfilment"), max_length=10, choices=FulfillmentChannel.choices)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    item_amount = _amount(_("items"))
    shipping_amount = _amount(_("shipping"))
    tax_amount = _amount(_("tax"))
    discount_amount = _amount(_("discount"))
    other_amount = _amount(_("other charges"))
    total_amount = _amount(_("total"))
    buyer_country = models.CharField(_("buyer country"), max_length=2, blank=True)
    # What the buyer saw and paid in, when the channel keeps a shop currency apart from it (Shopify).
    presentment_currency = models.CharField(
        _("buyer's currency"), max_length=3, blank=True, validators=[validate_currency_code]
    )
    presentment_total_amount = models.DecimalField(
        _("total in the buyer's currency"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    # Where the order came from on the channel (Shopify source name, WooCommerce created_via) and its tags.
    source_name = models.CharField(_("source"), max_length=60, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    first_seen_at = models.DateTimeField(_("first synced"), default=timezone.now)
    synced_at = models.DateTimeField(_("last synced"), default=timezone.now)
    # The worst stock state of its lines: an order waiting for a SKU mapping or for stock is flagged.
    stock_problem = models.CharField(_("stock problem"), max_length=20, choices=StockProblem.choices, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-purchased_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="order_unique_per_store")]
        indexes = [
            models.Index(fields=["tenant", "-purchased_at"], name="order_tenant_purchased"),
            models.Index(fields=["tenant", "status", "-purchased_at"], name="order_tenant_status"),
            models.Index(
                fields=["tenant", "stock_problem", "-purchased_at"],
                condition=~models.Q(stock_problem=""),
                name="order_tenant_stock_problem",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def total(self) -> Money:
        return Money(self.total_amount, self.currency)


class OrderLine(TenantScopedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    external_id = models.CharField(_("line id"), max_length=100)
    sku = models.CharField(_("channel SKU"), max_length=200)
    asin = models.CharField(_("ASIN"), max_length=20, blank=True)
    # The channel's own product id (Shopify variant, WooCommerce product or variation), for SKU mapping.
    channel_product_id = models.CharField(_("channel product id"), max_length=60, blank=True)
    title = models.CharField(_("title"), max_length=500, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    unit_price_amount = _amount(_("unit price"))
    item_amount = _amount(_("items"))
    tax_amount = _amount(_("tax"))
    shipping_amount = _amount(_("shipping"))
    discount_amount = _amount(_("discount"))
    # Kept by inventory's allocation_changed signal (merchant-fulfilled lines only).
    stock_state = models.CharField(_("stock"), max_length=20, choices=AllocationState.choices, blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["order", "external_id"], name="orderline_unique_per_order")]
        indexes = [models.Index(fields=["tenant", "sku"], name="orderline_tenant_sku")]

    def __str__(self) -> str:
        return f"{self.sku} x {self.quantity}"

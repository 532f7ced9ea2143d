"""Orders from every channel, normalised; the channel's own status is kept beside ours."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.crypto import EncryptedJSONField
from acorn.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, Money, amount_field, validate_currency_code
from acorn.tenancy.models import TenantScopedModel
from channels.adapters.base import AdjustmentKind as Kind
from channels.adapters.base import FulfillmentChannel as Channel
from channels.adapters.base import OrderStatus as Status
from channels.models import Store
from inventory.models import AllocationState


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


class AdjustmentKind(models.TextChoices):
    SHIPPING = Kind.SHIPPING, _("Shipping")
    SHIPPING_DISCOUNT = Kind.SHIPPING_DISCOUNT, _("Shipping discount")
    SHIPPING_TAX = Kind.SHIPPING_TAX, _("Tax on shipping")
    DISCOUNT = Kind.DISCOUNT, _("Order discount")
    TAX = Kind.TAX, _("Order tax")
    TAX_ROUNDING = Kind.TAX_ROUNDING, _("Tax rounding")
    FEE = Kind.FEE, _("Fee")
    FEE_TAX = Kind.FEE_TAX, _("Tax on fees")
    DUTY = Kind.DUTY, _("Duties")
    TIP = Kind.TIP, _("Tip")
    GIFT_WRAP = Kind.GIFT_WRAP, _("Gift wrap")
    COD_FEE = Kind.COD_FEE, _("Cash on delivery fee")
    OTHER = Kind.OTHER, _("Other charges")
    UNEXPLAINED = Kind.UNEXPLAINED, _("Unexplained difference")


class Order(TenantScopedModel):
    """An order with the channel's total. Its lines' totals plus its adjustments always equal that total:
    what the channel itemises is kept as it reports it, and what it does not is an "unexplained difference"
    adjustment (`unexplained_amount`, flagged on the order). The per-kind amounts are derived from both."""

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
    # items - discount + shipping + other + (tax unless taxes_included) == total
    item_amount = amount_field(_("items"))
    shipping_amount = amount_field(_("shipping"))  # after shipping discounts
    tax_amount = amount_field(_("tax"))  # every tax: lines, shipping, fees (inside the prices when taxes_included)
    discount_amount = amount_field(_("discount"))  # on items and the order; shipping discounts are in shipping
    other_amount = amount_field(_("other charges"))  # fees, duties, tips, gift wrap, unexplained
    total_amount = amount_field(_("total"))
    taxes_included = models.BooleanField(_("prices include tax"), default=False)
    # The channel's total minus everything it itemised (0 when its numbers add up); also an adjustment.
    unexplained_amount = amount_field(_("unexplained difference"))
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
    # Past the tenant's retention but kept for the books (a statement names it): buyer data was removed then.
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-purchased_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="order_unique_per_store")]
        indexes = [
            models.Index(fields=["tenant", "-purchased_at"], name="order_tenant_purchased"),
            models.Index(fields=["tenant", "status", "-purchased_at"], name="order_tenant_status"),
            # The order workspace: filter by store, find by id, sort by the channel's last change. Tenant first,
            # as every scoped query filters by it: the list's count reads this index alone (no table scan).
            models.Index(fields=["tenant", "store", "-purchased_at"], name="order_tenant_store"),
            models.Index(fields=["tenant", "external_id"], name="order_tenant_external_id"),
            models.Index(fields=["tenant", "merchant_order_id"], name="order_tenant_merchant_id"),
            models.Index(fields=["tenant", "-channel_updated_at"], name="order_tenant_updated"),
            # The list's other filters, each newest first like the list: a filter matching few orders (or none)
            # reads only those, instead of walking the tenant's orders until a page is full.
            models.Index(fields=["tenant", "buyer_country", "-purchased_at"], name="order_tenant_country"),
            models.Index(fields=["tenant", "marketplace", "-purchased_at"], name="order_tenant_marketplace"),
            models.Index(fields=["tenant", "fulfillment_channel", "-purchased_at"], name="order_tenant_fulfilment"),
            models.Index(
                fields=["tenant", "stock_problem", "-purchased_at"],
                condition=~models.Q(stock_problem=""),
                name="order_tenant_stock_problem",
            ),
            # "Totals: unexplained difference": the few orders whose channel total does not add up.
            models.Index(
                fields=["tenant", "-purchased_at"],
                condition=~models.Q(unexplained_amount=0),
                name="order_tenant_unexplained",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def total(self) -> Money:
        return Money(self.total_amount, self.currency)

    @property
    def adds_up(self) -> bool:
        return not self.unexplained_amount


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
    unit_price_amount = amount_field(_("unit price"))
    item_amount = amount_field(_("items"))
    tax_amount = amount_field(_("tax"))
    shipping_amount = amount_field(_("shipping"))
    discount_amount = amount_field(_("discount"))
    # The item and discount amounts include the tax (a shop whose prices include tax).
    tax_included = models.BooleanField(_("tax included"), default=False)
    # What the line adds to the order total: items - discount + shipping + (tax unless included).
    total_amount = amount_field(_("line total"))
    # Kept by inventory's allocations_changed hook (merchant-fulfilled lines only).
    stock_state = models.CharField(_("stock"), max_length=20, choices=AllocationState.choices, blank=True)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["order", "external_id"], name="orderline_unique_per_order")]
        indexes = [models.Index(fields=["tenant", "sku"], name="orderline_tenant_sku")]

    def __str__(self) -> str:
        return f"{self.sku} x {self.quantity}"

    @property
    def principal_amount(self) -> Decimal:
        """The line's price after discounts without its tax: what a refund calls "principal"."""
        tax = self.tax_amount if self.tax_included else Decimal(0)
        return self.item_amount - self.discount_amount - tax


class OrderAdjustment(TenantScopedModel):
    """An amount in the order's total beside its lines' items, as the channel reports it: a shipping line,
    its discount and tax, a fee, duties, a tip, an order-level discount, an item's gift wrap (`line` set), or
    the unexplained difference. Signed by its effect on the total (discounts negative)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="adjustments", verbose_name=_("order"))
    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="adjustments", verbose_name=_("line")
    )
    # Unique within the order: the kind with the channel's id of the shipping or fee line, or a position.
    key = models.CharField(_("key"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=AdjustmentKind.choices)
    label = models.CharField(_("label"), max_length=200, blank=True)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    amount = models.DecimalField(_("amount"), max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    # Tax inside `amount` (a taxes-included shop's shipping): shown, never added again.
    included_tax_amount = amount_field(_("tax included"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("order adjustment")
        verbose_name_plural = _("order adjustments")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["order", "key"], name="order_adjustment_unique_key")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def is_unexplained(self) -> bool:
        return self.kind == AdjustmentKind.UNEXPLAINED


# --- fulfilment: where merchant-fulfilled orders are sent, and what comes back --------------------------


class FulfillmentTargetKind(models.TextChoices):
    PICK_LIST = "pick_list", _("Own warehouse: pick list")
    HTTPS = "https", _("Warehouse API: signed JSON over HTTPS")
    CSV = "csv", _("Warehouse file: CSV to download")


class FulfillmentTarget(TenantScopedModel):
    """Where paid merchant-fulfilled orders go to be packed: the seller's own warehouse (a pick list), a
    third-party / overseas warehouse's API (a signed JSON order), or a CSV file the warehouse collects."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=FulfillmentTargetKind.choices)
    # The stock it ships from (reservations of routed lines should come from here).
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    endpoint_url = models.URLField(_("order endpoint (HTTPS)"), blank=True)
    # {"signing_secret": "..."}: signs ACORN's orders and verifies the warehouse's callbacks (HMAC-SHA256).
    secrets = EncryptedJSONField(default=dict)
    # Names the target in its callback URL (/callbacks/fulfilment/<key>/), so the secret never travels.
    callback_key = models.CharField(max_length=40, unique=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("fulfilment target")
        verbose_name_plural = _("fulfilment targets")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="fulfillment_target_unique_name")]

    def __str__(self) -> str:
        return self.name


class FulfillmentRoute(TenantScopedModel):
    """A routing rule: orders matching every condition given (empty = any) go to `target`. The first
    matching rule by `position` wins; an order no rule matches waits in "fulfilment problems"."""

    target = models.ForeignKey(FulfillmentTarget, on_delete=models.CASCADE, related_name="routes")
    position = models.PositiveIntegerField(_("position"), default=0)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    countries = models.JSONField(_("buyer countries"), default=list, blank=True)  # ISO alpha-2
    skus = models.JSONField(_("channel SKUs"), default=list, blank=True)  # any line with one of these

    class Meta:
        verbose_name = _("fulfilment route")
        verbose_name_plural = _("fulfilment routes")
        ordering = ["position", "pk"]


class FulfillmentState(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SENT = "sent", _("Sent to the warehouse")
    FAILED = "failed", _("Sending failed")
    CANCEL_PENDING = "cancel_pending", _("Cancel waiting to send")
    CANCELLED = "cancelled", _("Cancelled at the warehouse")
    CANCEL_FAILED = "cancel_failed", _("Cancel failed")
    SHIPPED = "shipped", _("Shipped")


class FulfillmentRequest(TenantScopedModel):
    """One order sent to one target, once: `key` is the idempotency key the warehouse sees, so a retry or
    a task that runs twice is recognised there as the same order."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="fulfillment")
    target = models.ForeignKey(FulfillmentTarget, on_delete=models.PROTECT, related_name="requests")
    key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    state = models.CharField(_("state"), max_length=20, choices=FulfillmentState.choices)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    warehouse_reference = models.CharField(_("warehouse reference"), max_length=100, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("fulfilment request")
        verbose_name_plural = _("fulfilment requests")
        indexes = [models.Index(fields=["tenant", "state", "next_attempt_at"], name="fulfillment_due")]


class ShipmentSource(models.TextChoices):
    MANUAL = "manual", _("Entered by hand")
    CSV = "csv", _("CSV upload")
    WAREHOUSE = "warehouse", _("Warehouse callback")
    CHANNEL = "channel", _("Reported by the channel")


class ConfirmationState(models.TextChoices):
    NOT_NEEDED = "not_needed", _("Not needed")
    PENDING = "pending", _("Waiting to confirm")
    SUBMITTED = "submitted", _("Submitted, waiting for the channel's result")
    CONFIRMED = "confirmed", _("Confirmed on the channel")
    FAILED = "failed", _("Confirmation failed")


class Shipment(TenantScopedModel):
    """A parcel with its tracking number, and its confirmation back to the channel."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=100)
    tracking_number = models.CharField(_("tracking number"), max_length=100)
    ship_method = models.CharField(_("ship method"), max_length=100, blank=True)
    shipped_at = models.DateTimeField(_("shipped"))
    source = models.CharField(_("source"), max_length=20, choices=ShipmentSource.choices)
    # [{"line": <OrderLine pk>, "quantity": n}]; empty = every line in full.
    lines = models.JSONField(_("lines"), default=list, blank=True)
    confirmation = models.CharField(
        _("confirmation"), max_length=20, choices=ConfirmationState.choices, default=ConfirmationState.PENDING
    )
    confirmation_reference = models.CharField(_("channel reference"), max_length=100, blank=True)  # feed id, …
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-shipped_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "tracking_number"], name="shipment_unique_tracking"),
        ]
        indexes = [models.Index(fields=["tenant", "confirmation", "next_attempt_at"], name="shipment_confirm_due")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class OrderStatusChange(TenantScopedModel):
    """The order's status history as the channel reported it: one row each time the status moved."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices)
    raw_status = models.CharField(_("channel status"), max_length=50)
    changed_at = models.DateTimeField(_("changed on the channel"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("order status change")
        verbose_name_plural = _("order status changes")
        ordering = ["changed_at", "pk"]
        indexes = [models.Index(fields=["order", "changed_at"], name="order_status_change_time")]

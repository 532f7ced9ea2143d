"""Refunds and returns from every channel, their reason tags, the tenant's rules and the approval trail.

Sign convention (as the channels report it, see channels.adapters.base.REFUND_COMPONENTS): component
amounts are signed from the seller's point of view, negative = money the seller gives back. `amount` is
the positive sum the buyer receives; `net_amount` the signed effect on the seller (fees given back included).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from acorn.money import (
    AMOUNT_DECIMAL_PLACES,
    AMOUNT_MAX_DIGITS,
    RATE_DECIMAL_PLACES,
    RATE_MAX_DIGITS,
    Money,
    amount_field,
    format_amount,
    validate_currency_code,
)
from acorn.tenancy.models import TenantScopedModel
from channels.models import Store
from inventory.models import Product, Warehouse
from orders.models import Order, OrderLine


class ReasonTag(models.TextChoices):
    """The taxonomy every channel's reason codes and every buyer's words are mapped into."""

    DEFECTIVE = "defective", _("Defective / quality")
    WRONG_ITEM = "wrong_item", _("Wrong item sent")
    DAMAGED = "damaged", _("Damaged in transit")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    SIZE_FIT = "size_fit", _("Size or fit")
    NO_LONGER_NEEDED = "no_longer_needed", _("No longer needed")
    ARRIVED_LATE = "arrived_late", _("Arrived late")
    MISSING_PARTS = "missing_parts", _("Missing parts")
    UNAUTHORISED = "unauthorised", _("Unauthorised purchase")
    OTHER = "other", _("Other")


class TagSource(models.TextChoices):
    NONE = "", _("Not tagged")
    CODE = "code", _("Channel reason code")
    KEYWORD = "keyword", _("Customer's words")
    RULE = "rule", _("Rule")
    PERSON = "person", _("Person")


class RefundComponents(models.Model):
    """The money of a refund or of one refunded line, by component (signed, see the module docstring)."""

    principal_amount = amount_field(_("item price"))
    shipping_amount = amount_field(_("shipping"))
    tax_amount = amount_field(_("tax"))
    tax_withheld_amount = amount_field(_("tax withheld by the marketplace"))
    gift_wrap_amount = amount_field(_("gift wrap"))
    promotion_amount = amount_field(_("promotion"))
    commission_amount = amount_field(_("commission refunded"))
    refund_admin_fee_amount = amount_field(_("refund administration fee"))
    other_fee_amount = amount_field(_("other fees"))
    other_amount = amount_field(_("other"))

    # component name (channels.adapters.base.REFUND_COMPONENTS) → field
    COMPONENT_FIELDS = {
        "principal": "principal_amount",
        "shipping": "shipping_amount",
        "tax": "tax_amount",
        "tax_withheld": "tax_withheld_amount",
        "gift_wrap": "gift_wrap_amount",
        "promotion": "promotion_amount",
        "commission": "commission_amount",
        "refund_admin_fee": "refund_admin_fee_amount",
        "other_fee": "other_fee_amount",
        "other": "other_amount",
    }
    # What reaches the buyer. The rest is between the seller and the channel: fees, and the tax a marketplace
    # facilitator collected and now takes back (`tax_withheld` offsets `tax` in the seller's net, not the buyer's).
    BUYER_COMPONENTS = ("principal", "shipping", "tax", "gift_wrap", "promotion", "other")

    class Meta:
        abstract = True

    def components(self) -> dict[str, Decimal]:
        return {name: getattr(self, field) for name, field in self.COMPONENT_FIELDS.items()}

    def set_components(self, values: dict[str, Decimal]) -> None:
        for name, field in self.COMPONENT_FIELDS.items():
            setattr(self, field, values.get(name, Decimal(0)))


class Reviewed(models.Model):
    """The last review a person marked done (refunds.review): which reason it cleared, who and when."""

    reviewed_reason = models.CharField(_("reviewed reason"), max_length=40, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        abstract = True


class RefundSource(models.TextChoices):
    AMAZON_FINANCES = "amazon_finances", _("Amazon Finances")
    AMAZON_TRANSACTIONS = "amazon_transactions", _("Amazon transactions")
    SHOPIFY = "shopify", _("Shopify")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")
    CONSOLE = "console", _("Requested in ACORN")


class RefundOrigin(models.TextChoices):
    CHANNEL = "channel", _("Made on the channel")
    CONSOLE = "console", _("Requested in ACORN")


class RefundStatus(models.TextChoices):
    # A console request moves REQUESTED → (PENDING_APPROVAL) → APPROVED → EXECUTING → SUCCEEDED / FAILED;
    # REJECTED and CANCELLED end it. A refund the channel reports is SUCCEEDED from the start.
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    EXECUTING = "executing", _("Being executed")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class Refund(TenantScopedModel, RefundComponents, Reviewed):
    """Money given back to a buyer on one order: reported by the channel, or requested in the console."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("store"))
    # The order once it is imported; until then `order_external_id` names it and the refund waits to link.
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds", verbose_name=_("order")
    )
    order_external_id = models.CharField(_("order id"), max_length=100)
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)
    # The channel's id (console requests: ACORN's own until the channel gives one).
    external_id = models.CharField(_("refund id"), max_length=200)
    # Two sources describing the same refund (Amazon Finances v0 and transactions) share this key.
    dedupe_key = models.CharField(_("deduplication key"), max_length=200)
    sources = models.JSONField(_("seen in"), default=list, blank=True)
    origin = models.CharField(_("origin"), max_length=10, choices=RefundOrigin.choices)
    status = models.CharField(_("status"), max_length=20, choices=RefundStatus.choices)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    amount = amount_field(_("refunded to the buyer"))
    net_amount = amount_field(_("effect on the seller"))
    # The amount in the tenant's reporting currency, with the rate used (empty when no rate was known).
    reporting_currency = models.CharField(_("reporting currency"), max_length=3, blank=True)
    reporting_amount = models.DecimalField(
        _("amount in the reporting currency"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    fx_rate = models.DecimalField(
        _("exchange rate"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES, null=True, blank=True
    )
    fx_rate_date = models.DateField(_("rate date"), null=True, blank=True)
    fx_rate_source = models.CharField(_("rate source"), max_length=40, blank=True)
    refunded_at = models.DateTimeField(_("refunded"))
    # Why: the channel's reason code and text, and the buyer's words (from the refund or its return).
    reason_code = models.CharField(_("reason code"), max_length=100, blank=True)
    reason_text = models.CharField(_("reason"), max_length=500, blank=True)
    customer_comment = models.TextField(_("customer comment"), blank=True)
    tag = models.CharField(_("reason tag"), max_length=30, choices=ReasonTag.choices, blank=True)
    tag_source = models.CharField(_("tagged by"), max_length=10, choices=TagSource.choices, blank=True)
    # What the tenant's rules decided (see refunds.rules): category, ledger account for finance, approvals.
    category = models.CharField(_("category"), max_length=100, blank=True)
    ledger_account = models.CharField(_("ledger account"), max_length=100, blank=True)
    matched_rule = models.ForeignKey(
        "ClassificationRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("matched rule"),
    )
    flagged_for_service = models.BooleanField(_("flagged for customer service"), default=False)
    # Something a person should look at (exceeds the order, refunded but not returned, …): a short code.
    review_reason = models.CharField(_("needs review"), max_length=40, blank=True)
    # Console requests: who asked, why, how many approvals the policy and rules require.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    request_note = models.TextField(_("note"), blank=True)
    approvals_required = models.PositiveSmallIntegerField(_("approvals required"), default=0)
    restock = models.BooleanField(_("put the items back in stock"), default=False)
    # Execution on the channel: one idempotency key for the refund's whole life; retries back off.
    idempotency_key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, editable=False)
    channel_refund_id = models.CharField(_("channel refund id"), max_length=200, blank=True)
    feed_id = models.CharField(_("Amazon feed id"), max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    executed_at = models.DateTimeField(_("executed"), null=True, blank=True)
    raw = models.JSONField(_("as the channel sent it"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-refunded_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["store", "dedupe_key"], name="refund_unique_per_store"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-refunded_at"], name="refund_tenant_refunded"),
            models.Index(fields=["tenant", "status", "-refunded_at"], name="refund_tenant_status"),
            models.Index(fields=["store", "order_external_id"], name="refund_store_order_id"),
            models.Index(
                fields=["store", "order_external_id"], condition=Q(order__isnull=True), name="refund_waiting_order"
            ),
            models.Index(fields=["status", "next_attempt_at"], name="refund_execution_due"),
            models.Index(
                fields=["tenant", "review_reason"], condition=~Q(review_reason=""), name="refund_tenant_review"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_external_id} {format_amount(self.amount, self.currency)} {self.currency}"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def net_money(self) -> Money:
        return Money(self.net_amount, self.currency)

    @property
    def reporting_money(self) -> Money | None:
        """The amount in the reporting currency, or None when no rate was known."""
        if self.reporting_amount is None or not self.reporting_currency:
            return None
        return Money(self.reporting_amount, self.reporting_currency)

    @property
    def is_request(self) -> bool:
        return self.origin == RefundOrigin.CONSOLE

    @property
    def goodwill(self) -> Money | None:
        """A request's goodwill amount on the whole order, tied to no item (positive); None when it has none."""
        if not self.is_request or self.other_amount >= 0:
            return None
        return Money(-self.other_amount, self.currency)


class RefundLine(TenantScopedModel, RefundComponents):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines", verbose_name=_("refund"))
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("order line")
    )
    order_item_id = models.CharField(_("order item id"), max_length=100, blank=True)
    adjustment_id = models.CharField(_("adjustment id"), max_length=100, blank=True)
    sku = models.CharField(_("channel SKU"), max_length=200, blank=True)
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=0)
    amount = amount_field(_("refunded to the buyer"))

    class Meta:
        verbose_name = _("refund line")
        verbose_name_plural = _("refund lines")
        ordering = ["pk"]
        indexes = [models.Index(fields=["tenant", "sku"], name="refundline_tenant_sku")]

    def __str__(self) -> str:
        return f"{self.sku} x {self.quantity}"


class ReturnSource(models.TextChoices):
    AMAZON_FBA = "amazon_fba", _("Amazon FBA customer returns report")
    AMAZON_MFN = "amazon_mfn", _("Amazon merchant-fulfilled returns report")
    SHOPIFY = "shopify", _("Shopify return")
    WOOCOMMERCE = "woocommerce", _("WooCommerce refund with items")


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    IN_TRANSIT = "in_transit", _("On its way back")
    RECEIVED = "received", _("Received")
    CLOSED = "closed", _("Closed")
    DECLINED = "declined", _("Declined")


class RestockState(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    SELLABLE = "sellable", _("Back in sellable stock")
    DAMAGED = "damaged", _("Put to damaged / unsellable")
    BY_CHANNEL = "by_channel", _("Handled by the channel (FBA)")
    NOT_RETURNED = "not_returned", _("Nothing to restock")


class Return(TenantScopedModel, Reviewed):
    """One SKU of a buyer's return: an FBA customer return, an MFN return request, a Shopify return line."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="returns", verbose_name=_("store"))
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="returns", verbose_name=_("order")
    )
    order_external_id = models.CharField(_("order id"), max_length=100)
    external_id = models.CharField(_("return id"), max_length=200)
    source = models.CharField(_("source"), max_length=20, choices=ReturnSource.choices)
    # The refund it belongs with, once matched (by order and SKU).
    refund = models.ForeignKey(
        Refund, on_delete=models.SET_NULL, null=True, blank=True, related_name="returns", verbose_name=_("refund")
    )
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)
    fulfillment_channel = models.CharField(_("fulfilment"), max_length=10, blank=True)
    sku = models.CharField(_("channel SKU"), max_length=200)
    asin = models.CharField(_("ASIN"), max_length=20, blank=True)
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    title = models.CharField(_("title"), max_length=500, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(_("status"), max_length=20, choices=ReturnStatus.choices)
    channel_status = models.CharField(_("channel status"), max_length=100, blank=True)
    reason_code = models.CharField(_("reason code"), max_length=100, blank=True)
    customer_comment = models.TextField(_("customer comment"), blank=True)
    tag = models.CharField(_("reason tag"), max_length=30, choices=ReasonTag.choices, blank=True)
    tag_source = models.CharField(_("tagged by"), max_length=10, choices=TagSource.choices, blank=True)
    disposition = models.CharField(_("disposition"), max_length=40, blank=True)
    fulfillment_center = models.CharField(_("fulfilment centre"), max_length=20, blank=True)
    license_plate_number = models.CharField(_("licence plate number"), max_length=60, blank=True)
    rma = models.CharField(_("RMA"), max_length=100, blank=True)
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    returned_at = models.DateTimeField(_("returned"))
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    # A person should look: "no_tracking" (FBA return without carrier tracking), "not_refunded", ….
    review_reason = models.CharField(_("needs review"), max_length=40, blank=True)
    restock_state = models.CharField(
        _("restock"), max_length=20, choices=RestockState.choices, default=RestockState.PENDING
    )
    restock_warehouse = models.ForeignKey(
        Warehouse, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("warehouse")
    )
    restocked_sellable = models.PositiveIntegerField(_("units back to sellable"), default=0)
    restocked_damaged = models.PositiveIntegerField(_("units to damaged"), default=0)
    raw = models.JSONField(_("as the channel sent it"), default=dict, blank=True)
    created_at = models.DateTimeField(_("first synced"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["-returned_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="return_unique_per_store")]
        indexes = [
            models.Index(fields=["tenant", "-returned_at"], name="return_tenant_returned"),
            models.Index(fields=["store", "order_external_id", "sku"], name="return_store_order_sku"),
            models.Index(
                fields=["tenant", "review_reason"], condition=~Q(review_reason=""), name="return_tenant_review"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_external_id} {self.sku} x {self.quantity}"


class ClassificationRule(TenantScopedModel):
    """One ordered rule: when every filled condition holds, its actions apply (the first match wins).

    List conditions are kept as text, one value per line or comma-separated (see refunds.rules).
    """

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("order"), default=0)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Conditions (empty = any).
    amount_min = models.DecimalField(
        _("amount at least (reporting currency)"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    amount_max = models.DecimalField(
        _("amount at most (reporting currency)"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    skus = models.TextField(_("SKUs"), blank=True)
    asins = models.TextField(_("ASINs"), blank=True)
    stores = models.ManyToManyField(Store, blank=True, related_name="+", verbose_name=_("stores"))
    marketplaces = models.CharField(_("marketplaces"), max_length=200, blank=True)
    channels = models.CharField(_("channels"), max_length=100, blank=True)
    reason_codes = models.TextField(_("reason codes"), blank=True)
    tags = models.CharField(_("reason tags"), max_length=300, blank=True)
    keywords = models.TextField(_("keywords in the customer's words"), blank=True)
    # Actions (empty = leave as is).
    set_tag = models.CharField(_("set reason tag"), max_length=30, choices=ReasonTag.choices, blank=True)
    set_category = models.CharField(_("set category"), max_length=100, blank=True)
    set_ledger_account = models.CharField(_("set ledger account"), max_length=100, blank=True)
    require_approvals = models.PositiveSmallIntegerField(
        _("require approvals"), null=True, blank=True, choices=[(0, "0"), (1, "1"), (2, "2")]
    )
    flag_for_service = models.BooleanField(_("flag for customer service"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("classification rule")
        verbose_name_plural = _("classification rules")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class ApprovalPolicy(TenantScopedModel):
    """How many approvals a console refund request needs, by its amount in the reporting currency."""

    one_approval_from = models.DecimalField(
        _("one approval from"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        default=Decimal("50"),
    )
    two_approvals_from = models.DecimalField(
        _("two approvals from"),
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        default=Decimal("500"),
    )
    # Roles that may approve (acorn.tenancy.models.Role values); always within refunds.approve.
    approver_roles = models.JSONField(_("roles that approve"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("approval policy")
        verbose_name_plural = _("approval policies")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="approval_policy_one_per_tenant"),
            models.CheckConstraint(
                condition=Q(two_approvals_from__gte=models.F("one_approval_from")), name="approval_bands_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.one_approval_from} / {self.two_approvals_from}"


class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Approval(TenantScopedModel):
    """One person's decision on a refund request (one per person per refund)."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="approvals", verbose_name=_("refund"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    decision = models.CharField(_("decision"), max_length=10, choices=ApprovalDecision.choices)
    reason = models.TextField(_("reason"), blank=True)
    via = models.CharField(_("via"), max_length=10, default="console")  # console / admin
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["refund", "user"], name="approval_one_per_person")]

    def __str__(self) -> str:
        return f"{self.decision} by {self.user_id}"


# --- refund rates, thresholds and alerts (issue 8) ------------------------------------------------------


class RefundRateDaily(TenantScopedModel):
    """Units sold and refunded of one master SKU in one store on one UTC day: the rollup every refund-rate
    figure is summed from (refunds.rates keeps it current as orders and refunds arrive).

    `sold_units` count order lines by their order's purchase day (cancelled orders excluded);
    `refunded_units` count refund lines by the refund's day; `cohort_refunded_units` count the same refund
    lines by their ORDER's purchase day (the "by order date" view). Units are master units (channel
    quantity times the SKU mapping's multiplier)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name=_("product"))
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    day = models.DateField(_("day"))
    sold_units = models.PositiveIntegerField(_("units sold"), default=0)
    refunded_units = models.PositiveIntegerField(_("units refunded (by refund date)"), default=0)
    cohort_refunded_units = models.PositiveIntegerField(_("units refunded (by order date)"), default=0)

    class Meta:
        verbose_name = _("daily refund figures")
        verbose_name_plural = _("daily refund figures")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "product", "store", "day"], name="refund_rate_daily_unique")
        ]
        indexes = [models.Index(fields=["tenant", "day"], name="refund_rate_daily_tenant_day")]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.store_id} {self.day}: {self.refunded_units}/{self.sold_units}"


class ThresholdScope(models.TextChoices):
    DEFAULT = "default", _("Company default")
    PRODUCT = "product", _("One SKU")
    CATEGORY = "category", _("A product category")
    STORE = "store", _("One store")


class RefundRateThreshold(TenantScopedModel):
    """When a SKU's refund rate is too high: the tenant default, or an override for a SKU, a category or a
    store (the most specific applies: SKU, then store, then category, then default)."""

    scope = models.CharField(_("applies to"), max_length=10, choices=ThresholdScope.choices)
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("SKU")
    )
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    category = models.CharField(_("category"), max_length=100, blank=True)
    rate_percent = models.DecimalField(_("refund rate above (%)"), max_digits=5, decimal_places=2)
    window_days = models.PositiveSmallIntegerField(
        _("over the last"), choices=[(7, "7"), (30, "30"), (90, "90")], default=30
    )
    min_units_sold = models.PositiveIntegerField(_("with at least this many units sold"), default=20)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("refund-rate threshold")
        verbose_name_plural = _("refund-rate thresholds")
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_percent__gt=0, rate_percent__lte=100), name="refund_threshold_rate_range"
            ),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(scope="default"), name="refund_threshold_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.rate_percent}% / {self.window_days} d"


class AlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("alert status", "Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class RefundRateAlert(TenantScopedModel):
    """One crossing of a threshold by one SKU (across every channel, or in one store when the threshold is a
    store's): raised once, open until the rate falls back under the threshold or a person acknowledges it."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name=_("SKU"))
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    threshold = models.ForeignKey(
        RefundRateThreshold, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts",
        verbose_name=_("threshold"),
    )  # fmt: skip
    # "all" (across every channel) or "store:<id>": what the alert is about, for the one-live-alert rule.
    scope_key = models.CharField(_("scope"), max_length=30, default="all")
    status = models.CharField(_("status"), max_length=15, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    window_days = models.PositiveSmallIntegerField(_("window (days)"))
    threshold_percent = models.DecimalField(_("threshold (%)"), max_digits=5, decimal_places=2)
    rate_percent = models.DecimalField(_("refund rate when raised (%)"), max_digits=7, decimal_places=2)
    latest_rate_percent = models.DecimalField(_("latest refund rate (%)"), max_digits=7, decimal_places=2)
    units_sold = models.PositiveIntegerField(_("units sold"))
    units_refunded = models.PositiveIntegerField(_("units refunded"))
    top_tags = models.JSONField(_("top reason tags"), default=list, blank=True)
    opened_at = models.DateTimeField(_("raised"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("acknowledged by"),
    )  # fmt: skip
    acknowledgement_note = models.TextField(_("note"), blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("refund-rate alert")
        verbose_name_plural = _("refund-rate alerts")
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # One live alert per SKU and scope: a crossing raises one, more refunds do not raise more.
            models.UniqueConstraint(
                fields=["tenant", "product", "scope_key", "window_days"],
                condition=~Q(status="resolved"),
                name="refund_alert_one_live",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "-opened_at"], name="refund_alert_tenant_status")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.rate_percent}% > {self.threshold_percent}%"


# --- after-sales notices and the weekly digest (issue 8) --------------------------------------------------


class ServiceNoticeKind(models.TextChoices):
    RETURN_REQUEST = "return_request", _("New return request")
    REFUND_FLAGGED = "refund_flagged", _("Refund flagged for customer service")


class ServiceNotice(TenantScopedModel):
    """One return request or flagged refund waiting to be told to customer service (refunds.monitoring):
    written in the transaction that created it, sent alone or batched with others that arrived together."""

    kind = models.CharField(_("kind"), max_length=20, choices=ServiceNoticeKind.choices)
    object_id = models.PositiveBigIntegerField(_("object id"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer-service notice")
        verbose_name_plural = _("customer-service notices")
        indexes = [models.Index(fields=["tenant", "kind", "sent_at"], name="service_notice_pending")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class DigestSent(TenantScopedModel):
    """The weekly digest of one ISO week (its Monday) was sent: never twice for the same week."""

    week = models.DateField(_("week starting"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("weekly digest sent")
        verbose_name_plural = _("weekly digests sent")
        constraints = [models.UniqueConstraint(fields=["tenant", "week"], name="digest_sent_one_per_week")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.week}"

"""Profit: what each sale really earned, refunds and costs included.

* Cost of goods. `CostReceipt` is a receipt of stock with what it cost: unit cost in its currency and the
  landed costs of the receipt (freight, duty, other), spread over its units. `CostAverage` is the history of
  the moving weighted average per product and warehouse (one row per change, `effective_at`): the cost of a
  unit sold at a moment is the average in force then (finance.profit.costs).
* Amounts that belong to the P&L but not to an order line. `OrderFeeEstimate` keeps the fees a channel
  reported for an order before its settlement (Amazon Finances transactions): the order's fees are
  "estimated" from these until settlement lines of the order arrive and make them "settled". `OtherCost` is
  a cost of no order: advertising (imported per SKU and day, or the settlement's account-level charge),
  storage, subscription, removal and other fees; shown as its own line, optionally spread over SKUs by units.
  `FulfilmentRate` is what shipping one merchant-fulfilled order costs from a warehouse.
* `ProfitFact` is one figure set of the P&L: a sale (an order line, on its purchase day), a refund (a refund
  line, on the refund's day) or a cost of no order (on its day), every component in the tenant's reporting
  currency at the rate of that day, kept with the rate, its date and source. `ProfitDaily` is the rollup
  the console reads: per UTC day, store, marketplace, buyer country and product (or channel SKU when the
  line maps to no product). finance.profit.rollup keeps both current and rebuilds them.
* Coarser rollups summed from `ProfitDaily` in the same transaction, for reads that need no finer grain
  (finance.profit.selectors picks the coarsest that holds the columns a read filters or groups on):
  `ProfitDailyStore` per day, store, marketplace and country (no product: totals, trend, by store, by
  country); `ProfitDailyProduct` per day and product or SKU (every store together) and `ProfitWeeklyProduct`
  the same per week from Monday (by SKU: whole weeks from the weekly table, the days at the edges from the
  daily one). A million order lines make 766,000 daily rows but 8,000 store-day and 20,000 product-week rows.

Signs follow the settlement file: what the seller earns is positive, what it pays is negative. Tax is never
revenue nor cost: it is kept apart (`tax`) and left out of `net`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.money import RATE_DECIMAL_PLACES, RATE_MAX_DIGITS, amount_field, validate_currency_code
from acorn.tenancy.models import TenantScopedModel
from channels.models import Store
from inventory.models import Product, StockMovement, Warehouse
from orders.models import Order, OrderLine
from refunds.models import Refund, RefundLine

# The P&L's components, in the order a statement shows them. Each is a signed amount (earned positive).
COMPONENTS = (
    "sales",  # item prices without tax, before promotions
    "shipping",  # shipping charged to the buyer, without tax
    "promotions",  # discounts and promotions (negative)
    "refunds",  # what was given back: principal, shipping, promotions reversed (negative), restocking fee (+)
    "referral_fees",  # referral / commission / closing / payment fees; returned commission (+), refund commission
    "fba_fees",  # the channel's fulfilment fees (never returned on a refund)
    "other_fees",  # any other fee of the order
    "reimbursements",  # the channel paying the seller back (lost, damaged), claw-backs negative
    "cogs",  # cost of goods sold (negative); a sellable return puts it back (positive)
    "fulfilment",  # shipping a merchant-fulfilled order from a warehouse or 3PL (negative)
    "advertising",  # advertising spend (negative)
    "storage",  # storage fees (negative)
    "other_costs",  # subscription, removal and other costs (negative)
)


class ProfitSettings(TenantScopedModel):
    """A tenant's choices for its P&L (one row per tenant, made on first use)."""

    # Spread costs of no order (storage, subscription, …) over SKUs by units sold in the same day and store;
    # off: they stay their own "not assigned to a SKU" line.
    spread_unassigned_costs = models.BooleanField(_("spread costs of no order over SKUs by units sold"), default=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("profit settings")
        verbose_name_plural = _("profit settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="profit_settings_one_per_tenant")]


# --- cost of goods --------------------------------------------------------------------------------------


class CostSource(models.TextChoices):
    MANUAL = "manual", _("Entered in the console")
    IMPORT = "import", _("Imported from a file")
    STOCK_RECEIPT = "stock_receipt", _("Stock receipt at the product's standard cost")


class CostReceipt(TenantScopedModel):
    """Units received with their cost: what a receipt adds to the moving average of its product and
    warehouse. Landed costs (freight, duty, other) are totals for the receipt, spread over its units."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    # None: the product's cost everywhere (a cost entered without a warehouse).
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("warehouse")
    )
    # The receipt in the stock ledger this cost belongs to, when there is one.
    movement = models.OneToOneField(
        StockMovement, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("receipt")
    )
    source = models.CharField(_("source"), max_length=20, choices=CostSource.choices, default=CostSource.MANUAL)
    received_at = models.DateTimeField(_("received"))
    quantity = models.PositiveIntegerField(_("units"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    unit_cost_amount = amount_field(_("unit cost"))
    freight_amount = amount_field(_("freight"))
    duty_amount = amount_field(_("duty"))
    other_amount = amount_field(_("other landed costs"))
    # unit cost + (freight + duty + other) / units, to 4 decimals: what one unit cost landed.
    landed_unit_cost_amount = amount_field(_("landed unit cost"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)  # PO, invoice, shipment
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("cost receipt")
        verbose_name_plural = _("cost receipts")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "product", "received_at"], name="costreceipt_product_time")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="costreceipt_units_positive"),
            models.CheckConstraint(
                condition=Q(unit_cost_amount__gte=0, freight_amount__gte=0, duty_amount__gte=0, other_amount__gte=0),
                name="costreceipt_costs_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} x {self.quantity} @ {self.landed_unit_cost_amount} {self.currency}"


class CostAverage(TenantScopedModel):
    """The moving weighted average unit cost of a product in a warehouse from `effective_at` until the next
    row: (units on hand x previous average + units received x landed cost) / (units on hand + received)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name=_("product"))
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("warehouse")
    )
    effective_at = models.DateTimeField(_("from"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    unit_cost_amount = amount_field(_("average unit cost"))
    # The units the average was taken over (on hand before the receipt + received).
    quantity = models.IntegerField(_("units"), default=0)
    receipt = models.ForeignKey(
        CostReceipt, on_delete=models.CASCADE, null=True, blank=True, related_name="averages", verbose_name=_("receipt")
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("average cost")
        verbose_name_plural = _("average costs")
        ordering = ["-effective_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "product", "warehouse", "-effective_at"], name="costaverage_lookup"),
        ]


# --- amounts of the P&L that are not on the order -------------------------------------------------------


class OrderFeeEstimate(TenantScopedModel):
    """A fee the channel reported for an order before its settlement (Amazon Finances 2024-06-19 transaction
    breakdowns): the order's fees are "estimated" from these until its settlement lines arrive."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    order_external_id = models.CharField(_("order id"), max_length=100)
    transaction_id = models.CharField(_("transaction id"), max_length=200)
    component = models.CharField(_("fee"), max_length=100)  # the channel's name ("Commission", …)
    # The P&L component it counts in: referral_fees, fba_fees or other_fees.
    profit_component = models.CharField(_("counts as"), max_length=20)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    amount = amount_field(_("amount"))
    posted_at = models.DateTimeField(_("posted"))

    class Meta:
        verbose_name = _("estimated fee")
        verbose_name_plural = _("estimated fees")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "transaction_id", "component"], name="orderfeeestimate_unique_component"
            )
        ]
        indexes = [models.Index(fields=["store", "order_external_id"], name="orderfeeestimate_order")]


class OtherCostKind(models.TextChoices):
    ADVERTISING = "advertising", _("Advertising")
    STORAGE = "storage", _("Storage fees")
    SUBSCRIPTION = "subscription", _("Subscription")
    REMOVAL = "removal", _("Removal and disposal fees")
    INBOUND = "inbound", _("Inbound shipping and placement")
    REIMBURSEMENT = "reimbursement", _("Reimbursements (lost or damaged stock)")
    OTHER = "other", _("Other costs")


class OtherCostSource(models.TextChoices):
    SETTLEMENT = "settlement", _("Channel statement")
    AD_IMPORT = "ad_import", _("Advertising report")
    MANUAL = "manual", _("Entered in the console")


class AdSpendUpload(TenantScopedModel):
    """One advertising report imported (spend per SKU and day): what it held and what it wrote."""

    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    filename = models.CharField(_("file name"), max_length=255)
    report_format = models.CharField(_("format"), max_length=40, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    costs_written = models.PositiveIntegerField(_("costs written"), default=0)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    total_amount = amount_field(_("total spend"))
    first_day = models.DateField(_("first day"), null=True, blank=True)
    last_day = models.DateField(_("last day"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("advertising report")
        verbose_name_plural = _("advertising reports")
        ordering = ["-uploaded_at", "-pk"]


class OtherCost(TenantScopedModel):
    """A cost that belongs to no order line: signed (a cost is negative), on a UTC day, for a store (or the
    whole company), a marketplace and a product when the source names one."""

    kind = models.CharField(_("kind"), max_length=20, choices=OtherCostKind.choices)
    source = models.CharField(_("source"), max_length=20, choices=OtherCostSource.choices)
    # Unique per tenant: what makes a re-import replace rather than add ("ad:<store>:<day>:<sku>:<campaign>", …).
    source_key = models.CharField(_("source key"), max_length=255)
    day = models.DateField(_("day"))
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    sku = models.CharField(_("SKU"), max_length=200, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    amount = amount_field(_("amount"))
    settlement_line = models.ForeignKey(
        "finance.SettlementLine", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    upload = models.ForeignKey(AdSpendUpload, on_delete=models.SET_NULL, null=True, blank=True, related_name="costs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("cost of no order")
        verbose_name_plural = _("costs of no order")
        ordering = ["-day", "-pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "source_key"], name="othercost_unique_source_key")]
        indexes = [models.Index(fields=["tenant", "day"], name="othercost_tenant_day")]


class FulfilmentRate(TenantScopedModel):
    """What shipping one merchant-fulfilled order from a warehouse costs: per order plus per unit."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+", verbose_name=_("warehouse"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    per_order_amount = amount_field(_("per order"))
    per_unit_amount = amount_field(_("per unit"))
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("fulfilment rate")
        verbose_name_plural = _("fulfilment rates")
        constraints = [models.UniqueConstraint(fields=["warehouse"], name="fulfilmentrate_one_per_warehouse")]


# --- the P&L ------------------------------------------------------------------------------------------


class FactKind(models.TextChoices):
    SALE = "sale", _("Sale")
    REFUND = "refund", _("Refund")
    COST = "cost", _("Cost of no order")


class ProfitFigures(models.Model):
    """The P&L components in the reporting currency, plus tax (kept apart, never in `net`)."""

    sales = amount_field(_("sales"))
    shipping = amount_field(_("shipping income"))
    promotions = amount_field(_("promotions"))
    refunds = amount_field(_("refunds"))
    referral_fees = amount_field(_("referral fees"))
    fba_fees = amount_field(_("fulfilment fees"))
    other_fees = amount_field(_("other fees"))
    reimbursements = amount_field(_("reimbursements"))
    cogs = amount_field(_("cost of goods"))
    fulfilment = amount_field(_("fulfilment cost"))
    advertising = amount_field(_("advertising"))
    storage = amount_field(_("storage"))
    other_costs = amount_field(_("other costs"))
    tax = amount_field(_("tax (not counted)"))
    net = amount_field(_("net profit"))

    class Meta:
        abstract = True


class ProfitFact(TenantScopedModel, ProfitFigures):
    """One sale, refund or cost of no order in the P&L, in the reporting currency (`reporting_currency`) at
    the rate of its day; `currency`, `rate`, `rate_date` and `rate_source` say how it was converted, and
    `net_amount` keeps the net in the transaction's own currency. `settled` once the channel's statement
    holds the fees; `cost_missing` when a unit's cost was not known (its cost of goods counts as 0)."""

    key = models.CharField(_("key"), max_length=60)  # "sale:<order line>", "refund:<refund line>", "cost:<id>"
    kind = models.CharField(_("kind"), max_length=10, choices=FactKind.choices)
    day = models.DateField(_("day"))
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    sku = models.CharField(_("SKU"), max_length=200, blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    refund_line = models.ForeignKey(RefundLine, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Kept when the cost is deleted (its key says which it was) until the refresh removes the fact and re-sums
    # its day.
    other_cost = models.ForeignKey(OtherCost, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    units = models.IntegerField(_("units sold"), default=0)
    units_refunded = models.IntegerField(_("units refunded"), default=0)
    settled = models.BooleanField(_("settled"), default=False)
    cost_missing = models.BooleanField(_("cost missing"), default=False)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    net_amount = amount_field(_("net profit in its currency"))
    reporting_currency = models.CharField(_("reporting currency"), max_length=3, validators=[validate_currency_code])
    rate = models.DecimalField(
        _("rate"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES, null=True, blank=True
    )
    rate_date = models.DateField(_("rate date"), null=True, blank=True)
    rate_source = models.CharField(_("rate source"), max_length=40, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("profit figure")
        verbose_name_plural = _("profit figures")
        ordering = ["day", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="profitfact_unique_key")]
        indexes = [
            models.Index(fields=["tenant", "day"], name="profitfact_tenant_day"),
            models.Index(fields=["tenant", "product", "day"], name="profitfact_product_day"),
            models.Index(fields=["order"], name="profitfact_order"),
        ]

    def __str__(self) -> str:
        return self.key


class ProfitDaily(TenantScopedModel, ProfitFigures):
    """The rollup: the facts of one UTC day summed per store, marketplace, buyer country and product (or the
    channel SKU when no product is mapped; both empty for a company-wide cost). `facts` counts the figures
    summed and `estimated` those not yet settled; `cost_missing` those whose cost of goods was unknown."""

    day = models.DateField(_("day"))
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    sku = models.CharField(_("SKU"), max_length=200, blank=True)  # only when no product
    currency = models.CharField(_("reporting currency"), max_length=3, validators=[validate_currency_code])
    units = models.IntegerField(_("units sold"), default=0)
    units_refunded = models.IntegerField(_("units refunded"), default=0)
    orders = models.IntegerField(_("orders"), default=0)
    facts = models.IntegerField(_("figures"), default=0)
    estimated = models.IntegerField(_("estimated figures"), default=0)
    cost_missing = models.IntegerField(_("figures without cost"), default=0)

    class Meta:
        verbose_name = _("daily profit")
        verbose_name_plural = _("daily profit")
        ordering = ["day", "pk"]
        indexes = [
            models.Index(fields=["tenant", "day"], name="profitdaily_tenant_day"),
            models.Index(fields=["tenant", "store", "day"], name="profitdaily_store_day"),
            models.Index(fields=["tenant", "product", "day"], name="profitdaily_product_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.product_id or self.sku} {self.net} {self.currency}"


class ProfitRollupCounts(models.Model):
    """The counters of a coarser rollup row: the sums of its `ProfitDaily` rows' (so `orders` counts an order
    once per day and product, as summing the daily rows does)."""

    currency = models.CharField(_("reporting currency"), max_length=3, validators=[validate_currency_code])
    units = models.IntegerField(_("units sold"), default=0)
    units_refunded = models.IntegerField(_("units refunded"), default=0)
    orders = models.IntegerField(_("orders"), default=0)
    facts = models.IntegerField(_("figures"), default=0)
    estimated = models.IntegerField(_("estimated figures"), default=0)
    cost_missing = models.IntegerField(_("figures without cost"), default=0)

    class Meta:
        abstract = True


class ProfitDailyStore(TenantScopedModel, ProfitFigures, ProfitRollupCounts):
    """`ProfitDaily` summed over products: per UTC day, store (none: company-wide costs), marketplace and
    buyer country."""

    day = models.DateField(_("day"))
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)

    class Meta:
        verbose_name = _("daily profit per store")
        verbose_name_plural = _("daily profit per store")
        ordering = ["day", "pk"]
        indexes = [models.Index(fields=["tenant", "day"], name="profitdailystore_tenant_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.store_id} {self.marketplace} {self.country} {self.net} {self.currency}"


class ProfitDailyProduct(TenantScopedModel, ProfitFigures, ProfitRollupCounts):
    """`ProfitDaily` summed over stores, marketplaces and countries: per UTC day and product (or channel SKU
    when no product; both empty for costs of no product)."""

    day = models.DateField(_("day"))
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    sku = models.CharField(_("SKU"), max_length=200, blank=True)  # only when no product

    class Meta:
        verbose_name = _("daily profit per product")
        verbose_name_plural = _("daily profit per product")
        ordering = ["day", "pk"]
        indexes = [
            models.Index(fields=["tenant", "day"], name="profitdailyproduct_tenant_day"),
            models.Index(fields=["tenant", "product", "day"], name="profitdailyproduct_product"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.product_id or self.sku} {self.net} {self.currency}"


class ProfitWeeklyProduct(TenantScopedModel, ProfitFigures, ProfitRollupCounts):
    """`ProfitDailyProduct` summed per week: the seven UTC days from Monday `week_start`."""

    week_start = models.DateField(_("week from (Monday)"))
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    sku = models.CharField(_("SKU"), max_length=200, blank=True)  # only when no product

    class Meta:
        verbose_name = _("weekly profit per product")
        verbose_name_plural = _("weekly profit per product")
        ordering = ["week_start", "pk"]
        indexes = [
            models.Index(fields=["tenant", "week_start"], name="profitweeklyproduct_week"),
            models.Index(fields=["tenant", "product", "week_start"], name="profitweeklyproduct_product"),
        ]

    def __str__(self) -> str:
        return f"{self.week_start} {self.product_id or self.sku} {self.net} {self.currency}"


# --- what waits for a refresh ---------------------------------------------------------------------------


class RefreshKind(models.TextChoices):
    ORDER = "order", _("order")
    REFUND = "refund", _("refund")
    SETTLEMENT = "settlement", _("settlement")


class ProfitRefreshDue(TenantScopedModel):
    """An order, refund or statement whose P&L must be recomputed, written in the same transaction as the
    change. One `finance.refresh_profit` per tenant drains what is due (finance.profit.triggers), however many
    sync pages or webhooks added to it while it waited in the queue; the beat picks up what a lost message left."""

    kind = models.CharField(_("kind"), max_length=16, choices=RefreshKind.choices)
    object_id = models.BigIntegerField(_("object id"))
    created_at = models.DateTimeField(_("due since"), default=timezone.now)

    class Meta:
        verbose_name = _("profit refresh due")
        verbose_name_plural = _("profit refreshes due")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "object_id"], name="profitrefreshdue_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "created_at"], name="profitrefreshdue_tenant")]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"

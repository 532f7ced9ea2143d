"""Channel statements: Amazon settlements, Shopify Payments payouts and WooCommerce monthly statements.

A `Settlement` is one statement of money a channel paid (or charged) a seller: a header with the deposit, and
`SettlementLine` rows that each carry the vendor's own type fields raw (transaction type, amount type,
description) beside a `Category` from one fixed vocabulary, which the ledger maps to accounts. Amounts are
signed from the seller's point of view (positive = money to the seller), in the settlement's currency.

`CategoryRule` is a tenant's own mapping of a vendor type to a category: Amazon adds new fee types without
notice, so a type nobody maps is kept `unclassified` (counted and flagged, never dropped) until someone maps
it; mapping it re-categorises every line of that type that no later rule or person decided otherwise.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS, Money, validate_currency_code
from acorn.tenancy.models import TenantScopedModel
from channels.models import Platform, Store
from orders.models import Order
from refunds.models import Refund


def _amount(verbose_name: Any, **extra: Any) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES, default=0, **extra
    )


class Category(models.TextChoices):
    """Where a settlement line's money belongs: the one vocabulary the ledger maps to accounts."""

    SALES = "sales", _("Sales")
    SHIPPING_INCOME = "shipping_income", _("Shipping income")
    PROMOTIONS = "promotions", _("Promotions")
    REFUNDS = "refunds", _("Refunds")
    SELLER_FEES = "seller_fees", _("Seller fees")
    FBA_FEES = "fba_fees", _("FBA fees")
    STORAGE_FEES = "storage_fees", _("Storage fees")
    ADVERTISING = "advertising", _("Advertising")
    REIMBURSEMENTS = "reimbursements", _("Reimbursements")
    TAX_COLLECTED = "tax_collected", _("Tax collected (owed by the seller)")
    TAX_WITHHELD = "tax_withheld", _("Tax withheld by the marketplace")
    RESERVE = "reserve", _("Reserved balances")
    UNCLASSIFIED = "unclassified", _("Unclassified")


class SettlementKind(models.TextChoices):
    AMAZON_SETTLEMENT = "amazon_settlement", _("Amazon settlement")
    SHOPIFY_PAYOUT = "shopify_payout", _("Shopify Payments payout")
    WOOCOMMERCE_STATEMENT = "woocommerce_statement", _("WooCommerce monthly statement")


class SettlementSource(models.TextChoices):
    API = "api", _("Channel API")
    UPLOAD = "upload", _("Uploaded file")
    BUILT = "built", _("Built by ACORN from orders and refunds")


class SettlementStatus(models.TextChoices):
    """Reconciled: lines add up to the total and every order settled what ACORN expected. Has differences:
    lines add up, but orders differ, are unknown to ACORN, or lines are unclassified. Unbalanced: the lines
    do not add up to the statement's total (shown, never silently fixed)."""

    RECONCILED = "reconciled", _("Reconciled")
    HAS_DIFFERENCES = "has_differences", _("Has differences")
    UNBALANCED = "unbalanced", _("Unbalanced")


class Settlement(TenantScopedModel):
    """One channel statement: what the channel paid into (or took from) the seller's bank for a period."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="settlements", verbose_name=_("store"))
    kind = models.CharField(_("kind"), max_length=30, choices=SettlementKind.choices)
    # Amazon's settlement-id, Shopify's payout id (numeric legacy id), "2026-11" for a WooCommerce month.
    external_id = models.CharField(_("statement id"), max_length=100)
    source = models.CharField(_("source"), max_length=20, choices=SettlementSource.choices)
    # What it came from: the report id, the payout's GraphQL id, or the uploaded file's name.
    source_reference = models.CharField(_("source reference"), max_length=255, blank=True)
    # sha256 of the document as received: the same file uploaded again is recognised without re-reading it.
    document_sha256 = models.CharField(max_length=64, blank=True)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"))
    deposit_date = models.DateTimeField(_("deposit date"), null=True, blank=True)
    # The vendor's own status where it has one (Shopify payouts: SCHEDULED, PAID, FAILED, CANCELED).
    vendor_status = models.CharField(_("channel status"), max_length=30, blank=True)
    total_amount = _amount(_("total"))  # the deposit as the channel states it (negative: charged to the seller)
    lines_amount = _amount(_("sum of lines"))
    status = models.CharField(
        _("status"), max_length=20, choices=SettlementStatus.choices, default=SettlementStatus.UNBALANCED
    )
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    unclassified_count = models.PositiveIntegerField(_("unclassified lines"), default=0)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    matched_order_count = models.PositiveIntegerField(_("orders matched"), default=0)
    unmatched_order_count = models.PositiveIntegerField(_("orders unknown to ACORN"), default=0)
    differing_order_count = models.PositiveIntegerField(_("orders with differences"), default=0)
    # Sum over orders of (settled - expected) for principal, shipping and promotions.
    difference_amount = _amount(_("difference"))
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    reconciled_at = models.DateTimeField(_("reconciled"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-period_end", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="settlement_unique_external_id_per_store"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="settlement_period"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-period_end", "-id"], name="settlement_list"),
            models.Index(fields=["tenant", "status", "-period_end"], name="settlement_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_id}"

    @property
    def total(self) -> Money:
        return Money(self.total_amount, self.currency).quantized()

    @property
    def lines_total(self) -> Money:
        return Money(self.lines_amount, self.currency).quantized()

    @property
    def balanced(self) -> bool:
        return self.lines_amount == self.total_amount

    @property
    def platform(self) -> str:
        return {
            SettlementKind.AMAZON_SETTLEMENT: Platform.AMAZON,
            SettlementKind.SHOPIFY_PAYOUT: Platform.SHOPIFY,
            SettlementKind.WOOCOMMERCE_STATEMENT: Platform.WOOCOMMERCE,
        }[SettlementKind(self.kind)]


class CategorySource(models.TextChoices):
    DEFAULT = "default", _("Default mapping")
    RULE = "rule", _("Company rule")
    DERIVED = "derived", _("Split from the order")


class SettlementLine(TenantScopedModel):
    """One row of a statement: a signed amount of one vendor type, on an order, a refund or the account."""

    settlement = models.ForeignKey(
        Settlement, on_delete=models.CASCADE, related_name="lines", verbose_name=_("settlement")
    )
    line_number = models.PositiveIntegerField(_("line"))  # the row in the vendor's document (1 = header)
    # The vendor's own type fields, kept exactly as received (Amazon: transaction-type, amount-type,
    # amount-description; Shopify: the balance transaction's type, "amount" or "fee", its adjustment reason).
    transaction_type = models.CharField(_("transaction type"), max_length=60, blank=True)
    amount_type = models.CharField(_("amount type"), max_length=60, blank=True)
    amount_description = models.CharField(_("description"), max_length=100, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, db_index=True)
    category_source = models.CharField(
        _("categorised by"), max_length=10, choices=CategorySource.choices, default=CategorySource.DEFAULT
    )
    rule = models.ForeignKey(
        "finance.CategoryRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lines",
        verbose_name=_("rule"),
    )
    amount = _amount(_("amount"))
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)
    # The channel's order id as printed in the statement; `order` is ACORN's copy when it has one.
    order_external_id = models.CharField(_("order id"), max_length=100, blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    refund = models.ForeignKey(
        Refund, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("refund")
    )
    # Amazon's adjustment-id (refunds, reimbursements), Shopify's balance transaction id.
    adjustment_id = models.CharField(_("adjustment id"), max_length=100, blank=True)
    shipment_id = models.CharField(_("shipment id"), max_length=100, blank=True)
    merchant_order_id = models.CharField(_("merchant order id"), max_length=100, blank=True)
    order_item_code = models.CharField(_("order item"), max_length=100, blank=True)
    sku = models.CharField(_("SKU"), max_length=200, blank=True)
    quantity = models.IntegerField(_("quantity"), null=True, blank=True)
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)  # ACORN's code ("DE"), if known
    marketplace_name = models.CharField(_("marketplace name"), max_length=60, blank=True)  # "Amazon.de" as printed
    fulfillment_id = models.CharField(_("fulfilment"), max_length=10, blank=True)  # Amazon: AFN / MFN

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["settlement", "line_number", "pk"]
        indexes = [
            models.Index(fields=["settlement", "category"], name="settlement_line_category"),
            models.Index(fields=["settlement", "order_external_id"], name="settlement_line_order"),
            models.Index(fields=["tenant", "order_external_id"], name="settlement_line_order_any"),
            models.Index(
                fields=["tenant", "transaction_type", "amount_type", "amount_description"],
                name="settlement_line_vendor_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.settlement_id}:{self.line_number} {self.vendor_type} {self.amount}"

    @property
    def vendor_type(self) -> str:
        return " / ".join(part for part in (self.transaction_type, self.amount_type, self.amount_description) if part)


class CategoryRule(TenantScopedModel):
    """A company's own mapping of a vendor type to a category; a blank field matches any value.

    Matched case-insensitively with the same fallbacks as the default mapping (finance.settlements.categories),
    before it.
    """

    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    transaction_type = models.CharField(_("transaction type"), max_length=60, blank=True)
    amount_type = models.CharField(_("amount type"), max_length=60, blank=True)
    amount_description = models.CharField(_("description"), max_length=100, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("category rule")
        verbose_name_plural = _("category rules")
        ordering = ["platform", "transaction_type", "amount_type", "amount_description"]
        constraints = [
            models.UniqueConstraint(
                models.F("tenant"),
                models.F("platform"),
                Lower("transaction_type"),
                Lower("amount_type"),
                Lower("amount_description"),
                name="category_rule_unique_type",
            ),
            models.CheckConstraint(
                condition=~Q(transaction_type="", amount_type="", amount_description=""),
                name="category_rule_names_a_type",
            ),
        ]

    def __str__(self) -> str:
        parts = (self.transaction_type or "*", self.amount_type or "*", self.amount_description or "*")
        return f"{self.platform}: {' / '.join(parts)} → {self.category}"


class DeferredTransaction(TenantScopedModel):
    """Money Amazon holds back (Finances 2024-06-19 `listTransactions`, transactionStatus DEFERRED): sold and
    known, not yet in any settlement. Shown as "pending with Amazon"; released ones leave the pending total."""

    class Status(models.TextChoices):
        DEFERRED = "DEFERRED", _("Pending with Amazon")
        RELEASED = "RELEASED", _("Released")
        DEFERRED_RELEASED = "DEFERRED_RELEASED", _("Released after deferral")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    transaction_id = models.CharField(_("transaction id"), max_length=200)
    transaction_type = models.CharField(_("transaction type"), max_length=60, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    description = models.CharField(_("description"), max_length=200, blank=True)
    order_external_id = models.CharField(_("order id"), max_length=100, blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)
    # When Amazon says it will release the money (maturity date / DD+7), where it says.
    releases_at = models.DateTimeField(_("releases"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    amount = _amount(_("amount"))
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("deferred transaction")
        verbose_name_plural = _("deferred transactions")
        ordering = ["-posted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["store", "transaction_id"], name="deferred_unique_transaction_per_store")
        ]
        indexes = [models.Index(fields=["tenant", "status", "store"], name="deferred_pending")]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.status} {self.amount} {self.currency}"


class SettlementUpload(TenantScopedModel):
    """A settlement file a person uploaded that is too large to import while they wait: kept on the shared
    storage until a worker has imported it (or said line and column of what is wrong), then removed."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Refused")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    document = models.FileField(_("file"), upload_to="settlement-uploads/%Y/%m/", blank=True)
    filename = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(_("error"), blank=True)
    error_line = models.PositiveIntegerField(_("line"), null=True, blank=True)
    error_column = models.CharField(_("column"), max_length=60, blank=True)
    settlement = models.ForeignKey(
        Settlement, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("settlement")
    )
    created = models.BooleanField(_("new settlement"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement upload")
        verbose_name_plural = _("settlement uploads")
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

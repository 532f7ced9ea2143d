"""The ledger: a tenant's chart of accounts, which account each settlement category goes to, and the
double-entry journals ACORN makes of channel statements.

* `Account` is an account as the seller's accounting system knows it: its name (QuickBooks matches on the
  name, `Parent:Sub` for a sub-account), its code (Xero matches on the code) and the tax rate Xero wants on
  every line. The default chart (finance.ledger.chart) is modelled on what A2X and Link My Books create.
* `AccountMapping` sends a `LedgerRole` (every settlement category, plus the bank / clearing account the
  deposit lands in, the carried-forward account between the parts of a settlement that crosses a month end,
  and suspense) to an account, per channel, optionally narrowed to one store and / or marketplace. A role
  nobody mapped goes to suspense: flagged, never dropped.
* `JournalEntry` / `JournalLine`: amounts are signed, debit positive and credit negative, in the entry's
  currency; every entry sums to zero, which finance.ledger.services.journal_write (the only writer of lines)
  guarantees. An exported or posted entry is locked: it never changes again; a later change becomes an
  adjustment entry in the first open period.
* `ClosedPeriod`: a month finance closed; it takes no new entries.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acorn.money import RATE_DECIMAL_PLACES, RATE_MAX_DIGITS, amount_field, validate_currency_code
from acorn.tenancy.models import TenantScopedModel
from channels.models import Platform, Store
from finance.settlements.models import Category, Settlement


class AccountType(models.TextChoices):
    REVENUE = "revenue", _("Revenue")
    OTHER_INCOME = "other_income", _("Other income")
    EXPENSE = "expense", _("Expense")
    CURRENT_ASSET = "current_asset", _("Current asset")
    BANK = "bank", _("Bank")
    CURRENT_LIABILITY = "current_liability", _("Current liability")


class LedgerRole(models.TextChoices):
    """What a mapping assigns an account to: each settlement category, and the journal's own accounts."""

    SALES = Category.SALES.value, Category.SALES.label
    SHIPPING_INCOME = Category.SHIPPING_INCOME.value, Category.SHIPPING_INCOME.label
    PROMOTIONS = Category.PROMOTIONS.value, Category.PROMOTIONS.label
    REFUNDS = Category.REFUNDS.value, Category.REFUNDS.label
    SELLER_FEES = Category.SELLER_FEES.value, Category.SELLER_FEES.label
    FBA_FEES = Category.FBA_FEES.value, Category.FBA_FEES.label
    STORAGE_FEES = Category.STORAGE_FEES.value, Category.STORAGE_FEES.label
    ADVERTISING = Category.ADVERTISING.value, Category.ADVERTISING.label
    REIMBURSEMENTS = Category.REIMBURSEMENTS.value, Category.REIMBURSEMENTS.label
    TAX_COLLECTED = Category.TAX_COLLECTED.value, Category.TAX_COLLECTED.label
    TAX_WITHHELD = Category.TAX_WITHHELD.value, Category.TAX_WITHHELD.label
    RESERVE = Category.RESERVE.value, Category.RESERVE.label
    UNCLASSIFIED = Category.UNCLASSIFIED.value, Category.UNCLASSIFIED.label
    BANK = "bank", _("Deposits (settlement bank / clearing)")
    CARRIED_FORWARD = "carried_forward", _("Carried-forward balance")
    SUSPENSE = "suspense", _("Suspense")


class Account(TenantScopedModel):
    """An account of the seller's chart, as the accounting system knows it."""

    # The default chart's stable key ("amazon_sales"); blank for an account a person added.
    key = models.CharField(_("key"), max_length=40, blank=True)
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=20, blank=True)
    account_type = models.CharField(_("type"), max_length=20, choices=AccountType.choices)
    # Xero wants a tax rate on every manual-journal line, by its full name ("Tax Exempt", "20% (VAT on Income)").
    tax_rate = models.CharField(_("tax rate"), max_length=60, blank=True, default="Tax Exempt")
    # The channel a default account belongs to ("" for shared accounts such as suspense).
    platform = models.CharField(_("channel"), max_length=20, choices=Platform.choices, blank=True)
    # QuickBooks Online's Account Id once the account is matched with the connected company's.
    quickbooks_id = models.CharField(_("QuickBooks account id"), max_length=40, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["platform", "code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="account_unique_name"),
            models.UniqueConstraint(fields=["tenant", "code"], condition=~Q(code=""), name="account_unique_code"),
            models.UniqueConstraint(fields=["tenant", "key"], condition=~Q(key=""), name="account_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class AccountMapping(TenantScopedModel):
    """Role → account for a channel, optionally only for one store and / or one marketplace. The most specific
    mapping wins: store and marketplace, store, marketplace, then the channel's."""

    role = models.CharField(_("role"), max_length=20, choices=LedgerRole.choices)
    platform = models.CharField(_("channel"), max_length=20, choices=Platform.choices)
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="mappings", verbose_name=_("account"))

    class Meta:
        verbose_name = _("account mapping")
        verbose_name_plural = _("account mappings")
        ordering = ["platform", "role", "store", "marketplace"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "role", "platform", "marketplace"],
                condition=Q(store__isnull=True),
                name="account_mapping_unique_channel",
            ),
            models.UniqueConstraint(
                fields=["tenant", "role", "platform", "store", "marketplace"],
                condition=Q(store__isnull=False),
                name="account_mapping_unique_store",
            ),
        ]

    def __str__(self) -> str:
        scope = "/".join(part for part in (self.platform, str(self.store_id or ""), self.marketplace) if part)
        return f"{self.role} @ {scope} → {self.account_id}"


class JournalSource(models.TextChoices):
    SETTLEMENT = "settlement", _("Amazon settlement")
    PAYOUT = "payout", _("Shopify Payments payout")
    STATEMENT = "statement", _("WooCommerce monthly statement")
    ADJUSTMENT = "adjustment", _("Adjustment")


class JournalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    EXPORTED = "exported", _("Exported")
    POSTED = "posted", _("Posted")


class JournalEntry(TenantScopedModel):
    """One balanced journal: a statement (or the part of one that falls in one month), or an adjustment."""

    # Stable and at most 21 characters (QuickBooks' Journal No.): "AMZ-12948507001-2", "SHP-…", "WOO-…", "ADJ-…".
    number = models.CharField(_("journal number"), max_length=21)
    date = models.DateField(_("date"))
    period = models.DateField(_("period"))  # the first day of the month the entry belongs to
    source = models.CharField(_("source"), max_length=20, choices=JournalSource.choices)
    settlement = models.ForeignKey(
        Settlement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journal_entries",
        verbose_name=_("statement"),
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    part = models.PositiveSmallIntegerField(_("part"), default=1)
    parts = models.PositiveSmallIntegerField(_("parts"), default=1)
    narration = models.CharField(_("narration"), max_length=255)
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency_code])
    # 1 unit of `currency` in the tenant's reporting currency on `rate_date` (acorn.fx); null when unknown.
    reporting_currency = models.CharField(_("reporting currency"), max_length=3, blank=True)
    exchange_rate = models.DecimalField(
        _("exchange rate"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES, null=True, blank=True
    )
    rate_date = models.DateField(_("rate date"), null=True, blank=True)
    rate_source = models.CharField(_("rate source"), max_length=40, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=JournalStatus.choices, default=JournalStatus.DRAFT)
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True)
    # An adjustment's reason, and the entries whose figures it corrects (the statement's, via `settlement`).
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # QuickBooks Online: the JournalEntry's Id once posted, and the last error it gave.
    external_id = models.CharField(_("QuickBooks id"), max_length=40, blank=True)
    post_attempts = models.PositiveSmallIntegerField(_("posting attempts"), default=0)
    post_error = models.TextField(_("posting error"), blank=True)
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    debit_amount = amount_field(_("debits"))  # the sum of the debit lines (= the credits)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["-date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="journal_unique_number"),
            models.CheckConstraint(condition=Q(part__gte=1, part__lte=models.F("parts")), name="journal_part"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(locked_at__isnull=False), name="journal_sent_is_locked"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "period", "status"], name="journal_period"),
            models.Index(fields=["tenant", "-date", "-id"], name="journal_list"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


class JournalLine(TenantScopedModel):
    """One line of a journal: a signed amount (debit positive, credit negative) on one account."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.CASCADE, related_name="lines", verbose_name=_("journal"))
    line_number = models.PositiveIntegerField(_("line"))
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("account"))
    role = models.CharField(_("role"), max_length=20, choices=LedgerRole.choices)
    amount = amount_field(_("amount"))
    description = models.CharField(_("description"), max_length=255, blank=True)
    # Tracking: QuickBooks Class / Location, Xero tracking options, IIF CLASS.
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("store")
    )
    marketplace = models.CharField(_("marketplace"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("journal line")
        verbose_name_plural = _("journal lines")
        ordering = ["entry", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "line_number"], name="journal_line_unique_number"),
            models.CheckConstraint(condition=~Q(amount=0), name="journal_line_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.line_number} {self.account_id} {self.amount}"

    @property
    def debit(self) -> Decimal | None:
        return self.amount if self.amount > 0 else None

    @property
    def credit(self) -> Decimal | None:
        return -self.amount if self.amount < 0 else None


class ClosedPeriod(TenantScopedModel):
    """A month finance closed: no new journal entries are dated in it."""

    month = models.DateField(_("month"))  # its first day
    closed_at = models.DateTimeField(_("closed"), default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )

    class Meta:
        verbose_name = _("closed period")
        verbose_name_plural = _("closed periods")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "month"], name="closed_period_unique_month"),
        ]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")

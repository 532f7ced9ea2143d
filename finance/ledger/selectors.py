"""Reads of the ledger for the console: the chart, the mappings per channel, journals (list, page, a
statement's) and the months with their journals and whether they are closed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.http import Http404

from acorn.tenancy.models import Tenant
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE
from channels.models import Platform
from finance.ledger.chart import chart_ensure
from finance.ledger.models import Account, AccountMapping, ClosedPeriod, JournalEntry, JournalLine, JournalStatus
from finance.settlements.models import Settlement
from finance.settlements.selectors import exact_sum


def account_list(*, tenant: Tenant, platform: str | None = None) -> QuerySet[Account]:
    """The tenant's chart (the default accounts created on first use), by channel, code and name."""
    chart_ensure(tenant=tenant)
    accounts = Account.objects.filter(tenant=tenant)
    if platform is not None:
        accounts = accounts.filter(platform=platform)
    return accounts.order_by("platform", "code", "name", "pk")


def account_get_or_404(*, tenant: Tenant, pk: int) -> Account:
    account = Account.objects.filter(tenant=tenant, pk=pk).first()
    if account is None:
        raise Http404
    return account


def account_name_taken(*, tenant: Tenant, name: str, exclude_pk: int | None = None) -> bool:
    """Another account of the tenant already has this name (compared without regard to case)."""
    accounts = Account.objects.filter(tenant=tenant, name__iexact=name.strip())
    return accounts.exclude(pk=exclude_pk).exists() if exclude_pk else accounts.exists()


def account_code_taken(*, tenant: Tenant, code: str, exclude_pk: int | None = None) -> bool:
    if not code:
        return False
    accounts = Account.objects.filter(tenant=tenant, code__iexact=code.strip())
    return accounts.exclude(pk=exclude_pk).exists() if exclude_pk else accounts.exists()


def account_in_locked_journals(*, tenant: Tenant, account: Account) -> bool:
    return JournalLine.objects.filter(tenant=tenant, account=account, entry__locked_at__isnull=False).exists()


def account_in_journals(*, tenant: Tenant, account: Account) -> bool:
    return JournalLine.objects.filter(tenant=tenant, account=account).exists()


def account_mapping_list(*, tenant: Tenant, platform: str) -> QuerySet[AccountMapping]:
    """The channel's mappings, channel-wide first, then per store and marketplace."""
    chart_ensure(tenant=tenant)
    return (
        AccountMapping.objects.filter(tenant=tenant, platform=platform)
        .select_related("account", "store")
        .order_by("role", "store__name", "marketplace", "pk")
    )


def account_ids_mapped(*, tenant: Tenant) -> set[int]:
    return set(AccountMapping.objects.filter(tenant=tenant).values_list("account_id", flat=True))


def mapping_marketplaces(*, tenant: Tenant, platform: str) -> list[str]:
    """The marketplace codes an override can name: Amazon's (the statements' lines carry these codes); a shop of
    one's own has no marketplaces, so its overrides are per store."""
    return sorted(AMAZON_MARKETPLACE_TABLE) if platform == Platform.AMAZON else []


def account_mapping_get_or_404(*, tenant: Tenant, pk: int) -> AccountMapping:
    mapping = AccountMapping.objects.filter(tenant=tenant, pk=pk).select_related("account", "store").first()
    if mapping is None:
        raise Http404
    return mapping


def account_mapping_platforms(*, tenant: Tenant, account: Account) -> list[str]:
    """The channels whose mappings send something to this account."""
    return sorted(set(AccountMapping.objects.filter(tenant=tenant, account=account).values_list("platform", flat=True)))


def journal_list(
    *,
    tenant: Tenant,
    period: date | None = None,
    status: str = "",
    store_id: int | None = None,
    source: str = "",
) -> QuerySet[JournalEntry]:
    """The tenant's journals, newest first, with their store and statement."""
    journals = JournalEntry.objects.filter(tenant=tenant).select_related("store", "settlement")
    if period is not None:
        journals = journals.filter(period=period.replace(day=1))
    if status:
        journals = journals.filter(status=status)
    if store_id:
        journals = journals.filter(store_id=store_id)
    if source:
        journals = journals.filter(source=source)
    return journals.order_by("-date", "-pk")


def journal_get_or_404(*, tenant: Tenant, pk: int) -> JournalEntry:
    entry = (
        JournalEntry.objects.filter(tenant=tenant, pk=pk)
        .select_related("store", "settlement", "settlement__store", "created_by")
        .first()
    )
    if entry is None:
        raise Http404
    return entry


def journal_lines(*, entry: JournalEntry) -> QuerySet[JournalLine]:
    return (
        JournalLine.objects.filter(tenant_id=entry.tenant_id, entry=entry)
        .select_related("account", "store")
        .order_by("line_number")
    )


def settlement_journal_list(*, settlement: Settlement) -> QuerySet[JournalEntry]:
    """A statement's journals: its parts in order, then its adjustments."""
    return JournalEntry.objects.filter(tenant_id=settlement.tenant_id, settlement=settlement).order_by(
        "date", "source", "part", "pk"
    )


def settlements_with_journals(*, tenant: Tenant, platform: str, store_id: int | None = None) -> QuerySet[Settlement]:
    """The channel's statements (one store's, when given) that already have journals, oldest first."""
    settlements = Settlement.objects.filter(tenant=tenant, store__platform=platform, journal_entries__isnull=False)
    if store_id is not None:
        settlements = settlements.filter(store_id=store_id)
    return settlements.select_related("store", "tenant").distinct().order_by("period_end", "pk")


@dataclass
class PeriodRow:
    """One month of the ledger: its journals by status, debits per currency, and whether it is closed."""

    month: date
    journals: int = 0
    drafts: int = 0
    locked: int = 0
    debits: dict[str, Decimal] = field(default_factory=dict)
    closed: ClosedPeriod | None = None

    @property
    def is_closed(self) -> bool:
        return self.closed is not None

    @property
    def debit_totals(self) -> list[tuple[str, Decimal]]:
        return sorted(self.debits.items())


def period_rows(*, tenant: Tenant, today: date) -> list[PeriodRow]:
    """Every month that has journals or is closed, and the current one; newest first."""
    rows: dict[date, PeriodRow] = {}

    def row(month: date) -> PeriodRow:
        if month not in rows:
            rows[month] = PeriodRow(month=month)
        return rows[month]

    counts = (
        JournalEntry.objects.filter(tenant=tenant)
        .values("period", "currency", "status")
        .annotate(journals=Count("pk"), debits=Sum("debit_amount"))
        .order_by()
    )
    for item in counts:
        current = row(item["period"])
        current.journals += item["journals"]
        if item["status"] == JournalStatus.DRAFT:
            current.drafts += item["journals"]
        else:
            current.locked += item["journals"]
        currency = item["currency"]
        current.debits[currency] = current.debits.get(currency, Decimal(0)) + exact_sum(item["debits"])
    for closed in ClosedPeriod.objects.filter(tenant=tenant).select_related("closed_by"):
        row(closed.month).closed = closed
    row(today.replace(day=1))
    return [rows[month] for month in sorted(rows, reverse=True)]


def period_closed_get(*, tenant: Tenant, month: date) -> ClosedPeriod | None:
    return ClosedPeriod.objects.filter(tenant=tenant, month=month.replace(day=1)).select_related("closed_by").first()

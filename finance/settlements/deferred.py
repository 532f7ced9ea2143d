"""Deferred money: what Amazon holds back (Finances 2024-06-19 `listTransactions`, transactionStatus DEFERRED)
until a delivery date has passed (DD+7) or an invoiced business order is paid (B2B). Such money is in no
settlement until released, so ACORN shows it as "pending with Amazon".

The "deferred_money" job (finance permission, channels that read financial transactions) keeps one
DeferredTransaction per deferred transaction: created while DEFERRED, updated in place when Amazon reports it
released (DEFERRED_RELEASED, or RELEASED), never duplicated. A transaction keeps its posting time when it is
released, so each pass reads back from the oldest transaction still pending (else its release would never be
seen), and the window it chose rides in the page token. Transactions never deferred are not kept.

`deferred_money(tenant=…, store_id=…)` is the read the console shows: per store and currency, the total
pending and the amount per order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_noop

from acorn.money import quantize_amount
from acorn.tenancy.models import Tenant
from channels.adapters.base import (
    Capability,
    ChannelAdapter,
    FinancialTransaction,
    FinancialTransactionReading,
    Page,
)
from channels.models import DataPermission, Store
from channels.sync import PersistCounts, SyncJob
from finance.profit.estimates import order_fee_estimates_record
from finance.settlements.models import DeferredTransaction
from orders.models import Order

DEFERRED_MONEY_RESOURCE = "deferred_money"
DEFERRED_MONEY_INTERVAL = timedelta(hours=6)
# Finances 2024-06-19 refuses a posting time less than two minutes old (a minute more for clock skew) and a
# window longer than 180 days.
SETTLE_DELAY = timedelta(minutes=3)
MAX_WINDOW = timedelta(days=179)
KEPT_STATUSES = (DeferredTransaction.Status.DEFERRED, DeferredTransaction.Status.DEFERRED_RELEASED)


@dataclass(frozen=True)
class FetchedTransaction:
    transaction: FinancialTransaction

    @property
    def updated_at(self) -> datetime:
        return self.transaction.posted_at


def _oldest_pending(store: Store) -> datetime | None:
    found = DeferredTransaction.objects.filter(store=store, status=DeferredTransaction.Status.DEFERRED).aggregate(
        oldest=Min("posted_at")
    )
    oldest: datetime | None = found["oldest"]
    return oldest


def fetch_deferred_transactions(
    adapter: ChannelAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[FetchedTransaction]:
    """One page of the store's transactions, read back from the oldest one still pending."""
    reading = adapter.require(FinancialTransactionReading)
    state = json.loads(page_token) if page_token else {}
    if state:
        after, before = datetime.fromisoformat(state["a"]), datetime.fromisoformat(state["b"])
    else:
        before = window_end or max(timezone.now() - SETTLE_DELAY, window_start + timedelta(seconds=1))
        oldest = _oldest_pending(adapter.store)
        after = min(window_start, oldest - timedelta(seconds=1)) if oldest is not None else window_start
        after = max(after, before - MAX_WINDOW)
    page = reading.fetch_financial_transactions(posted_after=after, posted_before=before, page_token=state.get("t"))
    following = (
        json.dumps({"a": after.isoformat(), "b": before.isoformat(), "t": page.next_token}) if page.next_token else None
    )
    return Page(
        items=tuple(FetchedTransaction(transaction) for transaction in page.items),
        bad_records=page.bad_records,
        next_token=following,
        window_end=before,
        rate_limit=page.rate_limit,
    )


def deferred_transactions_persist(store: Store, items: Sequence[FetchedTransaction]) -> PersistCounts:
    """Keep the deferred ones current: a new deferred transaction is created, a known one updated in place
    when its status (release) changes; transactions never deferred are skipped."""
    created = updated = skipped = 0
    now = timezone.now()
    order_fee_estimates_record(store=store, transactions=[item.transaction for item in items])  # the P&L's fees
    for item in items:
        transaction = item.transaction
        existing = DeferredTransaction.objects.filter(store=store, transaction_id=transaction.external_id).first()
        if existing is None and transaction.status not in KEPT_STATUSES:
            skipped += 1
            continue
        status = transaction.status if transaction.status in DeferredTransaction.Status.values else ""
        if existing is not None:
            if not status or existing.status == status:
                skipped += 1
                continue
            existing.status = status
            existing.releases_at = transaction.releases_at or existing.releases_at
            existing.updated_at = now
            existing.save(update_fields=["status", "releases_at", "updated_at"])
            updated += 1
            continue
        order_id = (
            Order.objects.filter(store=store, external_id=transaction.order_id).values_list("pk", flat=True).first()
            if transaction.order_id
            else None
        )
        row = DeferredTransaction(
            tenant_id=store.tenant_id,
            store=store,
            transaction_id=transaction.external_id,
            transaction_type=transaction.transaction_type[:60],
            status=status,
            description=transaction.deferral_reason[:200],
            order_external_id=transaction.order_id[:100],
            order_id=order_id,
            marketplace=transaction.marketplace[:20],
            posted_at=transaction.posted_at,
            releases_at=transaction.releases_at,
            currency=transaction.currency,
            amount=quantize_amount(transaction.total_amount, transaction.currency),
            updated_at=now,
        )
        row.full_clean(exclude=["tenant", "store", "order"])
        row.save()
        created += 1
    return PersistCounts(created=created, updated=updated, skipped=skipped)


def deferred_money_sync_job() -> SyncJob:
    return SyncJob(
        resource=DEFERRED_MONEY_RESOURCE,
        label=gettext_noop("Money not yet released"),
        permission=DataPermission.FINANCE,
        capability=Capability.READ_FINANCIAL_TRANSACTIONS,
        interval=DEFERRED_MONEY_INTERVAL,
        fetch=fetch_deferred_transactions,
        persist=deferred_transactions_persist,
    )


# --- reads ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingOrder:
    order_external_id: str  # "" for money Amazon holds that belongs to no order
    order_id: int | None  # ACORN's order, when imported
    amount: Decimal
    releases_at: datetime | None


@dataclass(frozen=True)
class PendingMoney:
    """Money a store's channel holds back, in one currency: the total and what each order contributes."""

    store_id: int
    store_name: str
    currency: str
    total: Decimal
    orders: list[PendingOrder] = field(default_factory=list)


def deferred_money(*, tenant: Tenant, store_id: int | None = None) -> list[PendingMoney]:
    """Per store and currency, the total still pending with the channel and the amount per order (largest
    first), from the deferred transactions not yet released. Only the tenant's stores."""
    rows = DeferredTransaction.objects.filter(tenant=tenant, status=DeferredTransaction.Status.DEFERRED).select_related(
        "store"
    )
    if store_id is not None:
        rows = rows.filter(store_id=store_id)
    groups: dict[tuple[int, str], PendingMoney] = {}
    per_order: dict[tuple[int, str], dict[str, PendingOrder]] = {}
    for row in rows.order_by("store_id", "currency", "posted_at", "pk"):
        key = (row.store_id, row.currency)
        group = groups.get(key)
        if group is None:
            group = groups[key] = PendingMoney(row.store_id, row.store.name, row.currency, Decimal(0))
            per_order[key] = {}
        groups[key] = PendingMoney(group.store_id, group.store_name, group.currency, group.total + row.amount)
        orders = per_order[key]
        known = orders.get(row.order_external_id)
        releases = row.releases_at
        if known is not None:
            amount = known.amount + row.amount
            if known.releases_at and (releases is None or known.releases_at > releases):
                releases = known.releases_at
        else:
            amount = row.amount
        orders[row.order_external_id] = PendingOrder(row.order_external_id, row.order_id, amount, releases)
    return [
        PendingMoney(
            group.store_id,
            group.store_name,
            group.currency,
            quantize_amount(group.total, group.currency),
            sorted(per_order[key].values(), key=lambda order: (-order.amount, order.order_external_id)),
        )
        for key, group in sorted(groups.items(), key=lambda entry: (entry[1].store_name, entry[0]))
    ]

"""Shopify Payments payouts as statements: one `Settlement` (kind SHOPIFY_PAYOUT) per PAID payout.

A payout (`ShopifyPaymentsPayout`) is what reached the seller's bank; its lines are the balance transactions
it pays out (`ShopifyPaymentsBalanceTransaction`: `net = amount - fee`). Each transaction becomes two lines,
its gross (`amount_type` "amount") and its processing fee (`amount_type` "fee", negated, only when there is
one), with the vendor's `type` kept raw as the transaction type and its `adjustmentReason` as the
description, the balance transaction's id as the adjustment id and its associated order's numeric id as the
order id (ACORN keeps Shopify orders under `legacyResourceId`, so lines link to ACORN's orders by it).

Categories (the default mapping below): a CHARGE's gross is `sales`, every fee and chargeback fee is
`seller_fees`, a REFUND (and a chargeback's DISPUTE_WITHDRAWAL, money given back through the buyer's bank)
is `refunds`, reserves (RESERVED_FUNDS…, RISK_…) and failed or returned transfers are `reserve`, an
ADJUSTMENT (Shopify's glossary: mostly fees corrected or returned) is `seller_fees`. A type the mapping does
not know (Shopify has over a hundred: Capital, Shop Cash, Collective…) stays `unclassified`, flagged for a
company rule, never dropped.

Tax: a charge is what the buyer paid, tax and shipping inside; a payout does not itemise them, so by default
the gross stays whole in `sales` (as the bank saw it). Where a charge paid a linked ACORN order, the
order says how much of it was shipping and tax (as A2X splits a payout's sales by its orders): shipping is
split off into a `shipping_income` line and tax charged on top of the prices into a `tax_collected` line
(category source "derived"); the rest stays `sales` and the payout's total is unchanged. Tax inside the
prices (a taxes-included shop) stays inside `sales`, as those orders price it and as the reconciliation
expects it (like Amazon's EU settlements). An order paid by several charges (split payments, a later
capture) gives each charge its share of the shipping and tax by what was paid before it, so the parts add
up to the order's exactly (`split_share`).

Which payouts, and idempotency: only PAID payouts are imported. A SCHEDULED one may still fail (its money
then goes back to the balance and is paid again in a later payout as a retried payout), and a FAILED or
CANCELED one never reached the bank, so none of them is a statement of money received. The listing looks
back `PAYOUT_LOOKBACK` before the sync window, so a payout that was SCHEDULED at one sync is imported by a
later one once PAID. A PAID payout is final (its transactions were fixed when it was issued): it is imported
once, keyed on (store, payout id), and never rewritten. A payout whose lines do not add up to its net is
imported as it is and shows `unbalanced`: shown, never fixed. A payout with a balance transaction that
cannot be read is not imported (the record is quarantined; the next sync tries again): all or nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from acorn.money import quantize_amount
from channels.adapters.base import (
    BadRecord,
    Capability,
    ChannelAdapter,
    Page,
    Payout,
    PayoutLine,
    PayoutListing,
    SettlementHeader,
)
from channels.adapters.base import SettlementLine as LineRecord
from channels.models import Platform, Store
from channels.sync import PersistCounts
from finance.settlements.categories import ANY, Key, register_default_mapping
from finance.settlements.models import (
    Category,
    CategorySource,
    Settlement,
    SettlementKind,
    SettlementLine,
    SettlementSource,
)
from finance.settlements.services import ImportResult, settlement_import
from finance.settlements.sync import StatementSource, register_statement_source
from refunds.models import Refund

PAID = "PAID"
# How long a Shopify payout may stay SCHEDULED before it is PAID (a few business days), with margin: every
# sync lists this much further back than its window, so no payout is missed while it was not yet paid.
PAYOUT_LOOKBACK = timedelta(days=10)
AMOUNT = "amount"
FEE = "fee"
CHARGE = "CHARGE"
REFUND = "REFUND"


def _mapping() -> dict[Key, str]:
    table: dict[Key, str] = {(ANY, FEE, ANY): Category.SELLER_FEES}
    by_category = {
        Category.SALES: ("charge", "charge_adjustment"),
        Category.REFUNDS: (
            "refund",
            "refund_adjustment",
            "refund_failure",
            "dispute_withdrawal",
            "dispute_reversal",
            "chargeback_hold",
            "chargeback_hold_release",
        ),
        Category.SELLER_FEES: ("adjustment", "chargeback_fee", "chargeback_fee_refund", "stripe_fee"),
        Category.RESERVE: (
            "reserved_funds",
            "reserved_funds_reversal",
            "reserved_funds_withdrawal",
            "risk_withdrawal",
            "risk_reversal",
            "transfer_failure",
            "transfer_cancel",
            "transfer_refund",
        ),
    }
    for category, types in by_category.items():
        for kind in types:
            table[(kind, AMOUNT, ANY)] = category
    return table


SHOPIFY_DEFAULT_MAPPING = _mapping()


@dataclass(frozen=True)
class PayoutStatement:
    """A payout as listed, with the balance transactions it pays out (read only for payouts to import)."""

    payout: Payout
    lines: tuple[PayoutLine, ...] = ()
    read: bool = False  # the lines were read, every one of them
    bad_records: tuple[BadRecord, ...] = field(default=(), compare=False)

    @property
    def updated_at(self) -> datetime:
        return self.payout.issued_at

    @property
    def importable(self) -> bool:
        return self.payout.status == PAID and self.read


def _payout_lines(listing: PayoutListing, payout_id: str) -> tuple[list[PayoutLine], list[BadRecord]]:
    lines: list[PayoutLine] = []
    bad: list[BadRecord] = []
    token: str | None = None
    while True:
        page = listing.fetch_payout_lines(payout_id=payout_id, page_token=token)
        lines.extend(page.items)
        bad.extend(page.bad_records)
        if not page.next_token:
            return lines, bad
        token = page.next_token


def _payout_json(payout: Payout) -> dict[str, str]:
    return {
        "id": payout.external_id,
        "status": payout.status,
        "issued_at": payout.issued_at.isoformat(),
        "currency": payout.currency,
        "net": str(payout.net_amount),
        "type": payout.transaction_type,
    }


def _payout_from_json(data: dict[str, str]) -> Payout:
    return Payout(
        external_id=data["id"],
        status=data["status"],
        issued_at=datetime.fromisoformat(data["issued_at"]),
        currency=data["currency"],
        net_amount=Decimal(data["net"]),
        transaction_type=data.get("type", ""),
    )


def _token(after: str | None, more: bool, pending: list[dict[str, str]]) -> str | None:
    if not more and not pending:
        return None
    return json.dumps({"after": after, "more": more, "pending": pending}, separators=(",", ":"))


def payouts_fetch(
    adapter: ChannelAdapter, window_start: datetime, window_end: datetime | None, page_token: str | None
) -> Page[PayoutStatement]:
    """One step of reading the payouts issued since the window opened (looking back PAYOUT_LOOKBACK).

    A step makes one listing call, or reads the balance transactions of one payout (one call, more only for a
    payout of over BALANCE_PAGE_SIZE transactions): the engine retries a step whole, so a step must stay small
    for a retried call not to repeat others. The page token carries the listing's cursor and the PAID payouts
    of the last listed page still to read (as JSON)."""
    listing = adapter.require(PayoutListing)
    state = json.loads(page_token) if page_token else {"after": None, "more": True, "pending": []}
    pending: list[dict[str, str]] = list(state["pending"])
    if pending:
        payout = _payout_from_json(pending.pop(0))
        lines, unreadable = _payout_lines(listing, payout.external_id)
        statement = PayoutStatement(
            payout=payout, lines=tuple(lines), read=not unreadable, bad_records=tuple(unreadable)
        )
        return Page(
            items=(statement,),
            bad_records=tuple(unreadable),
            next_token=_token(state["after"], state["more"], pending),
        )
    page = listing.list_payouts(issued_after=window_start - PAYOUT_LOOKBACK, page_token=state["after"])
    ids = [payout.external_id for payout in page.items if payout.status == PAID]
    imported = set(
        Settlement.objects.filter(
            store=adapter.store, kind=SettlementKind.SHOPIFY_PAYOUT, external_id__in=ids
        ).values_list("external_id", flat=True)
    )
    listed: list[PayoutStatement] = []
    for payout in page.items:
        if payout.status == PAID and payout.external_id not in imported:
            pending.append(_payout_json(payout))
        else:
            listed.append(PayoutStatement(payout=payout))  # not final, or already imported: nothing to read
    return Page(
        items=tuple(listed),
        bad_records=page.bad_records,
        next_token=_token(page.next_token, bool(page.next_token), pending),
        rate_limit=page.rate_limit,
    )


def payout_header(payout: Payout, lines: Sequence[PayoutLine]) -> SettlementHeader:
    """The statement's header: the payout's id, net and status; its period runs from its oldest transaction to
    its issue (the deposit date Shopify gives)."""
    times = [line.posted_at for line in lines]
    return SettlementHeader(
        settlement_id=payout.external_id,
        start=min([*times, payout.issued_at]),
        end=max([*times, payout.issued_at]),
        deposit_date=payout.issued_at,
        currency=payout.currency,
        total_amount=payout.net_amount,
        vendor_status=payout.status,
    )


def payout_line_records(lines: Sequence[PayoutLine]) -> Iterator[LineRecord]:
    """Each balance transaction as its gross line and, when it has one, its fee line (negative)."""
    number = 0
    for line in lines:
        parts: list[tuple[str, Decimal]] = [(AMOUNT, line.amount)]
        if line.fee:
            parts.append((FEE, -line.fee))
        for amount_type, amount in parts:
            number += 1
            yield LineRecord(
                line_number=number,
                transaction_type=line.transaction_type,
                amount_type=amount_type,
                amount_description=line.adjustment_reason,
                amount=amount,
                order_id=line.order_id,
                adjustment_id=line.external_id,
                posted_at=line.posted_at,
            )


def split_share(whole: Decimal, total: Decimal, before: Decimal, charge: Decimal, currency: str) -> Decimal:
    """The part of `whole` (an order's shipping or tax) a charge carries: the rounded share of everything paid
    up to and including this charge, less the rounded share of what was paid before it. The shares of an
    order's charges, in the order they were made, add up to `whole` exactly once they add up to `total`."""
    if total <= 0:
        return Decimal(0)
    upto = quantize_amount(whole * min(before + charge, total) / total, currency)
    earlier = quantize_amount(whole * min(before, total) / total, currency)
    return upto - earlier


def _split_charges(settlement: Settlement) -> None:
    """The shipping of a charge's linked order, and its tax when charged on top of the prices, split off into
    derived lines (the charge's own line keeps the rest: its total is unchanged). An order paid by one charge
    gives it all; an order paid by several gives each its share (split_share) by the charges made before it
    that the store's statements hold."""
    charges = list(
        SettlementLine.objects.filter(
            settlement=settlement, transaction_type=CHARGE, amount_type=AMOUNT, order__isnull=False
        )
        .select_related("order")
        .order_by("posted_at", "adjustment_id", "line_number")
    )
    number = settlement.lines.order_by("-line_number").values_list("line_number", flat=True).first() or 0
    # What each of the order's charges paid (a derived line and what is left of its charge add up to the
    # charge), keyed by its balance transaction, with when it was made.
    made: dict[int, dict[str, tuple[Any, Decimal]]] = defaultdict(dict)
    for order_id, key, posted_at, amount in SettlementLine.objects.filter(
        tenant_id=settlement.tenant_id,
        settlement__store_id=settlement.store_id,
        order_id__in={line.order_id for line in charges},
        transaction_type=CHARGE,
        amount_type=AMOUNT,
    ).values_list("order_id", "adjustment_id", "posted_at", "amount"):
        when, so_far = made[order_id].get(key, (posted_at, Decimal(0)))
        made[order_id][key] = (when, so_far + amount)
    derived: list[SettlementLine] = []
    for line in charges:
        order = line.order
        if order is None or order.currency != settlement.currency or order.total_amount <= 0:
            continue
        mine = (line.posted_at, line.adjustment_id)
        before = sum(
            (
                amount
                for key, (when, amount) in made[order.pk].items()
                if key != line.adjustment_id and (when, key) < mine
            ),
            Decimal(0),
        )
        parts = [(Category.SHIPPING_INCOME, "shipping", order.shipping_amount)]
        if not order.taxes_included:  # tax inside the prices stays inside sales, as the order priced it
            parts.append((Category.TAX_COLLECTED, "tax", order.tax_amount))
        charge = line.amount
        for category, description, whole in parts:
            amount = split_share(whole, order.total_amount, before, charge, settlement.currency)
            if not amount:
                continue
            number += 1
            line.amount -= amount
            derived.append(
                SettlementLine(
                    tenant_id=settlement.tenant_id,
                    settlement=settlement,
                    line_number=number,
                    transaction_type=line.transaction_type,
                    amount_type=line.amount_type,
                    amount_description=description,
                    category=category,
                    category_source=CategorySource.DERIVED,
                    amount=amount,
                    posted_at=line.posted_at,
                    order_external_id=line.order_external_id,
                    order=order,
                    adjustment_id=line.adjustment_id,
                )
            )
        line.save(update_fields=["amount"])
    SettlementLine.objects.bulk_create(derived)


def _link_refunds(settlement: Settlement) -> None:
    """A REFUND line links to ACORN's refund of the same order for the same amount, when exactly one fits."""
    lines = SettlementLine.objects.filter(
        settlement=settlement, transaction_type=REFUND, amount_type=AMOUNT, order__isnull=False
    )
    for line in lines:
        candidates = list(
            Refund.objects.filter(
                store_id=settlement.store_id, order_id=line.order_id, currency=settlement.currency
            ).filter(amount__in=(line.amount, -line.amount))[:2]
        )
        if len(candidates) == 1:
            line.refund = candidates[0]
            line.save(update_fields=["refund"])


def _after_lines(settlement: Settlement) -> None:
    _split_charges(settlement)
    _link_refunds(settlement)


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def payouts_persist(store: Store, statements: Sequence[Any]) -> PersistCounts:
    """Import each PAID payout read whole (idempotent on the payout id), oldest first so that an order paid by
    several charges finds the earlier ones; the others are skipped."""
    created = skipped = 0
    ordered = sorted(
        statements, key=lambda item: item.payout.issued_at if isinstance(item, PayoutStatement) else _EARLIEST
    )
    for statement in ordered:
        if not isinstance(statement, PayoutStatement) or not statement.importable:
            skipped += 1
            continue
        result = payout_import(store=store, payout=statement.payout, lines=statement.lines)
        if result.created:
            created += 1
        else:
            skipped += 1
    return PersistCounts(created=created, skipped=skipped)


def payout_import(*, store: Store, payout: Payout, lines: Sequence[PayoutLine]) -> ImportResult:
    """Import one payout with its balance transactions as a statement; an ImportResult (created=False when the
    store already has it). Writes in one transaction (settlement_import)."""
    return settlement_import(
        store=store,
        kind=SettlementKind.SHOPIFY_PAYOUT,
        source=SettlementSource.API,
        header=payout_header(payout, lines),
        lines=payout_line_records(lines),
        source_reference=f"gid://shopify/ShopifyPaymentsPayout/{payout.external_id}",
        after_lines=_after_lines,
    )


SHOPIFY_PAYOUTS_SOURCE = StatementSource(
    capability=Capability.LIST_PAYOUTS, fetch=payouts_fetch, persist=payouts_persist
)


def register() -> None:
    """From finance's AppConfig.ready(), before the settlements job: Shopify's mapping and payouts source."""
    register_default_mapping(Platform.SHOPIFY, SHOPIFY_DEFAULT_MAPPING)
    register_statement_source(SHOPIFY_PAYOUTS_SOURCE)

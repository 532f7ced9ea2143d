"""Money movements derived from the world's orders: one financial event per shipment and per refund,
grouped into fortnightly settlements. The Finances APIs (v0 and 2024-06-19) and the settlement report read
the same events, so a settlement's total always equals the sum of its events.

Per shipped line: ItemPrice (principal, shipping, tax), Promotion (negative), ItemFees (referral
commission, FBA fee per unit: negative) and, where Amazon is the marketplace facilitator, the tax it
withholds (negative). Merchant-fulfilled shipments are deferred seven days (DD7); FBA ones are released.

Per refunded line: ItemPrice negative (what the buyer gets back), the promotion share taken back
(positive), the referral commission given back (positive) less Amazon's refund administration fee
(``RefundCommission``: 20 % of that commission, at most USD 5.00 converted), and the withheld tax given
back (positive). FBA fees are not refunded. Refunds are never deferred.

A deferred event enters the settlement of the period in which it is released, not the one it was posted in
(Amazon: deferred transactions do not appear in settlement reports until released).

Besides its orders' events a settlement carries the account-level money real ones do (`AccountRow`, the
exact strings of the settlement V2 taxonomy): advertising (``ServiceFee / Cost of Advertising /
TransactionTotalAmount``), storage and subscription fees (``other-transaction / other-transaction / Storage
Fee``, ``… / Subscription Fee``), FBA inventory reimbursements (``other-transaction / FBA Inventory
Reimbursement / WAREHOUSE_DAMAGE`` …), the reserve Amazon holds back (``Current Reserve Amount``, negative)
and releases next time (``Previous Reserve Amount Balance``, positive), and one type no published list knows
(`UNKNOWN_DESCRIPTION`, standing in for the values Amazon adds without notice). Every few periods the
advertising charge exceeds the sales, so the settlement is negative. These rows are in the settlement report
only (listTransactions serves the order and refund events). Each row knows what it is: `category` names it in
the issue's vocabulary, so the truth per settlement (`Settlement.category_totals`) is computed from what was
generated, never by classifying strings.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from simulator.aftersales import order_after_sales
from simulator.catalogue import (
    FBA_FEE_PER_UNIT_USD,
    REFERRAL_FEE_RATE,
    TAX_COLLECTORS,
    convert_usd,
    quantize,
)
from simulator.model import AMAZON, Order, OrderLine, Refund, RefundItem, Shipment
from simulator.returns_data import REFUND_ADMIN_FEE_CAP_USD, REFUND_ADMIN_FEE_RATE

POSTING_DELAY = timedelta(minutes=30)
DEFERRAL_PERIOD = timedelta(days=7)
SETTLEMENT_PERIOD = timedelta(days=14)
SETTLEMENT_EPOCH = datetime(2020, 1, 6, tzinfo=UTC)  # a Monday; settlements run Monday to Monday
SETTLEMENT_REPORT_DELAY = timedelta(hours=6)
SHIPMENT = "Shipment"
REFUND = "Refund"


@dataclass(frozen=True)
class ChargeLine:
    """One amount of one shipped or refunded item: `group` / `kind` as the settlement report names them."""

    group: str  # ItemPrice, Promotion, ItemFees, ItemWithheldTax
    kind: str  # Principal, Shipping, Tax, Commission, FBAPerUnitFulfillmentFee, RefundCommission, ...
    amount: Decimal


# What each amount of an order or a refund is, in the category vocabulary: (refund?, group, kind).
_CHARGE_CATEGORIES = {
    (False, "ItemPrice", "Principal"): "sales",
    (False, "ItemPrice", "Shipping"): "shipping_income",
    (False, "ItemPrice", "Tax"): "tax_collected",
    (False, "Promotion", "Principal"): "promotions",
    (False, "ItemFees", "Commission"): "seller_fees",
    (False, "ItemFees", "FBAPerUnitFulfillmentFee"): "fba_fees",
    (False, "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"): "tax_withheld",
    (True, "ItemPrice", "Principal"): "refunds",
    (True, "ItemPrice", "Shipping"): "refunds",
    (True, "ItemPrice", "Tax"): "tax_collected",
    (True, "Promotion", "Principal"): "refunds",
    (True, "ItemFees", "Commission"): "seller_fees",
    (True, "ItemFees", "RefundCommission"): "seller_fees",
    (True, "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"): "tax_withheld",
}


def charge_category(charge: ChargeLine, *, refund: bool) -> str:
    """What the simulator generated this amount as (KeyError for an amount it never generates)."""
    return _CHARGE_CATEGORIES[(refund, charge.group, charge.kind)]


@dataclass(frozen=True)
class ShippedItem:
    """One line of a financial event: shipped units, or refunded units with their adjustment ids."""

    line: OrderLine
    quantity: int
    charges: tuple[ChargeLine, ...]
    adjustment_item_id: str = ""  # refunds: Amazon's OrderAdjustmentItemId
    merchant_adjustment_item_id: str = ""  # refunds sent in a feed: the seller's MerchantAdjustmentItemID

    @property
    def total(self) -> Decimal:
        return sum((charge.amount for charge in self.charges), Decimal(0))


@dataclass(frozen=True)
class FinancialEvent:
    """Money Amazon owes the seller for one shipment (positive), or takes back for one refund (negative)."""

    transaction_id: str
    order: Order
    posted: datetime
    items: tuple[ShippedItem, ...]
    deferred_until: datetime | None
    kind: str = SHIPMENT
    shipment: Shipment | None = None
    refund: Refund | None = None

    @property
    def currency(self) -> str:
        return self.order.currency

    @property
    def total(self) -> Decimal:
        return sum((item.total for item in self.items), Decimal(0))

    def status_at(self, moment: datetime) -> str:
        """Finances 2024-06-19 transactionStatus at the moment."""
        if self.deferred_until is None:
            return "RELEASED"
        return "DEFERRED" if moment < self.deferred_until else "DEFERRED_RELEASED"

    @property
    def settlement_index(self) -> int:
        """The settlement period it is paid in: when it was posted, or, deferred, when it is released."""
        return settlement_index(self.deferred_until or self.posted)


def settlement_index(moment: datetime) -> int:
    return int((moment - SETTLEMENT_EPOCH) / SETTLEMENT_PERIOD)


def _charges(order: Order, line: OrderLine) -> tuple[ChargeLine, ...]:
    currency = order.currency
    charges = [ChargeLine("ItemPrice", "Principal", line.item_amount)]
    if line.shipping:
        charges.append(ChargeLine("ItemPrice", "Shipping", line.shipping))
    if line.tax:
        charges.append(ChargeLine("ItemPrice", "Tax", line.tax))
    if line.discount:
        charges.append(ChargeLine("Promotion", "Principal", -line.discount))
    commission = quantize((line.item_amount - line.discount) * REFERRAL_FEE_RATE, currency)
    charges.append(ChargeLine("ItemFees", "Commission", -commission))
    if order.fulfilled_by == AMAZON:
        charges.append(
            ChargeLine(
                "ItemFees", "FBAPerUnitFulfillmentFee", -convert_usd(FBA_FEE_PER_UNIT_USD, currency) * line.quantity
            )
        )
    if line.tax and order.marketplace.code in TAX_COLLECTORS:
        charges.append(ChargeLine("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -line.tax))
    return tuple(charges)


def refund_charges(order: Order, item: RefundItem) -> tuple[ChargeLine, ...]:
    """The signed amounts of one refunded line, as the settlement report and the Finances APIs show them."""
    currency = order.currency
    charges = [ChargeLine("ItemPrice", "Principal", -item.principal)]
    if item.shipping:
        charges.append(ChargeLine("ItemPrice", "Shipping", -item.shipping))
    if item.tax:
        charges.append(ChargeLine("ItemPrice", "Tax", -item.tax))
    if item.promotion:
        charges.append(ChargeLine("Promotion", "Principal", item.promotion))
    commission = quantize((item.principal - item.promotion) * REFERRAL_FEE_RATE, currency)
    if commission:
        charges.append(ChargeLine("ItemFees", "Commission", commission))
        admin_fee = min(
            quantize(commission * REFUND_ADMIN_FEE_RATE, currency), convert_usd(REFUND_ADMIN_FEE_CAP_USD, currency)
        )
        if admin_fee:
            charges.append(ChargeLine("ItemFees", "RefundCommission", -admin_fee))
    if item.tax and order.marketplace.code in TAX_COLLECTORS:
        charges.append(ChargeLine("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", item.tax))
    return tuple(charges)


def _hashed_id(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip("=")


def transaction_id(order: Order, shipment: Shipment) -> str:
    return _hashed_id(f"{order.order_id}/{shipment.reference}")


def refund_transaction_id(order: Order, refund: Refund) -> str:
    return _hashed_id(f"{order.order_id}/refund/{refund.refund_id}")


def order_events(order: Order, until: datetime) -> list[FinancialEvent]:
    """The order's shipment and refund events posted up to `until`, in the order they happened."""
    events = []
    for event in order.events:
        shipment = event.shipment
        if shipment is None or event.at + POSTING_DELAY > until:
            continue
        items = tuple(
            ShippedItem(order.lines[index], quantity, _charges(order, order.lines[index]))
            for index, quantity in shipment.quantities
        )
        deferred = None if order.fulfilled_by == AMAZON else event.at + DEFERRAL_PERIOD
        events.append(
            FinancialEvent(
                transaction_id(order, shipment),
                order,
                event.at + POSTING_DELAY,
                items,
                deferred,
                SHIPMENT,
                shipment=shipment,
            )
        )
    if order.plans or order.adjustments:
        for refund in order_after_sales(order)[1]:
            if refund.posted > until:
                continue
            refunded = tuple(
                ShippedItem(
                    order.lines[item.line_index],
                    item.quantity,
                    refund_charges(order, item),
                    item.adjustment_item_id,
                    item.merchant_adjustment_item_id,
                )
                for item in refund.items
            )
            events.append(
                FinancialEvent(
                    refund_transaction_id(order, refund), order, refund.posted, refunded, None, REFUND, refund=refund
                )
            )
    return events


def financial_events(orders: Iterable[Order], until: datetime) -> list[FinancialEvent]:
    """Every shipment and refund event posted up to `until`, sorted by posting time then transaction id."""
    events = [event for order in orders for event in order_events(order, until)]
    events.sort(key=lambda event: (event.posted, event.transaction_id))
    return events


ADVERTISING = ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount")
STORAGE_FEE = ("other-transaction", "other-transaction", "Storage Fee")
SUBSCRIPTION_FEE = ("other-transaction", "other-transaction", "Subscription Fee")
REIMBURSEMENT_TYPE = ("other-transaction", "FBA Inventory Reimbursement")
REIMBURSEMENT_REASONS = ("WAREHOUSE_DAMAGE", "REVERSAL_REIMBURSEMENT", "MISSING_FROM_INBOUND")
CURRENT_RESERVE = ("other-transaction", "other-transaction", "Current Reserve Amount")
PREVIOUS_RESERVE = ("other-transaction", "other-transaction", "Previous Reserve Amount Balance")
# A type that no published list (and so no default mapping) knows: Amazon adds values without notice.
UNKNOWN_DESCRIPTION = "UnannouncedProgramFee"
UNKNOWN_TYPE = ("other-transaction", "other-transaction", UNKNOWN_DESCRIPTION)
SUBSCRIPTION_FEE_USD = Decimal("39.99")
RESERVE_RATE = Decimal("0.10")  # of the period's order money, held back until the next settlement
NEGATIVE_EVERY = 5  # every fifth period, advertising costs more than the period's sales


@dataclass(frozen=True)
class AccountRow:
    """An account-level row of a settlement (no order): a fee, a reimbursement, a reserve movement."""

    transaction_type: str
    amount_type: str
    description: str
    amount: Decimal
    posted: datetime
    category: str  # what the simulator generated it as (the category vocabulary)
    sku: str = ""
    quantity: int | None = None


@dataclass(frozen=True)
class Settlement:
    """A closed settlement period of one marketplace account, with the events paid in it and the
    account-level rows (fees, reimbursements, reserve) of the period."""

    settlement_id: str
    seller_id: str
    marketplace_id: str
    currency: str
    start: datetime
    end: datetime
    events: tuple[FinancialEvent, ...]
    account_rows: tuple[AccountRow, ...] = ()

    @property
    def events_total(self) -> Decimal:
        return sum((event.total for event in self.events), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.events_total + sum((row.amount for row in self.account_rows), Decimal(0))

    @property
    def deposit_date(self) -> datetime:
        return self.end + timedelta(days=1)

    @property
    def report_created(self) -> datetime:
        return self.end + SETTLEMENT_REPORT_DELAY

    def category_totals(self) -> dict[str, Decimal]:
        """The truth: the settlement's money by what each row was generated as (every row counted once)."""
        totals: dict[str, Decimal] = {}
        for event in self.events:
            for item in event.items:
                for charge in item.charges:
                    category = charge_category(charge, refund=event.refund is not None)
                    totals[category] = totals.get(category, Decimal(0)) + charge.amount
        for row in self.account_rows:
            totals[row.category] = totals.get(row.category, Decimal(0)) + row.amount
        return totals

    def order_ids(self) -> set[str]:
        return {event.order.order_id for event in self.events}


def settlement_id(seller_id: str, marketplace_id: str, index: int) -> str:
    digest = hashlib.sha256(f"{seller_id}/{marketplace_id}/{index}".encode()).digest()
    return str(10_000_000_000 + int.from_bytes(digest[:6], "big") % 89_999_999_999)


def _draw(seed: str, low: int, high: int) -> int:
    """A number in [low, high] fixed by the seed (the same settlement always gets the same rows)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return low + int.from_bytes(digest[:4], "big") % (high - low + 1)


def _account_rows(
    seller_id: str, marketplace_id: str, index: int, members: list[FinancialEvent], held_before: Decimal
) -> tuple[tuple[AccountRow, ...], Decimal]:
    """The period's account-level rows, and the reserve it holds back (released by the next settlement)."""
    currency = members[0].currency
    start = SETTLEMENT_EPOCH + SETTLEMENT_PERIOD * index
    seed = f"{seller_id}/{marketplace_id}/{index}"
    skus = sorted({item.line.listing.sku for event in members for item in event.items})
    rows: list[AccountRow] = []
    if held_before:
        rows.append(AccountRow(*PREVIOUS_RESERVE, held_before, start + timedelta(hours=1), "reserve"))
    orders_money = sum((event.total for event in members if event.refund is None), Decimal(0))
    advertising = convert_usd(Decimal(_draw(seed + "/ads", 500, 4000)) / 100, currency)
    if index % NEGATIVE_EVERY == NEGATIVE_EVERY - 1:
        advertising += max(orders_money, Decimal(0)) + convert_usd(Decimal(25), currency)
    rows.append(AccountRow(*ADVERTISING, -advertising, start + timedelta(days=3, hours=2), "advertising"))
    if index % 2 == 0:
        storage = convert_usd(Decimal(_draw(seed + "/storage", 200, 2500)) / 100, currency)
        rows.append(AccountRow(*STORAGE_FEE, -storage, start + timedelta(days=7, hours=5), "storage_fees"))
    else:
        subscription = convert_usd(SUBSCRIPTION_FEE_USD, currency)
        rows.append(AccountRow(*SUBSCRIPTION_FEE, -subscription, start + timedelta(days=6), "seller_fees"))
    if index % 3 == 0 and skus:
        reason = REIMBURSEMENT_REASONS[_draw(seed + "/reason", 0, len(REIMBURSEMENT_REASONS) - 1)]
        amount = convert_usd(Decimal(_draw(seed + "/reimbursed", 800, 3000)) / 100, currency)
        sku = skus[_draw(seed + "/sku", 0, len(skus) - 1)]
        posted = start + timedelta(days=9, hours=4)
        rows.append(AccountRow(*REIMBURSEMENT_TYPE, reason, amount, posted, "reimbursements", sku=sku, quantity=1))
    if index % 2 == 1:
        unknown = convert_usd(Decimal(_draw(seed + "/unknown", 100, 900)) / 100, currency)
        rows.append(AccountRow(*UNKNOWN_TYPE, -unknown, start + timedelta(days=11), "unclassified"))
    held = quantize(max(orders_money, Decimal(0)) * RESERVE_RATE, currency)
    if held:
        rows.append(AccountRow(*CURRENT_RESERVE, -held, start + SETTLEMENT_PERIOD - timedelta(hours=1), "reserve"))
    return tuple(rows), held


def settlements(seller_id: str, events: Iterable[FinancialEvent], now: datetime) -> list[Settlement]:
    """Settlements whose period has closed and whose report exists by `now`, oldest first. A deferred event
    is paid in the period it is released in; one not yet released by `now` is in no settlement yet."""
    grouped: dict[tuple[str, int], list[FinancialEvent]] = {}
    for event in events:
        if event.deferred_until is not None and event.deferred_until > now:
            continue
        grouped.setdefault((event.order.marketplace.marketplace_id, event.settlement_index), []).append(event)
    result = []
    held: dict[str, Decimal] = {}
    for (marketplace_id, index), members in sorted(grouped.items(), key=lambda entry: (entry[0][1], entry[0][0])):
        start = SETTLEMENT_EPOCH + SETTLEMENT_PERIOD * index
        rows, held_now = _account_rows(seller_id, marketplace_id, index, members, held.get(marketplace_id, Decimal(0)))
        settlement = Settlement(
            settlement_id=settlement_id(seller_id, marketplace_id, index),
            seller_id=seller_id,
            marketplace_id=marketplace_id,
            currency=members[0].currency,
            start=start,
            end=start + SETTLEMENT_PERIOD,
            events=tuple(members),
            account_rows=rows,
        )
        if settlement.report_created <= now:
            result.append(settlement)
            held[marketplace_id] = held_now
    result.sort(key=lambda settlement: (settlement.start, settlement.marketplace_id))
    return result


def settlement_truth(orders: Iterable[Order], seller_id: str, now: datetime) -> list[dict[str, object]]:
    """What the seller's settlement reports hold by `now`, from what the simulator generated (for tests to
    compare with an import): per settlement its id, marketplace id, currency, total, row count, order ids,
    category totals and the period; amounts are Decimal."""
    found = settlements(seller_id, financial_events(orders, now), now)
    return [
        {
            "settlement_id": settlement.settlement_id,
            "marketplace_id": settlement.marketplace_id,
            "currency": settlement.currency,
            "total": settlement.total,
            "rows": sum(len(item.charges) for event in settlement.events for item in event.items)
            + len(settlement.account_rows),
            "order_ids": settlement.order_ids(),
            "categories": settlement.category_totals(),
            "start": settlement.start,
            "end": settlement.end,
            "report_created": settlement.report_created,
        }
        for settlement in found
    ]


def deferred_truth(orders: Iterable[Order], now: datetime, posted_before: datetime | None = None) -> dict[str, Decimal]:
    """Per order id, the money Amazon still holds back at `now` (its deferred events not yet released),
    counting the events posted before `posted_before` when given (what a client reading up to then sees)."""
    pending: dict[str, Decimal] = {}
    for event in financial_events(orders, now):
        if posted_before is not None and event.posted >= posted_before:
            continue
        if event.status_at(now) == "DEFERRED":
            pending[event.order.order_id] = pending.get(event.order.order_id, Decimal(0)) + event.total
    return pending

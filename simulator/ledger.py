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
        return int((self.posted - SETTLEMENT_EPOCH) / SETTLEMENT_PERIOD)


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


@dataclass(frozen=True)
class Settlement:
    """A closed settlement period of one marketplace account, with the events posted in it."""

    settlement_id: str
    seller_id: str
    marketplace_id: str
    currency: str
    start: datetime
    end: datetime
    events: tuple[FinancialEvent, ...]

    @property
    def total(self) -> Decimal:
        return sum((event.total for event in self.events), Decimal(0))

    @property
    def deposit_date(self) -> datetime:
        return self.end + timedelta(days=1)

    @property
    def report_created(self) -> datetime:
        return self.end + SETTLEMENT_REPORT_DELAY


def settlement_id(seller_id: str, marketplace_id: str, index: int) -> str:
    digest = hashlib.sha256(f"{seller_id}/{marketplace_id}/{index}".encode()).digest()
    return str(10_000_000_000 + int.from_bytes(digest[:6], "big") % 89_999_999_999)


def settlements(seller_id: str, events: Iterable[FinancialEvent], now: datetime) -> list[Settlement]:
    """Settlements whose period has closed and whose report exists by `now`, oldest first."""
    grouped: dict[tuple[str, int], list[FinancialEvent]] = {}
    for event in events:
        grouped.setdefault((event.order.marketplace.marketplace_id, event.settlement_index), []).append(event)
    result = []
    for (marketplace_id, index), members in grouped.items():
        start = SETTLEMENT_EPOCH + SETTLEMENT_PERIOD * index
        settlement = Settlement(
            settlement_id=settlement_id(seller_id, marketplace_id, index),
            seller_id=seller_id,
            marketplace_id=marketplace_id,
            currency=members[0].currency,
            start=start,
            end=start + SETTLEMENT_PERIOD,
            events=tuple(members),
        )
        if settlement.report_created <= now:
            result.append(settlement)
    result.sort(key=lambda settlement: (settlement.start, settlement.marketplace_id))
    return result

"""The Shopify world's records: shops, locations, products, orders and their timelines.

Like the Amazon world, an order is generated once with its whole future (paid, fulfilled, returned,
refunded, cancelled at fixed times) and its state at a moment is folded from the events up to that
moment. What the app does through the Admin API (fulfilments, refunds) is appended as events at the
moment it happens; the order's generated future is then dropped (the merchant's app has taken over).
"""

from __future__ import annotations

import bisect
import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from simulator.shopify.catalogue import ShopProfile

# Event kinds of an order's timeline.
CREATED = "created"
PAYMENT = "payment"
FULFILLMENT = "fulfillment"
CANCEL = "cancel"
RETURN = "return"
REFUND = "refund"

# Inventory quantity names Shopify reports; on_hand is the sum of the stored components.
QUANTITY_COMPONENTS = ("available", "committed", "reserved", "damaged", "safety_stock", "quality_control")
QUANTITY_NAMES = (*QUANTITY_COMPONENTS, "incoming", "on_hand")

# Ways an order record is permanently broken under the hostile fault profile.
MALFORMED_KINDS = ("non_numeric_total", "empty_total", "bad_processed_at")


@dataclass(frozen=True)
class Money:
    """A MoneyBag: the same amount in the shop's currency and in the buyer's (presentment) currency."""

    shop: Decimal
    presentment: Decimal

    def __add__(self, other: Money) -> Money:
        return Money(self.shop + other.shop, self.presentment + other.presentment)

    def __sub__(self, other: Money) -> Money:
        return Money(self.shop - other.shop, self.presentment - other.presentment)

    def times(self, factor: int) -> Money:
        return Money(self.shop * factor, self.presentment * factor)

    @property
    def is_zero(self) -> bool:
        return self.shop == 0 and self.presentment == 0


ZERO = Money(Decimal(0), Decimal(0))


def total(amounts: Any) -> Money:
    result = ZERO
    for amount in amounts:
        result = result + amount
    return result


@dataclass(frozen=True)
class Location:
    legacy_id: int
    name: str
    country: str
    province_code: str | None
    city: str
    zip: str
    address1: str
    ships: bool = True


@dataclass(frozen=True)
class Variant:
    legacy_id: int
    product_id: int
    product_title: str
    title: str
    sku: str
    price: Decimal  # in the shop's currency
    inventory_item_id: int
    barcode: str
    position: int
    created_at: datetime

    @property
    def display_name(self) -> str:
        return self.product_title if self.title == "Default Title" else f"{self.product_title} - {self.title}"


@dataclass(frozen=True)
class Product:
    legacy_id: int
    title: str
    handle: str
    product_type: str
    vendor: str
    variants: tuple[Variant, ...]
    created_at: datetime


@dataclass(frozen=True)
class TaxLine:
    title: str
    rate: Decimal
    price: Money


@dataclass(frozen=True)
class LineItem:
    legacy_id: int
    variant: Variant
    quantity: int
    unit_price: Money
    discount: Money  # the line's share of the order discount (positive)
    tax_lines: tuple[TaxLine, ...]
    fulfillment_order_line_id: int

    @property
    def original_total(self) -> Money:
        return self.unit_price.times(self.quantity)

    @property
    def discounted_total(self) -> Money:
        return self.original_total - self.discount

    @property
    def tax(self) -> Money:
        return total(tax.price for tax in self.tax_lines)


@dataclass(frozen=True)
class Transaction:
    legacy_id: int
    kind: str  # SALE, AUTHORIZATION, CAPTURE, REFUND, VOID
    gateway: str
    amount: Money
    at: datetime
    parent_id: int | None = None
    status: str = "SUCCESS"


@dataclass(frozen=True)
class RefundLine:
    legacy_id: int
    line_index: int
    quantity: int
    restock_type: str  # CANCEL, RETURN, NO_RESTOCK, LEGACY_RESTOCK
    subtotal: Money
    tax: Money
    location_id: int | None


@dataclass(frozen=True)
class Refund:
    legacy_id: int
    at: datetime
    note: str | None
    lines: tuple[RefundLine, ...]
    shipping: Money
    transactions: tuple[Transaction, ...]
    return_id: int | None = None

    @property
    def total(self) -> Money:
        return total(tx.amount for tx in self.transactions)


@dataclass(frozen=True)
class ReturnLine:
    legacy_id: int
    line_index: int
    quantity: int
    reason: str
    customer_note: str | None


@dataclass(frozen=True)
class ReturnRecord:
    legacy_id: int
    name: str
    opened_at: datetime
    lines: tuple[ReturnLine, ...]


@dataclass(frozen=True)
class Fulfillment:
    legacy_id: int
    name: str
    at: datetime
    location_id: int
    company: str | None
    number: str | None
    url: str | None
    lines: tuple[tuple[int, int, int], ...]  # (line index, quantity, fulfillment line item id)


@dataclass(frozen=True)
class OrderEvent:
    at: datetime
    kind: str
    transactions: tuple[Transaction, ...] = ()
    fulfillment: Fulfillment | None = None
    refund: Refund | None = None
    return_record: ReturnRecord | None = None
    cancel_reason: str | None = None
    by_api: bool = False


@dataclass(frozen=True)
class Address:
    country: str
    province_code: str | None
    city: str
    zip: str


@dataclass(frozen=True)
class OrderState:
    """An order as it is at one moment."""

    updated_at: datetime
    financial_status: str
    fulfillment_status: str
    cancelled_at: datetime | None
    cancel_reason: str | None
    closed_at: datetime | None
    transactions: tuple[Transaction, ...]
    fulfillments: tuple[Fulfillment, ...]
    refunds: tuple[Refund, ...]
    returns: tuple[tuple[ReturnRecord, str], ...]  # (return, status)
    fulfilled: tuple[int, ...]
    refunded: tuple[int, ...]
    remaining: tuple[int, ...]  # still to fulfil per line
    received: Money
    refunded_amount: Money
    refunded_shipping: Money
    authorized: Money
    fulfillment_order_status: str


@dataclass
class ShopOrder:
    """One order with its whole timeline."""

    legacy_id: int
    index: int
    number: int
    created: datetime
    currency: str
    presentment_currency: str
    rate: Decimal  # presentment units per shop unit
    taxes_included: bool
    lines: tuple[LineItem, ...]
    shipping: Money
    shipping_title: str
    discount_code: tuple[str, str, Decimal] | None
    tags: tuple[str, ...]
    source_name: str
    test: bool
    address: Address
    location_id: int
    fulfillment_order_id: int
    gateway: str
    language: str
    events: list[OrderEvent]
    malformed: str | None = None
    # Tax inside the shipping price (shops whose prices include tax charge VAT / GST on shipping too).
    shipping_tax_lines: tuple[TaxLine, ...] = ()
    _times: list[datetime] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        self._times = [event.at for event in self.events]

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def subtotal(self) -> Money:
        return total(line.discounted_total for line in self.lines)

    @property
    def shipping_tax(self) -> Money:
        return total(tax.price for tax in self.shipping_tax_lines)

    @property
    def total_tax(self) -> Money:
        return total(line.tax for line in self.lines) + self.shipping_tax

    @property
    def total_discounts(self) -> Money:
        return total(line.discount for line in self.lines)

    @property
    def total_price(self) -> Money:
        """Lines after discounts, shipping, and the tax on top unless the prices include it (as Shopify's
        totalPriceSet: before returns)."""
        price = self.subtotal + self.shipping
        return price if self.taxes_included else price + self.total_tax

    def events_until(self, moment: datetime) -> list[OrderEvent]:
        return self.events[: bisect.bisect_right(self._times, moment)]

    def updated_at(self, moment: datetime) -> datetime:
        index = bisect.bisect_right(self._times, moment) - 1
        return self._times[max(index, 0)]

    def drop_future(self, moment: datetime) -> None:
        """Forget the generated future after `moment` (the app now drives the order)."""
        del self.events[bisect.bisect_right(self._times, moment) :]
        self.reindex()

    def append(self, event: OrderEvent) -> None:
        self.events.append(event)
        self.reindex()

    def state_at(self, moment: datetime) -> OrderState:
        count = len(self.lines)
        fulfilled = [0] * count
        refunded = [0] * count
        remaining = [line.quantity for line in self.lines]
        transactions: list[Transaction] = []
        fulfillments: list[Fulfillment] = []
        refunds: list[Refund] = []
        returns: dict[int, tuple[ReturnRecord, str]] = {}
        cancelled: OrderEvent | None = None
        happened = self.events_until(moment) or self.events[:1]
        for event in happened:
            transactions.extend(event.transactions)
            if event.fulfillment is not None:
                fulfillments.append(event.fulfillment)
                for index, quantity, _ in event.fulfillment.lines:
                    fulfilled[index] += quantity
                    remaining[index] -= quantity
            if event.refund is not None:
                refunds.append(event.refund)
                transactions.extend(event.refund.transactions)
                for line in event.refund.lines:
                    refunded[line.line_index] += line.quantity
                    remaining[line.line_index] -= min(line.quantity, remaining[line.line_index])
                if event.refund.return_id in returns:
                    returns[event.refund.return_id] = (returns[event.refund.return_id][0], "CLOSED")
            if event.return_record is not None:
                returns[event.return_record.legacy_id] = (event.return_record, "OPEN")
            if event.kind == CANCEL:
                cancelled = event
                remaining = [0] * count
        money = _money_summary(transactions)
        financial = _financial_status(money, self.total_price, transactions)
        fulfillment = _fulfillment_status(fulfilled, remaining, cancelled is not None)
        if cancelled is not None:
            order_status = "CLOSED" if any(fulfilled) else "CANCELLED"
        elif not any(remaining):
            order_status = "CLOSED"
        elif any(fulfilled):
            order_status = "IN_PROGRESS"
        else:
            order_status = "OPEN"
        closed = None
        if cancelled is not None:
            closed = cancelled.at
        elif not any(remaining) and financial in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED"):
            closed = max((event.at for event in happened if event.kind in (FULFILLMENT, PAYMENT)), default=None)
        return OrderState(
            updated_at=happened[-1].at,
            financial_status=financial,
            fulfillment_status=fulfillment,
            cancelled_at=cancelled.at if cancelled else None,
            cancel_reason=cancelled.cancel_reason if cancelled else None,
            closed_at=closed,
            transactions=tuple(transactions),
            fulfillments=tuple(fulfillments),
            refunds=tuple(refunds),
            returns=tuple(returns.values()),
            fulfilled=tuple(fulfilled),
            refunded=tuple(refunded),
            remaining=tuple(remaining),
            received=money["received"],
            refunded_amount=money["refunded"],
            refunded_shipping=total(refund.shipping for refund in refunds),
            authorized=money["authorized"],
            fulfillment_order_status=order_status,
        )


def _money_summary(transactions: list[Transaction]) -> dict[str, Money]:
    received = total(tx.amount for tx in transactions if tx.kind in ("SALE", "CAPTURE") and tx.status == "SUCCESS")
    refunded = total(tx.amount for tx in transactions if tx.kind == "REFUND" and tx.status == "SUCCESS")
    voided = {tx.parent_id for tx in transactions if tx.kind in ("VOID", "CAPTURE")}
    authorized = total(tx.amount for tx in transactions if tx.kind == "AUTHORIZATION" and tx.legacy_id not in voided)
    return {"received": received, "refunded": refunded, "authorized": authorized}


def _financial_status(money: dict[str, Money], order_total: Money, transactions: list[Transaction]) -> str:
    received, refunded = money["received"].shop, money["refunded"].shop
    if received <= 0:
        if any(tx.kind == "VOID" for tx in transactions) or (refunded > 0 and not money["authorized"].shop):
            return "VOIDED"
        return "AUTHORIZED" if money["authorized"].shop > 0 else "PENDING"
    if refunded >= received:
        return "REFUNDED"
    if refunded > 0:
        return "PARTIALLY_REFUNDED"
    if received < order_total.shop:
        return "PARTIALLY_PAID"
    return "PAID"


def _fulfillment_status(fulfilled: list[int], remaining: list[int], cancelled: bool) -> str:
    if not any(fulfilled):
        return "RESTOCKED" if cancelled else "UNFULFILLED"
    if not any(remaining):
        return "FULFILLED"
    return "PARTIALLY_FULFILLED"


@dataclass
class WebhookSubscription:
    legacy_id: int
    topic: str  # GraphQL enum value, e.g. ORDERS_UPDATED
    uri: str
    format: str
    include_fields: tuple[str, ...]
    filter: str | None
    name: str | None
    created_at: datetime
    updated_at: datetime


@dataclass
class Shop:
    """One Shopify store with its catalogue, stock, orders and app installation."""

    domain: str
    name: str
    legacy_id: int
    currency: str
    presentment_currencies: tuple[str, ...]
    profile: ShopProfile
    created_at: datetime
    orders_per_day: float
    live_orders_per_hour: float
    malformed_rate: float
    locations: tuple[Location, ...] = ()
    products: tuple[Product, ...] = ()
    orders: list[ShopOrder] = field(default_factory=list)
    orders_by_id: dict[int, ShopOrder] = field(default_factory=dict)
    next_arrival: datetime | None = None
    arrival_count: int = 0
    batch_count: int = 0
    # (time, sequence, order id, event position) of generated events not yet applied to stock/webhooks.
    pending: list[tuple[datetime, int, int, int]] = field(default_factory=list)
    sequence: int = 0
    applied_until: datetime | None = None
    inventory: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    inventory_changes: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: dict[int, WebhookSubscription] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, datetime, Any]] = field(default_factory=dict)
    api_counter: int = 0
    installed: bool = True
    scopes: tuple[str, ...] = ()

    @property
    def variants(self) -> list[Variant]:
        return [variant for product in self.products for variant in product.variants]

    def push_pending(self, order: ShopOrder, position: int) -> None:
        self.sequence += 1
        heapq.heappush(self.pending, (order.events[position].at, self.sequence, order.legacy_id, position))

    def next_api_id(self, base: int) -> int:
        """An id for an object the app created through the API (a range of its own per kind)."""
        self.api_counter += 1
        return base + 90_000_000 + self.api_counter

    def rng(self, seed: int, *parts: object) -> random.Random:
        return random.Random(repr((seed, self.domain, *parts)))  # noqa: S311 - a reproducible world

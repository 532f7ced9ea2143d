"""The simulated WooCommerce shop's records: API keys, products and variations, orders with their timeline.

An order is generated once with its future (paid, completed, refunded, ...) as a list of events at fixed
times; calls through the REST API add events at the moment they are made. Its state at any moment is
read from the events up to that moment, so the shop changes as the clock moves without rewriting
anything, and the stock effects of each event (WooCommerce reduces stock when an order is paid or put
on hold, gives it back when it is cancelled, and on refunds that restock) follow from the same replay.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from simulator.woocommerce.catalogue import (
    COMPLETED,
    PROCESSING,
    STOCK_REDUCING,
    STOCK_RESTORING,
    TRASH,
    Gateway,
    TaxRate,
)

GENERATED = "generated"
API = "api"
DRIFT = "drift"
# Ways an order record can be permanently broken under the hostile fault profile.
MALFORMED_KINDS = ("non_numeric_total", "missing_line_items", "null_date_modified")


@dataclass(frozen=True)
class ApiKey:
    """A REST API key as WooCommerce → Settings → Advanced → REST API issues it."""

    key_id: int
    user_id: int
    consumer_key: str
    consumer_secret: str
    permissions: str  # read, write or read_write
    description: str = ""

    def can(self, method: str) -> bool:
        if method in ("GET", "HEAD"):
            return self.permissions in ("read", "read_write")
        return self.permissions in ("write", "read_write")


@dataclass
class Product:
    """A product (simple or variable) or a variation of a variable product."""

    id: int
    parent_id: int
    type: str  # simple, variable, variation
    name: str
    slug: str
    sku: str
    regular_price: Decimal | None
    sale_price: Decimal | None
    manage_stock: bool
    stock_quantity: int | None
    created: datetime
    modified: datetime
    backorders: str = "no"
    # variable: (taxonomy, label, options); variation: (taxonomy, label, (chosen option,))
    attributes: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    variation_ids: list[int] = field(default_factory=list)
    virtual: bool = False
    weight: str = ""
    total_sales: int = 0

    @property
    def price(self) -> Decimal | None:
        return self.sale_price if self.sale_price is not None else self.regular_price

    @property
    def stock_status(self) -> str:
        if not self.manage_stock or self.stock_quantity is None:
            return "instock"
        if self.stock_quantity > 0:
            return "instock"
        return "onbackorder" if self.backorders != "no" else "outofstock"


@dataclass(frozen=True)
class Address:
    first_name: str
    last_name: str
    company: str
    address_1: str
    city: str
    state: str
    postcode: str
    country: str
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class LineItem:
    """A product line; amounts net of tax (subtotal before the coupon discount, total after it)."""

    item_id: int
    product_id: int
    variation_id: int
    name: str
    sku: str
    quantity: int
    subtotal: Decimal
    subtotal_tax: Decimal
    total: Decimal
    total_tax: Decimal
    meta: tuple[tuple[int, str, Any], ...] = ()  # (meta id, key, value): a variation's attributes


@dataclass(frozen=True)
class ShippingLine:
    item_id: int
    method_id: str
    method_title: str
    instance_id: str
    total: Decimal
    total_tax: Decimal


@dataclass(frozen=True)
class TaxLine:
    item_id: int
    rate: TaxRate
    tax_total: Decimal
    shipping_tax_total: Decimal


@dataclass(frozen=True)
class CouponLine:
    item_id: int
    code: str
    percent: Decimal
    discount: Decimal
    discount_tax: Decimal


@dataclass(frozen=True)
class RefundLine:
    """A refunded line item; quantity and amounts are positive here (WooCommerce shows them negative)."""

    item_id: int
    refunded_item_id: int
    quantity: int
    total: Decimal
    total_tax: Decimal


@dataclass(frozen=True)
class Refund:
    id: int
    order_id: int
    created: datetime
    amount: Decimal
    reason: str
    refunded_by: int
    refunded_payment: bool
    lines: tuple[RefundLine, ...] = ()
    restock: bool = False
    meta: tuple[tuple[int, str, Any], ...] = ()


@dataclass(frozen=True)
class Note:
    id: int
    created: datetime
    text: str
    customer_note: bool = False
    author: str = "system"


@dataclass(frozen=True)
class OrderEvent:
    """A change of the order at a moment: a new status, a refund, meta data, a trip to the trash."""

    at: datetime
    source: str = GENERATED
    status: str | None = None
    refund: Refund | None = None
    meta: tuple[tuple[int, str, Any], ...] = ()
    trash: bool = False
    notes: tuple[Note, ...] = ()
    transaction_id: str | None = None
    customer_note: str | None = None
    modifies: bool = True  # bumps date_modified

    @property
    def topic_event(self) -> str:
        return "deleted" if self.trash else "updated"


@dataclass(frozen=True)
class OrderState:
    """What an order looks like at one moment."""

    status: str
    modified: datetime
    date_paid: datetime | None
    date_completed: datetime | None
    refunds: tuple[Refund, ...]
    meta: tuple[tuple[int, str, Any], ...]
    transaction_id: str
    customer_note: str
    stock_reduced: bool
    reduced: tuple[int, ...]  # units of each line whose stock is currently taken out

    @property
    def refunded(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal(0))

    def refunded_quantity(self, item_id: int) -> int:
        return sum(
            line.quantity for refund in self.refunds for line in refund.lines if line.refunded_item_id == item_id
        )


@dataclass
class Order:
    """One WooCommerce order with its whole timeline (events sorted by time)."""

    id: int
    order_key: str
    created: datetime
    currency: str
    prices_include_tax: bool
    customer_id: int
    billing: Address
    shipping: Address
    gateway: Gateway
    created_via: str
    lines: tuple[LineItem, ...]
    shipping_lines: tuple[ShippingLine, ...]
    tax_lines: tuple[TaxLine, ...]
    coupon_lines: tuple[CouponLine, ...]
    events: list[OrderEvent]
    malformed: str | None = None
    extra_notes: list[Note] = field(default_factory=list)  # notes added through the API
    _replay: list[tuple[OrderEvent, OrderState, dict[int, int]]] | None = field(default=None, repr=False)
    _times: list[datetime] = field(default_factory=list, repr=False)

    # -- money ------------------------------------------------------------------------------------------

    @property
    def discount_total(self) -> Decimal:
        return sum((line.subtotal - line.total for line in self.lines), Decimal(0))

    @property
    def discount_tax(self) -> Decimal:
        return sum((line.subtotal_tax - line.total_tax for line in self.lines), Decimal(0))

    @property
    def shipping_total(self) -> Decimal:
        return sum((line.total for line in self.shipping_lines), Decimal(0))

    @property
    def shipping_tax(self) -> Decimal:
        return sum((line.total_tax for line in self.shipping_lines), Decimal(0))

    @property
    def cart_tax(self) -> Decimal:
        return sum((line.total_tax for line in self.lines), Decimal(0))

    @property
    def total_tax(self) -> Decimal:
        return self.cart_tax + self.shipping_tax

    @property
    def total(self) -> Decimal:
        items = sum((line.total for line in self.lines), Decimal(0))
        return items + self.cart_tax + self.shipping_total + self.shipping_tax

    def line(self, item_id: int) -> LineItem | None:
        return next((line for line in self.lines if line.item_id == item_id), None)

    # -- timeline ---------------------------------------------------------------------------------------

    def add_event(self, event: OrderEvent) -> None:
        """Insert an event at its time (after events at the same second)."""
        index = bisect.bisect_right([existing.at for existing in self.events], event.at)
        self.events.insert(index, event)
        self._replay = None

    def drop_generated_after(self, moment: datetime) -> None:
        """Someone acted on the order: the future the generator had planned for it no longer happens."""
        self.events = [event for event in self.events if event.source != GENERATED or event.at <= moment]
        self._replay = None

    def replay(self) -> list[tuple[OrderEvent, OrderState, dict[int, int]]]:
        """Every event with the state right after it and its stock effect (line index → units, + back in)."""
        if self._replay is not None:
            return self._replay
        steps: list[tuple[OrderEvent, OrderState, dict[int, int]]] = []
        status = ""
        modified = self.created
        date_paid: datetime | None = None
        date_completed: datetime | None = None
        refunds: list[Refund] = []
        meta: list[tuple[int, str, Any]] = []
        transaction_id = ""
        customer_note = ""
        stock_reduced = False
        reduced = [0] * len(self.lines)
        for event in self.events:
            deltas: dict[int, int] = {}
            if event.modifies:
                modified = event.at
            if event.transaction_id is not None:
                transaction_id = event.transaction_id
            if event.customer_note is not None:
                customer_note = event.customer_note
            for meta_id, key, value in event.meta:
                existing = next((index for index, entry in enumerate(meta) if entry[1] == key), None)
                if existing is None:
                    meta.append((meta_id, key, value))
                else:
                    meta[existing] = (meta[existing][0], key, value)
            if event.refund is not None:
                refunds.append(event.refund)
                if event.refund.restock:
                    for refund_line in event.refund.lines:
                        index = next(
                            (i for i, line in enumerate(self.lines) if line.item_id == refund_line.refunded_item_id),
                            None,
                        )
                        if index is not None and reduced[index] > 0 and refund_line.quantity > 0:
                            deltas[index] = deltas.get(index, 0) + refund_line.quantity
                            reduced[index] -= refund_line.quantity
            if event.trash:
                status = TRASH
            elif event.status is not None:
                status = event.status
                if status in STOCK_REDUCING and not stock_reduced:
                    stock_reduced = True
                    for index, line in enumerate(self.lines):
                        deltas[index] = deltas.get(index, 0) - line.quantity
                        reduced[index] = line.quantity
                elif status in STOCK_RESTORING and stock_reduced:
                    stock_reduced = False
                    for index in range(len(self.lines)):
                        if reduced[index]:
                            deltas[index] = deltas.get(index, 0) + reduced[index]
                        reduced[index] = 0
                if status in (PROCESSING, COMPLETED) and date_paid is None:
                    date_paid = event.at
                if status == COMPLETED:
                    date_completed = event.at
            state = OrderState(
                status=status,
                modified=modified,
                date_paid=date_paid,
                date_completed=date_completed,
                refunds=tuple(refunds),
                meta=tuple(meta),
                transaction_id=transaction_id,
                customer_note=customer_note,
                stock_reduced=stock_reduced,
                reduced=tuple(reduced),
            )
            steps.append((event, state, deltas))
        self._replay = steps
        self._times = [event.at for event in self.events]
        return steps

    def state_at(self, moment: datetime) -> OrderState:
        """The order as it was at the moment (it must exist then)."""
        steps = self.replay()
        index = bisect.bisect_right(self._times, moment) - 1
        return steps[max(index, 0)][1]

    def notes_at(self, moment: datetime) -> list[Note]:
        notes = [note for event, _, _ in self.replay() if event.at <= moment for note in event.notes]
        notes.extend(note for note in self.extra_notes if note.created <= moment)
        return sorted(notes, key=lambda note: (note.created, note.id))

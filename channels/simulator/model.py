"""The simulated world's records: sellers, listings, orders and their timelines.

An order is generated once with its whole future: a list of events (payment authorised, shipped,
cancelled, ...) at fixed times. Its state at any moment is read from the events up to that moment, so
the world changes as the clock moves without anything being rewritten, and the same seed always gives
the same history whatever order the questions are asked in.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from channels.simulator.catalogue import Marketplace

# Order statuses of the Orders API 2026-01-01 (FulfillmentStatus) that the world produces.
PENDING = "PENDING"
UNSHIPPED = "UNSHIPPED"
PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
SHIPPED = "SHIPPED"
CANCELLED = "CANCELLED"
FULFILLMENT_STATUSES = (
    "PENDING_AVAILABILITY",
    PENDING,
    UNSHIPPED,
    PARTIALLY_SHIPPED,
    SHIPPED,
    CANCELLED,
    "UNFULFILLABLE",
)
AMAZON = "AMAZON"
MERCHANT = "MERCHANT"

# Ways a record can be permanently broken under the hostile fault profile.
MALFORMED_KINDS = ("missing_order_id", "non_numeric_amount", "quantity_not_integer", "bad_created_time")


@dataclass(frozen=True)
class Listing:
    """One SKU a seller offers in one marketplace."""

    sku: str
    asin: str
    fnsku: str
    title: str
    price: Decimal
    marketplace: Marketplace
    initial_fba_stock: int


@dataclass
class Seller:
    """A selling partner account in one region (one authorisation per region, as on Amazon)."""

    selling_partner_id: str
    name: str
    region: str
    marketplaces: tuple[Marketplace, ...]
    created_at: datetime
    orders_per_day: float
    live_orders_per_hour: float
    listings: dict[str, tuple[Listing, ...]] = field(default_factory=dict)  # marketplace code → listings
    revoked: bool = False
    refresh_token: str = ""
    # Lazily generated arrivals: the next order's creation time and how many were generated.
    next_arrival: datetime | None = None
    arrival_count: int = 0
    batch_count: int = 0

    @property
    def marketplace_ids(self) -> tuple[str, ...]:
        return tuple(m.marketplace_id for m in self.marketplaces)


@dataclass(frozen=True)
class OrderLine:
    """One order item with its money in the order's currency (discount is a positive amount)."""

    order_item_id: str
    listing: Listing
    quantity: int
    unit_price: Decimal
    shipping: Decimal
    tax: Decimal
    discount: Decimal
    promotion_id: str | None
    points: int

    @property
    def item_amount(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def proceeds_total(self) -> Decimal:
        return self.item_amount + self.shipping + self.tax - self.discount


@dataclass(frozen=True)
class Shipment:
    """A package handed to the carrier (merchant-fulfilled) or an FBA shipment: which lines, how many."""

    reference: str
    shipped_at: datetime
    carrier: str
    service: str
    tracking_number: str
    quantities: tuple[tuple[int, int], ...]  # (line index, quantity)


@dataclass(frozen=True)
class OrderEvent:
    """A change of the order at a moment: a new status, maybe a shipment, maybe a cancellation."""

    at: datetime
    status: str
    shipment: Shipment | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    cancel_requested: bool = False


@dataclass(frozen=True)
class OrderState:
    """What an order looks like at one moment."""

    status: str
    last_updated: datetime
    shipments: tuple[Shipment, ...]
    shipped_quantities: tuple[int, ...]
    cancellation: OrderEvent | None


@dataclass
class Order:
    """One Amazon order with its whole timeline."""

    order_id: str
    seller_id: str
    marketplace: Marketplace
    created: datetime
    fulfilled_by: str
    service_level: str
    programs: tuple[str, ...]
    seller_order_id: str
    lines: tuple[OrderLine, ...]
    address: tuple[str, str, str, str]  # city, state or region, postal code, country
    buyer_email: str
    buyer_company: str | None
    events: tuple[OrderEvent, ...]
    malformed: str | None = None
    _event_times: list[datetime] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._event_times = [event.at for event in self.events]

    @property
    def currency(self) -> str:
        return self.marketplace.currency

    @property
    def grand_total(self) -> Decimal:
        return sum((line.proceeds_total for line in self.lines), Decimal(0))

    def exists_at(self, moment: datetime) -> bool:
        return self.created <= moment

    def last_updated_at(self, moment: datetime) -> datetime:
        """The time of the last event at or before the moment (the order must exist then)."""
        index = bisect.bisect_right(self._event_times, moment) - 1
        return self._event_times[max(index, 0)]

    def status_at(self, moment: datetime) -> str:
        """The fulfilment status at the moment (the order must exist then)."""
        index = bisect.bisect_right(self._event_times, moment) - 1
        return self.events[max(index, 0)].status

    def state_at(self, moment: datetime) -> OrderState:
        """The order as it was at the moment."""
        index = bisect.bisect_right(self._event_times, moment)
        happened = self.events[: max(index, 1)]
        shipped = [0] * len(self.lines)
        shipments: list[Shipment] = []
        cancellation: OrderEvent | None = None
        for event in happened:
            if event.shipment is not None:
                shipments.append(event.shipment)
                for line_index, quantity in event.shipment.quantities:
                    shipped[line_index] += quantity
            if event.status == CANCELLED:
                cancellation = event
        last = happened[-1]
        return OrderState(
            status=last.status,
            last_updated=last.at,
            shipments=tuple(shipments),
            shipped_quantities=tuple(shipped),
            cancellation=cancellation,
        )

"""The simulated world's records: sellers, listings, orders and their timelines.

An order is generated once with its whole future: a list of events (payment authorised, shipped,
cancelled, ...) at fixed times. Its state at any moment is read from the events up to that moment, so
the world changes as the clock moves without anything being rewritten, and the same seed always gives
the same history whatever order the questions are asked in.

After-sales are planned the same way: an order carries `ReturnPlan`s (what a buyer will do with a line
after delivery, relative to the shipment), so returns and refunds appear as the clock moves. The seller can
still act on an order: a shipment confirmation feed adds a shipment event, an order adjustment feed adds a
`Refund` to `Order.adjustments`; both at the moment the feed is processed, never in the past.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from simulator.catalogue import Marketplace

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
    # Sold only through FBA: merchant-fulfilled orders never carry it and it has no MFN quantity.
    fba_only: bool = False
    # The chance that a shipped line of this SKU comes back as a return or a refund (some SKUs are bad).
    return_rate: float = 0.045
    # The merchant-fulfilled quantity the listing starts with (the Listings Items API can change it).
    mfn_quantity: int = 0


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
    # Whether merchant-fulfilled orders ship by themselves (the seller uses Seller Central). When False,
    # they stay unshipped until a POST_ORDER_FULFILLMENT_DATA feed confirms them.
    mfn_auto_ship: bool = True
    # Marketplaces (codes) where the seller's listing status is Inactive (getMarketplaceParticipations'
    # hasSuspendedListings).
    suspended: set[str] = field(default_factory=set)

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
    plans: tuple[ReturnPlan, ...] = ()
    adjustments: list[Refund] = field(default_factory=list)  # refunds the seller sent through feeds
    _event_times: list[datetime] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._event_times = [event.at for event in self.events]

    def set_events(self, events: tuple[OrderEvent, ...]) -> None:
        """Replace the timeline (a seller's action changed the future); events must be in time order."""
        self._event_times = [event.at for event in events]
        self.events = events

    def _timeline(self) -> tuple[tuple[OrderEvent, ...], list[datetime]]:
        """The events and their times, consistent even while another thread replaces the timeline."""
        events, times = self.events, self._event_times
        if len(times) != len(events):
            times = [event.at for event in events]
        return events, times

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
        _, times = self._timeline()
        index = bisect.bisect_right(times, moment) - 1
        return times[max(index, 0)]

    def status_at(self, moment: datetime) -> str:
        """The fulfilment status at the moment (the order must exist then)."""
        events, times = self._timeline()
        index = bisect.bisect_right(times, moment) - 1
        return events[max(index, 0)].status

    def state_at(self, moment: datetime) -> OrderState:
        """The order as it was at the moment."""
        events, times = self._timeline()
        index = bisect.bisect_right(times, moment)
        happened = events[: max(index, 1)]
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


# Kinds of after-sales case a plan describes.
RETURN_AND_REFUND = "RETURN_AND_REFUND"
RETURN_ONLY = "RETURN_ONLY"  # the item comes back, no refund follows (or not yet: the seller must act)
REFUND_ONLY = "REFUND_ONLY"  # money back without a return (lost parcel, goodwill, price adjustment)
# When a planned refund is posted: days after the return request, after the warehouse receives the
# parcel, or never.
REFUND_AT_REQUEST = "request"
REFUND_AT_RECEIPT = "receipt"
REFUND_NEVER = ""


@dataclass(frozen=True)
class ReturnPlan:
    """What the buyer of one order line will do after delivery, in days relative to its shipment.

    Fixed when the order is generated; the concrete return and refund follow from it and from the time
    the line actually shipped, so a seller's shipment confirmation moves them along with the shipment."""

    line_index: int
    quantity: int
    kind: str
    reason: str  # Amazon's return reason code without prefix (DEFECTIVE, UNWANTED_ITEM, ...)
    comment: str
    comment_language: str
    delivery_days: float
    request_days: float  # after delivery
    transit_days: float | None  # return parcel: None = it never reaches the warehouse or the seller
    refund_anchor: str
    refund_days: float
    refund_share: Decimal | None  # None: the whole item; else the share of the principal given back
    refund_shipping: bool
    refund_reason: str  # Amazon's adjustment reason (CustomerReturn, GeneralAdjustment, ...)
    return_id: str
    refund_id: str
    adjustment_item_id: str
    carrier: str  # of the return parcel ("" when unknown)
    tracking_number: str
    # FBA returns
    fulfillment_center: str = ""
    license_plate_number: str = ""
    disposition: str = ""
    fba_status: str = ""
    # merchant-fulfilled return requests
    rma: str = ""
    label_type: str = ""
    label_cost: Decimal | None = None
    label_paid_by: str = ""


@dataclass(frozen=True)
class RefundItem:
    """One refunded order line: what the buyer gets back (positive amounts) and the promotion taken back."""

    line_index: int
    quantity: int
    principal: Decimal
    shipping: Decimal
    tax: Decimal
    promotion: Decimal  # the share of the line's discount that is not refunded (lowers the refund)
    adjustment_item_id: str  # Amazon's OrderAdjustmentItemId
    merchant_adjustment_item_id: str = ""

    @property
    def buyer_amount(self) -> Decimal:
        return self.principal + self.shipping + self.tax - self.promotion


@dataclass(frozen=True)
class Refund:
    """Money given back on an order at one moment: planned by the world, or sent by the seller in a feed."""

    refund_id: str  # Amazon's adjustment id
    posted: datetime
    items: tuple[RefundItem, ...]
    reason: str
    by_seller: bool = False
    return_id: str = ""
    feed_id: str = ""
    message_id: int = 0

    @property
    def buyer_amount(self) -> Decimal:
        return sum((item.buyer_amount for item in self.items), Decimal(0))

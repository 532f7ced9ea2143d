"""The adapter interface: typed DTOs in, vendor HTTP out, no database writes.

Adapters translate between a vendor's API and these frozen dataclasses (Decimal money with an ISO
currency, aware UTC datetimes). Services above persist them. Errors are classified so the sync engine
knows what to do: retry (ChannelRetryableError), stop and ask for re-authorisation (ChannelAuthError),
restart a pagination (ChannelCursorExpired), or give up on one call (ChannelError).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from channels.models import Store


class OrderStatus:
    """The normalised order statuses every channel maps onto (the raw status is kept beside it)."""

    PENDING_PAYMENT = "pending_payment"
    PAID_UNSHIPPED = "paid_unshipped"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    ALL = (PENDING_PAYMENT, PAID_UNSHIPPED, PARTIALLY_SHIPPED, SHIPPED, CANCELLED)


class FulfillmentChannel:
    FBA = "fba"
    MERCHANT = "merchant"


class AdjustmentKind:
    """What an order-level (or line-level) amount beside the lines' items is, whatever the channel calls it.

    Every amount is signed as it moves the order total: charges positive, discounts negative."""

    SHIPPING = "shipping"  # a shipping line's price (Shopify, WooCommerce)
    SHIPPING_DISCOUNT = "shipping_discount"  # discounts allocated to a shipping line (negative)
    SHIPPING_TAX = "shipping_tax"  # tax charged on shipping on top of its price
    DISCOUNT = "discount"  # an order-level discount no line carries (negative)
    TAX = "tax"  # order-level tax no line or shipping line carries
    TAX_ROUNDING = "tax_rounding"  # the order's tax rounded once against its lines' taxes rounded each (WooCommerce)
    FEE = "fee"  # WooCommerce fee lines, Shopify additional fees; negative fees are discounts
    FEE_TAX = "fee_tax"  # tax on a fee line
    DUTY = "duty"  # import duties the buyer paid at checkout (Shopify)
    TIP = "tip"  # a tip (Shopify), a delivery tip (Amazon DELIVERY_TIP)
    GIFT_WRAP = "gift_wrap"  # Amazon GIFT_WRAP proceeds of an item
    COD_FEE = "cod_fee"  # Amazon COD_FEE proceeds of an item (cash on delivery)
    OTHER = "other"  # Amazon OTHER proceeds, anything else the channel names
    UNEXPLAINED = "unexplained"  # the channel's total minus everything it itemised: kept and flagged
    ALL = (
        SHIPPING,
        SHIPPING_DISCOUNT,
        SHIPPING_TAX,
        DISCOUNT,
        TAX,
        TAX_ROUNDING,
        FEE,
        FEE_TAX,
        DUTY,
        TIP,
        GIFT_WRAP,
        COD_FEE,
        OTHER,
        UNEXPLAINED,
    )


@dataclass(frozen=True, slots=True)
class ExternalAdjustment:
    """An amount in the order's total beside its lines' items, as the channel reports it.

    `amount` is signed by its effect on the total (a discount is negative). `line_external_id` names the
    line a line-level charge belongs to (an Amazon item's gift wrap); empty for order-level amounts.
    `included_tax` is the tax already inside `amount` when the channel's prices include tax (shown, never
    added). `external_id` is the channel's id of the shipping or fee line, when it has one."""

    kind: str
    amount: Decimal
    label: str = ""
    external_id: str = ""
    line_external_id: str = ""
    included_tax: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class ExternalOrderLine:
    """One order line. `item_amount` is units x unit price as the channel shows it; `discount_amount` the
    discounts allocated to the line (positive); `tax_amount` its tax after discounts; `shipping_amount` the
    shipping charged on the line itself (Amazon). `tax_included`: the item and discount amounts already
    include the tax (a Shopify shop whose prices include tax), so the tax is not added to the total."""

    external_id: str
    sku: str
    quantity: int
    currency: str
    unit_price: Decimal
    item_amount: Decimal
    tax_amount: Decimal = Decimal(0)
    shipping_amount: Decimal = Decimal(0)
    discount_amount: Decimal = Decimal(0)
    asin: str = ""
    title: str = ""
    channel_product_id: str = ""
    tax_included: bool = False

    @property
    def total_amount(self) -> Decimal:
        """What the line adds to the order total: items less discounts, plus its shipping and its tax."""
        tax = Decimal(0) if self.tax_included else self.tax_amount
        return self.item_amount - self.discount_amount + self.shipping_amount + tax


@dataclass(frozen=True, slots=True)
class ExternalOrder:
    """One order as the channel reports it: lines and adjustments that together make `total_amount`.

    `adjustments` hold everything in the total beside the lines' items, discounts, tax and line shipping
    (shipping lines, fees, duties, tips, order-level discounts, item gift wrap); ingest keeps whatever the
    channel's total holds beyond them as an "unexplained" adjustment. `taxes_included`: the order's prices
    include tax. The per-kind summary (`item_amount` ... `other_amount`) is derived by ingest from the lines
    and adjustments; these keyword fields are ignored and only stay for callers that still pass them."""

    external_id: str
    marketplace: str
    purchased_at: datetime
    updated_at: datetime
    raw_status: str
    status: str
    fulfillment_channel: str
    currency: str
    total_amount: Decimal
    buyer_country: str
    lines: tuple[ExternalOrderLine, ...]
    merchant_order_id: str = ""
    presentment_currency: str = ""
    presentment_total: Decimal | None = None
    source_name: str = ""
    tags: tuple[str, ...] = ()
    adjustments: tuple[ExternalAdjustment, ...] = ()
    taxes_included: bool = False
    item_amount: Decimal = field(default=Decimal(0), kw_only=True)
    shipping_amount: Decimal = field(default=Decimal(0), kw_only=True)
    tax_amount: Decimal = field(default=Decimal(0), kw_only=True)
    discount_amount: Decimal = field(default=Decimal(0), kw_only=True)
    other_amount: Decimal = field(default=Decimal(0), kw_only=True)

    @property
    def itemised_amount(self) -> Decimal:
        """The lines' totals plus every adjustment: equal to `total_amount` when the channel's numbers add up."""
        return sum((line.total_amount for line in self.lines), Decimal(0)) + sum(
            (adjustment.amount for adjustment in self.adjustments), Decimal(0)
        )


@dataclass(frozen=True, slots=True)
class InventorySummary:
    """FBA stock of one SKU in one marketplace (read-only: Amazon owns these numbers)."""

    sku: str
    marketplace: str
    fulfillable: int
    inbound: int
    reserved: int
    unfulfillable: int
    researching: int
    total: int
    asin: str = ""
    fnsku: str = ""
    condition: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FinancialTransaction:
    """One money movement on the channel (Amazon Finances 2024-06-19 transaction), signed, in its currency.

    `components` are the leaf breakdowns ("Product Charges", "Commission", …) with their signed amounts.
    """

    external_id: str
    transaction_type: str
    status: str
    posted_at: datetime
    currency: str
    total_amount: Decimal
    marketplace: str = ""
    order_id: str = ""
    settlement_id: str = ""
    components: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """A vendor report (Amazon Reports 2021-06-30): what it covers and where its document is."""

    report_id: str
    report_type: str
    status: str
    created_at: datetime | None = None
    data_start: datetime | None = None
    data_end: datetime | None = None
    document_id: str = ""
    marketplaces: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RefundLine:
    """One refunded order item with its signed amounts by component (see REFUND_COMPONENTS)."""

    order_item_id: str
    sku: str
    quantity: int
    components: tuple[tuple[str, Decimal], ...] = ()
    adjustment_id: str = ""


# The components a refund's money is split into, whatever the channel calls them.
REFUND_COMPONENTS = (
    "principal",
    "shipping",
    "tax",
    "tax_withheld",  # marketplace facilitator tax the channel collects and remits (offsets "tax")
    "gift_wrap",
    "promotion",
    "commission",  # the channel's commission given back to the seller (positive on a refund)
    "refund_admin_fee",  # what the channel keeps for processing the refund (negative)
    "other_fee",
    "other",
)


@dataclass(frozen=True, slots=True)
class ExternalRefund:
    """Money given back to a buyer on one order, as the channel reports it (signed: negative = seller pays)."""

    external_id: str
    order_id: str
    posted_at: datetime
    currency: str
    lines: tuple[RefundLine, ...]
    marketplace: str = ""
    merchant_order_id: str = ""
    reason: str = ""
    note: str = ""
    source: str = ""  # which API or report it came from, e.g. "finances_v0"

    def component_totals(self) -> dict[str, Decimal]:
        """Every REFUND_COMPONENTS name → the sum over lines (zero when absent)."""
        totals = dict.fromkeys(REFUND_COMPONENTS, Decimal(0))
        for line in self.lines:
            for name, amount in line.components:
                totals[name] += amount
        return totals

    @property
    def total_amount(self) -> Decimal:
        return sum((amount for line in self.lines for _, amount in line.components), Decimal(0))


@dataclass(frozen=True, slots=True)
class ExternalReturn:
    """A buyer's return of items: an Amazon FBA customer return or MFN return request, a Shopify return, ….

    `tracking_number` is empty when the carrier's tracking is unknown (an FBA return without it needs review).
    """

    external_id: str
    order_id: str
    sku: str
    quantity: int
    returned_at: datetime
    fulfillment_channel: str
    reason_code: str = ""
    customer_comment: str = ""
    status: str = ""
    disposition: str = ""
    marketplace: str = ""
    asin: str = ""
    fnsku: str = ""
    title: str = ""
    fulfillment_center: str = ""
    license_plate_number: str = ""
    rma: str = ""
    carrier: str = ""
    tracking_number: str = ""
    return_type: str = ""
    resolution: str = ""
    currency: str = ""
    order_amount: Decimal | None = None
    refunded_amount: Decimal | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One row of a settlement: a signed amount of one type on one order item, adjustment or fee."""

    line_number: int
    transaction_type: str
    amount_type: str
    amount_description: str
    amount: Decimal
    order_id: str = ""
    merchant_order_id: str = ""
    adjustment_id: str = ""
    shipment_id: str = ""
    marketplace_name: str = ""
    fulfillment_id: str = ""
    posted_at: datetime | None = None
    order_item_code: str = ""
    merchant_order_item_id: str = ""
    merchant_adjustment_item_id: str = ""
    sku: str = ""
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class SettlementDocument:
    """A settlement (payout) with every row; `balanced` says whether the rows add up to the deposit."""

    settlement_id: str
    start: datetime
    end: datetime
    deposit_date: datetime | None
    currency: str
    total_amount: Decimal
    lines: tuple[SettlementLine, ...]
    bad_records: tuple[BadRecord, ...] = ()

    @property
    def lines_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def balanced(self) -> bool:
        return not self.bad_records and self.lines_total == self.total_amount


@dataclass(frozen=True, slots=True)
class ShipmentConfirmation:
    """A merchant-fulfilled shipment to confirm to the channel. `items` = ((order item id, quantity), …)."""

    order_id: str
    shipped_at: datetime
    carrier: str
    tracking_number: str
    items: tuple[tuple[str, int], ...]
    shipping_method: str = ""


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """A refund to execute on the channel. `adjustment_id` is ACORN's idempotency key for it.

    `items` = ((order item id, quantity, ((component, positive amount), …)), …) with components among
    principal / shipping / tax.
    """

    order_id: str
    adjustment_id: str
    currency: str
    reason: str
    items: tuple[tuple[str, int, tuple[tuple[str, Decimal], ...]], ...]


@dataclass(frozen=True, slots=True)
class FeedMessageResult:
    message_id: int
    result: str  # Error / Warning
    code: str
    description: str
    order_id: str = ""


@dataclass(frozen=True, slots=True)
class FeedResult:
    """The outcome of a submitted feed: its status and, once done, the processing report's figures."""

    feed_id: str
    status: str  # IN_QUEUE / IN_PROGRESS / DONE / CANCELLED / FATAL
    result_document_id: str = ""
    processed: int = 0
    successful: int = 0
    with_error: int = 0
    with_warning: int = 0
    messages: tuple[FeedMessageResult, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status in ("DONE", "CANCELLED", "FATAL")


@dataclass(frozen=True, slots=True)
class ListingUpdate:
    """What the channel said to a quantity change on one listing."""

    sku: str
    status: str  # ACCEPTED / INVALID
    submission_id: str = ""
    issues: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.status == "ACCEPTED"


@dataclass(frozen=True, slots=True)
class ChannelStock:
    """What an independent shop shows for one SKU at one location (Shopify) or for the site (WooCommerce)."""

    sku: str
    channel_product_id: str  # Shopify variant id; WooCommerce product id, or "product/variation"
    available: int | None  # None: the shop does not track stock for it
    location_id: str = ""
    location_name: str = ""
    inventory_item_id: str = ""
    on_hand: int | None = None
    committed: int | None = None


@dataclass(frozen=True, slots=True)
class StockPushResult:
    """The answer to setting a channel's quantity. `conflict`: the channel's quantity was not the one expected
    (compare-and-set refused); `current` then says what it is, when the channel tells."""

    applied: bool
    quantity: int
    conflict: bool = False
    current: int | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class ChannelRefundResult:
    """A refund executed on the channel: its id there and the amount given back (positive)."""

    external_id: str
    amount: Decimal
    currency: str
    replayed: bool = False  # the channel already had it (an idempotent retry)


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A vendor record that could not be parsed: kept raw, with the reason, for QuarantinedRecord."""

    reason: str
    raw: Mapping[str, Any]
    external_id: str = ""


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a windowed listing. `window_end` is the upper bound the vendor applied, if it says."""

    items: tuple[T, ...]
    bad_records: tuple[BadRecord, ...] = ()
    next_token: str | None = None
    window_end: datetime | None = None
    rate_limit: Decimal | None = field(default=None, compare=False)
    # The newest updated-at of the records listed, when the items carry other times (a page of orders'
    # refunds: the orders were listed by updated-at, the refunds have their own times).
    newest: datetime | None = field(default=None, compare=False)


class ChannelError(Exception):
    """A vendor call failed in a way that retrying the same call will not fix."""

    code = "channel_error"


class ChannelRetryableError(ChannelError):
    """429, 5xx, timeouts, connection resets: the same call may succeed later."""

    code = "retryable"

    def __init__(self, message: str, *, retry_after: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        if code:
            self.code = code


class ChannelRateLimited(ChannelRetryableError):
    code = "rate_limited"


class ChannelAuthError(ChannelError):
    """The seller's authorisation is gone (invalid_grant, 401, 403 on the whole API): re-authorise, do not retry."""

    code = "auth"


class ChannelCursorExpired(ChannelError):
    """A pagination token is no longer accepted: restart the window from its start."""

    code = "cursor_expired"


class UnknownChannel(ChannelError):
    code = "unknown_channel"


class ChannelAdapter(ABC):
    """One vendor, bound to one store and its decrypted secrets. No database writes."""

    key: ClassVar[str]

    def __init__(self, *, store: Store, secrets: Mapping[str, Any]) -> None:
        self.store = store
        self.secrets = secrets

    @abstractmethod
    def fetch_orders(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[ExternalOrder]:
        """One page of orders updated in the window (or the page after `page_token`)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold no connection
        """Release HTTP connections."""

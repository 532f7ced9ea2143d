"""The adapter interface: the channel capabilities, typed DTOs in, vendor HTTP out, no database writes.

Capabilities. Every channel lists orders (`ChannelAdapter.fetch_orders`). Everything else a channel may or
may not offer is a capability (`Capability`) with one interface here — fetch refunds, fetch returns,
execute a refund, confirm shipments, push stock, read FBA stock, receive webhooks, read marketplace
participations, list settlements, list payouts, read financial transactions — which an adapter inherits
when its platform can do it. Domain code asks `adapter.supports(...)` (on the class, when it has no
credentials: `adapter_class_for(platform).supports(...)`) or `adapter.require(Interface)` and calls the
interface; it never names a platform. Facts about the vendor that change what the domain does (refunds
executed by a feed, shipping refunded per item, how two reports of one refund are recognised) are declared
here as enums and class attributes, and each adapter says which applies.

Records. Adapters translate between a vendor's API and these frozen dataclasses (Decimal money with an ISO
currency, aware UTC datetimes). Services above persist them. Errors are classified so the sync engine
knows what to do: retry (ChannelRetryableError), stop and ask for re-authorisation (ChannelAuthError),
restart a pagination (ChannelCursorExpired), or give up on one call (ChannelError).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
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
    # Deferred money (Finances 2024-06-19 DeferredContext): when Amazon says it releases it, and why it waits.
    releases_at: datetime | None = None
    deferral_reason: str = ""


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
class SettlementHeader:
    """A statement's header: its id, period, deposit and total (the lines may follow as a stream)."""

    settlement_id: str
    start: datetime
    end: datetime
    deposit_date: datetime | None
    currency: str
    total_amount: Decimal
    vendor_status: str = ""  # the channel's own status where it has one (Shopify payouts: PAID, SCHEDULED …)


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
    def header(self) -> SettlementHeader:
        return SettlementHeader(
            settlement_id=self.settlement_id,
            start=self.start,
            end=self.end,
            deposit_date=self.deposit_date,
            currency=self.currency,
            total_amount=self.total_amount,
        )

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
    principal / shipping / tax; quantity 0 on an item is an amount with no units, and an item with no id
    carries order-level amounts (shipping, and `other`: an amount tied to no item).
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
    """A refund asked of the channel: its id there and the amount given back (positive). A refund the
    channel takes as a submission (a feed) has `submission_id` to read its outcome with, and `external_id`
    is then ACORN's adjustment id (the channel gives the refund no id of its own until it posts it)."""

    external_id: str
    amount: Decimal
    currency: str
    replayed: bool = False  # the channel already had it (an idempotent retry)
    submission_id: str = ""

    @property
    def submitted(self) -> bool:
        """Only submitted: its outcome is known when the submission has been processed."""
        return bool(self.submission_id)


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


class ChannelNotReady(ChannelRetryableError):
    """The channel is still preparing what was asked for (a report): ask again after `retry_after`."""

    code = "not_ready"


class ChannelCapabilityMissing(ChannelError):
    """The store's channel cannot do what was asked (no adapter implements that capability for it)."""

    code = "capability_missing"


# --- capabilities ------------------------------------------------------------------------------------------


class Capability(StrEnum):
    """What a channel can do for ACORN. Each has one interface below; an adapter implements the ones its
    platform offers, and domain code asks `supports()` (or `require()`) instead of naming a platform."""

    FETCH_ORDERS = "fetch_orders"  # every channel (ChannelAdapter.fetch_orders)
    FETCH_REFUNDS = "fetch_refunds"
    FETCH_RETURNS = "fetch_returns"
    EXECUTE_REFUNDS = "execute_refunds"
    CONFIRM_SHIPMENTS = "confirm_shipments"
    PUSH_STOCK = "push_stock"
    READ_FBA_STOCK = "read_fba_stock"
    RECEIVE_WEBHOOKS = "receive_webhooks"
    READ_MARKETPLACE_PARTICIPATIONS = "read_marketplace_participations"
    LIST_SETTLEMENTS = "list_settlements"
    LIST_PAYOUTS = "list_payouts"
    READ_FINANCIAL_TRANSACTIONS = "read_financial_transactions"


class Authorization(StrEnum):
    """How a seller lets ACORN in (and how a lost authorisation is renewed)."""

    CONSENT = "consent"  # a consent page on the vendor's site, renewed by going through it again (Amazon)
    OAUTH_INSTALL = "oauth_install"  # an app install with OAuth, or a token pasted from a custom app (Shopify)
    API_KEYS = "api_keys"  # keys the seller creates on the site and pastes (WooCommerce)


class RefundIdentity(StrEnum):
    """How two reports of the same refund are recognised (the refunds sync's deduplication key)."""

    # Every report of a refund carries the channel's own refund id.
    CHANNEL_ID = "channel_id"
    # The channel reports a refund through several APIs that share no id: the order, the posting time (to
    # the second) and the net total identify it (Amazon Finances v0 events and 2024-06-19 transactions).
    ORDER_POSTING_TOTAL = "order_posting_total"


class RefundExecutionMode(StrEnum):
    """How a refund asked of the channel gets done."""

    # The channel refunds in the call and answers with its refund id; its refunds listing reports the refund
    # under that id, so the sync recognises the request by it.
    IMMEDIATE = "immediate"
    # The channel takes a submission (a feed) and reports its outcome later (`submission_result`); its refund
    # listings never echo ACORN's ids, so the sync recognises the request by order, currency and amount.
    SUBMISSION = "submission"


class RefundShipping(StrEnum):
    """Where the channel keeps the shipping a refund can give back."""

    PER_ORDER = "per_order"  # one shipping charge on the order (Shopify, WooCommerce)
    PER_ITEM = "per_item"  # each order item carries its own shipping (Amazon)


class ShipmentConfirmationMode(StrEnum):
    """How the channel is told that a parcel left."""

    PER_SHIPMENT = "per_shipment"  # one call per parcel, answered at once with the channel's reference
    BATCHED_SUBMISSION = "batched_submission"  # parcels go together in a submission (a feed) read back later


class ReturnState:
    """The normalised states every channel's return maps onto (the raw status is kept beside it)."""

    REQUESTED = "requested"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CLOSED = "closed"
    DECLINED = "declined"
    ALL = (REQUESTED, IN_TRANSIT, RECEIVED, CLOSED, DECLINED)


@dataclass(frozen=True, slots=True)
class RefundableOrder:
    """What a channel's refund rules look at when a person asks to refund an order in ACORN."""

    status: str  # OrderStatus
    fulfillment_channel: str
    currency: str
    presentment_currency: str = ""


@dataclass(frozen=True, slots=True)
class SettlementReference:
    """A settlement the channel lists, before its document is read (Amazon: a settlement V2 report)."""

    report_id: str
    document_id: str
    created_at: datetime | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    marketplaces: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Payout:
    """A payout of the channel's payment service to the seller's bank (Shopify Payments `ShopifyPaymentsPayout`).

    `status` and `transaction_type` are the vendor's words (PAID / SCHEDULED / …, DEPOSIT / WITHDRAWAL);
    `summary` is its totals per kind, signed, as the vendor names them (chargesGross, chargesFee, …)."""

    external_id: str
    status: str
    issued_at: datetime
    currency: str
    net_amount: Decimal
    transaction_type: str = ""
    summary: tuple[tuple[str, Decimal], ...] = ()
    trace_id: str = ""


@dataclass(frozen=True, slots=True)
class PayoutLine:
    """One money movement a payout is made of (Shopify Payments `ShopifyPaymentsBalanceTransaction`).

    The vendor's type fields are kept raw; `amount`, `fee` and `net` are signed in `currency`."""

    external_id: str
    payout_id: str
    transaction_type: str
    source_type: str
    posted_at: datetime
    currency: str
    amount: Decimal
    fee: Decimal = Decimal(0)
    net: Decimal = Decimal(0)
    order_id: str = ""
    adjustment_id: str = ""
    adjustment_reason: str = ""
    sku: str = ""
    quantity: int | None = None
    marketplace: str = ""


@dataclass(frozen=True, slots=True)
class MarketplaceParticipation:
    """A marketplace of the channel the seller can sell in, and whether they do (Amazon Sellers API
    getMarketplaceParticipations)."""

    marketplace_id: str
    code: str  # ACORN's code, "" for a marketplace ACORN does not know (e.g. a non-Amazon channel)
    name: str
    country: str
    currency: str
    participating: bool
    suspended: bool
    store_name: str

    def as_json(self) -> dict[str, Any]:
        """What Store.participations keeps."""
        return {
            "marketplace_id": self.marketplace_id,
            "code": self.code,
            "name": self.name,
            "country": self.country,
            "currency": self.currency,
            "participating": self.participating,
            "suspended": self.suspended,
            "store_name": self.store_name,
        }


class CapabilityInterface(ABC):
    """The base of every capability's interface; `provides` names the capability."""

    provides: ClassVar[Capability]


InterfaceT = TypeVar("InterfaceT", bound=CapabilityInterface)


# Given the secrets stored now, the renewed ones to store, or None when the stored ones need no renewal
# (another worker renewed them first).
SecretsRenewer = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
# Runs a renewer on the store's stored secrets under a lock on them, stores what it returns, and returns the
# secrets stored afterwards. The caller supplies it (the adapter registry); adapters write nothing.
SecretsKeeper = Callable[[SecretsRenewer], dict[str, Any]]


class ChannelAdapter(ABC):
    """One vendor, bound to one store and its decrypted secrets. No database writes.

    Every channel lists orders; everything else is a capability interface an adapter inherits when its
    platform offers it (`capabilities()`, `supports()`, `require()`). Facts about the vendor that domain
    code needs without credentials (how it is authorised, its rate-limit bucket names) are class attributes.
    `renew_secrets` lets an adapter renew secrets that expire (Shopify's token pairs) against the stored ones,
    under the caller's lock, so that concurrent workers renew once (see `SecretsKeeper`).
    """

    key: ClassVar[str]
    authorization: ClassVar[Authorization]
    # One authorisation covers one selling region and the marketplaces chosen in it (Amazon).
    regional: ClassVar[bool] = False
    # The vendor asks sellers to renew the authorisation this often (Amazon: yearly); None: never.
    reauthorization_period: ClassVar[timedelta | None] = None

    def __init__(
        self,
        *,
        store: Store,
        secrets: Mapping[str, Any],
        renew_secrets: SecretsKeeper | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self._renew_secrets = renew_secrets

    @classmethod
    def capabilities(cls) -> frozenset[Capability]:
        """Every capability this adapter implements (from the interfaces it inherits)."""
        found = {Capability.FETCH_ORDERS}
        for klass in cls.__mro__:
            if issubclass(klass, CapabilityInterface) and "provides" in vars(klass):
                found.add(vars(klass)["provides"])
        return frozenset(found)

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        """Whether this adapter (class: no credentials needed) can do `capability`."""
        return capability in cls.capabilities()

    def require(self, interface: type[InterfaceT]) -> InterfaceT:
        """This adapter as `interface`, or ChannelCapabilityMissing when its platform cannot do that."""
        if not isinstance(self, interface):
            raise ChannelCapabilityMissing(
                f"The {self.key} channel cannot {interface.provides.value.replace('_', ' ')}."
            )
        return self

    @abstractmethod
    def fetch_orders(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[ExternalOrder]:
        """One page of orders updated in the window (or the page after `page_token`)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold no connection
        """Release HTTP connections."""


class RefundFetching(CapabilityInterface):
    """Reading the refunds the channel made (its own, and the ones ACORN asked for)."""

    provides = Capability.FETCH_REFUNDS
    refund_identity: ClassVar[RefundIdentity] = RefundIdentity.CHANNEL_ID
    # `ExternalRefund.source` of a refund that names none.
    refund_source: ClassVar[str]

    @abstractmethod
    def fetch_refunds(
        self, *, window_start: datetime, window_end: datetime | None, page_token: str | None
    ) -> Page[ExternalRefund]:
        """One call's page of the refunds posted (or whose order changed) in the window. `newest` on a pass's
        last page carries how far the listing went when the refunds' own times are older than that."""


class ReturnFetching(CapabilityInterface):
    """Reading buyers' returns, and what the channel's words for them mean."""

    provides = Capability.FETCH_RETURNS

    @abstractmethod
    def fetch_returns(
        self, *, window_start: datetime, window_end: datetime | None, page_token: str | None
    ) -> Page[ExternalReturn]:
        """One call's page of the returns made or changed in the window (see `fetch_refunds` for `newest`)."""

    @classmethod
    @abstractmethod
    def return_source(cls, incoming: ExternalReturn) -> str:
        """Which of the channel's return sources this is: amazon_fba, amazon_mfn, shopify or woocommerce."""

    @classmethod
    def return_state(cls, incoming: ExternalReturn) -> str:
        """The ReturnState of the channel's status (here: the words shops commonly use)."""
        text = incoming.status.strip().lower()
        if text in ("received", "refunded", "completed"):
            return ReturnState.RECEIVED
        return ReturnState.REQUESTED

    @classmethod
    def return_key(cls, incoming: ExternalReturn) -> str:
        """The store-unique id of one returned SKU (one record per SKU)."""
        return incoming.external_id[:200]


class RefundExecuting(CapabilityInterface):
    """Giving money back on the channel for a refund a person asked for and approved in ACORN."""

    provides = Capability.EXECUTE_REFUNDS
    refund_execution_mode: ClassVar[RefundExecutionMode] = RefundExecutionMode.IMMEDIATE
    refund_shipping: ClassVar[RefundShipping] = RefundShipping.PER_ORDER
    # Besides whole units: an amount on an order item with no units (a price adjustment, or less than the
    # units are worth), and an amount on the whole order tied to no item (goodwill). `RefundRequest.items`
    # carries the first as (item id, 0, parts) and the second as ("", 0, (("other", amount),)).
    refunds_line_amounts: ClassVar[bool] = True
    refunds_order_amounts: ClassVar[bool] = True

    @classmethod
    def refund_refusal(cls, order: RefundableOrder) -> str:
        """Why the channel will not refund this (paid, not cancelled) order through ACORN; "" when it will."""
        return ""

    @classmethod
    def refund_reason(cls, *, note: str) -> str:
        """The reason sent with the refund (the requester's note, unless the channel takes only codes)."""
        return note[:200] or "Refund"

    @abstractmethod
    def execute_refund(self, request: RefundRequest, *, restock: bool = False) -> ChannelRefundResult:
        """Refund once (`request.adjustment_id` is the idempotency key): done, or submitted (`submission_id`)."""

    def refund_submission_result(self, *, submission_id: str) -> FeedResult:
        """The outcome of a submitted refund (SUBMISSION mode only)."""
        raise ChannelCapabilityMissing("This channel does not take refunds as submissions.")


class ShipmentConfirming(CapabilityInterface):
    """Telling the channel that a parcel left, with its carrier and tracking."""

    provides = Capability.CONFIRM_SHIPMENTS
    shipment_confirmation_mode: ClassVar[ShipmentConfirmationMode] = ShipmentConfirmationMode.PER_SHIPMENT

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> str:
        """Confirm one parcel (PER_SHIPMENT mode); returns the channel's reference for it."""
        raise ChannelCapabilityMissing("This channel takes shipment confirmations in submissions.")

    def submit_shipment_confirmations(self, confirmations: Sequence[ShipmentConfirmation]) -> str:
        """Submit several parcels together (BATCHED_SUBMISSION mode; message N is the N-th); returns the
        submission id to read with `shipment_submission_result`."""
        raise ChannelCapabilityMissing("This channel confirms shipments one by one.")

    def shipment_submission_result(self, *, submission_id: str) -> FeedResult:
        """The outcome of a submission, message by message (BATCHED_SUBMISSION mode)."""
        raise ChannelCapabilityMissing("This channel confirms shipments one by one.")


class StockPushing(CapabilityInterface):
    """Setting the quantity the channel offers for sale. How depends on where the channel keeps it: the
    interfaces below (one per way) say what ACORN calls."""

    provides = Capability.PUSH_STOCK
    # The token bucket (channels.ratelimit) quantity writes draw from.
    stock_write_operation: ClassVar[str]


class LocationStockPushing(StockPushing):
    """A quantity per inventory item and location, set compare-and-set (Shopify): the listing is found in
    the channel's stock records, set at the shop's primary location against what ACORN last saw there; a
    refused compare-and-set is read again and decided again."""

    @abstractmethod
    def fetch_stock(self, *, page_token: str | None = None) -> Page[ChannelStock]:
        """One page of the channel's stock records (per location)."""

    @abstractmethod
    def primary_location_id(self) -> str:
        """The location ACORN sets quantities at ("" when there is none)."""

    @abstractmethod
    def fetch_item_stock(self, *, inventory_item_id: str, location_id: str) -> ChannelStock | None:
        """One item's quantities at one location, or None when it is no longer stocked there."""

    @abstractmethod
    def set_available(
        self, *, inventory_item_id: str, location_id: str, quantity: int, expected: int | None, key: str
    ) -> StockPushResult:
        """Set the available quantity if the channel still shows `expected` (else a conflict); `key` makes a
        retry a replay."""


class ProductStockPushing(StockPushing):
    """One quantity per product or variation, set outright (WooCommerce)."""

    @abstractmethod
    def fetch_stock(self, *, page_token: str | None = None) -> Page[ChannelStock]:
        """One page of the channel's products with their stock."""

    @abstractmethod
    def set_stock(self, *, channel_product_id: str, quantity: int) -> StockPushResult:
        """Set the product's (or "product/variation") quantity."""


class ListingStockPushing(StockPushing):
    """A quantity per seller SKU in each marketplace of the store (Amazon merchant-fulfilled listings)."""

    @abstractmethod
    def set_mfn_quantity(self, *, sku: str, marketplace: str, quantity: int) -> ListingUpdate:
        """Set the SKU's quantity in one marketplace; the channel may refuse it (INVALID, with its issues)."""


class FbaStockReading(CapabilityInterface):
    """Reading the stock the channel keeps in its own fulfilment network (Amazon FBA), per marketplace."""

    provides = Capability.READ_FBA_STOCK

    @abstractmethod
    def fetch_inventory_summaries(self, *, marketplace: str, page_token: str | None) -> Page[InventorySummary]:
        """One page of the stock summaries of one of the store's marketplaces."""


class WebhookReceiving(CapabilityInterface):
    """Pushing changes to ACORN as signed webhooks: subscribing to them, and reading the order ones."""

    provides = Capability.RECEIVE_WEBHOOKS
    # The URL name of ACORN's receiving view, and whether its URL names the store (a per-store key) because
    # deliveries do not say which shop they come from.
    webhook_view: ClassVar[str]
    webhook_url_names_store: ClassVar[bool] = False
    # Each store's webhooks are signed with a secret ACORN gives them (else with the app's secret).
    webhook_secret_per_store: ClassVar[bool] = False
    # Topics whose body is an order (or names one), and topics that say an order was deleted.
    order_webhook_topics: ClassVar[frozenset[str]] = frozenset()
    deleted_order_webhook_topics: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def register_webhooks(self, *, delivery_url: str, secret: str) -> list[str]:
        """Subscribe `delivery_url` to the topics ACORN acts on (idempotent); returns what is subscribed."""

    @abstractmethod
    def unregister_webhooks(self, *, delivery_url: str) -> list[str]:
        """Remove the subscriptions that deliver to `delivery_url`; returns what was removed."""

    @classmethod
    @abstractmethod
    def order_from_webhook(cls, *, topic: str, payload: Any) -> ExternalOrder | None:
        """The order an order topic's body carries; None when it must be read from the API (`fetch_order`).
        A body that can never be read raises ValueError."""

    def fetch_order(self, order_id: str) -> ExternalOrder | None:
        """One order by its id; None when the channel no longer has it."""
        raise ChannelCapabilityMissing("This channel's order webhooks carry the whole order.")


class MarketplaceParticipationReading(CapabilityInterface):
    """Asking the channel in which of its marketplaces the seller really sells (Amazon Sellers API)."""

    provides = Capability.READ_MARKETPLACE_PARTICIPATIONS

    @abstractmethod
    def fetch_marketplace_participations(self) -> list[MarketplaceParticipation]:
        """Every marketplace the seller can sell in, participating or not."""


class SettlementListing(CapabilityInterface):
    """The channel's settlements: what it paid out for a period, line by line (Amazon settlement V2 reports).

    For Finance: listing and reading are implemented for Amazon; importing stays `manage.py import_settlement`
    until the finance sync uses this."""

    provides = Capability.LIST_SETTLEMENTS

    @abstractmethod
    def list_settlements(self, *, created_since: datetime | None, page_token: str | None) -> Page[SettlementReference]:
        """One page of the settlements the channel lists, newest first."""

    @abstractmethod
    def read_settlement_document(self, reference: SettlementReference) -> SettlementDocument:
        """A settlement's header and every line (rows that cannot be read are in `bad_records`)."""


class PayoutListing(CapabilityInterface):
    """The channel's payment service's payouts and the balance transactions each is made of (Shopify Payments
    `shopifyPaymentsAccount { payouts, balanceTransactions }`). Implemented for Shopify; finance imports each
    paid payout as a statement (finance.settlements.shopify)."""

    provides = Capability.LIST_PAYOUTS

    @abstractmethod
    def list_payouts(self, *, issued_after: datetime, page_token: str | None) -> Page[Payout]:
        """One page of payouts issued after the time."""

    @abstractmethod
    def fetch_payout_lines(self, *, payout_id: str, page_token: str | None) -> Page[PayoutLine]:
        """One page of the balance transactions of one payout."""


class FinancialTransactionReading(CapabilityInterface):
    """Every money movement on the channel as it is posted (Amazon Finances 2024-06-19 `listTransactions`:
    deferred and released, fees and reimbursements included). Implemented for Amazon; Finance part 1 reads it."""

    provides = Capability.READ_FINANCIAL_TRANSACTIONS

    @abstractmethod
    def fetch_financial_transactions(
        self, *, posted_after: datetime, posted_before: datetime | None, page_token: str | None
    ) -> Page[FinancialTransaction]:
        """One page of the transactions posted in the window."""

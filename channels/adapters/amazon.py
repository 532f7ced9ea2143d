"""Amazon SP-API through python-amazon-sp-api, LWA only (no AWS keys).

Orders come from the Orders API 2026-01-01 `searchOrders` by last-update time. The client library is
pointed at `store.endpoint` (the simulator, or blank for Amazon's regional endpoint) and at the LWA token
URL that belongs with it. Its pitfalls are handled here: a 429 or 5xx without a JSON `errors` body comes
back as an empty payload (treated as retryable, never as "no orders"), and every call has a timeout.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings
from sp_api.api import Feeds, Finances, Inventories, ListingsItems, Orders, Reports, Sellers
from sp_api.auth import AccessTokenClient
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import (
    Marketplaces,
    SellingApiException,
    SellingApiForbiddenException,
    SellingApiRequestThrottledException,
)

from acorn.money import to_decimal, validate_currency_code
from acorn.retry import retry_after_seconds
from channels.adapters.amazon_feeds import (
    FEED_CONTENT_TYPE,
    ORDER_ADJUSTMENT_FEED,
    SHIPMENT_CONFIRMATION_FEED,
    order_adjustment_feed,
    parse_processing_report,
    shipment_confirmation_feed,
)
from channels.adapters.amazon_reports import parse_fba_returns, parse_mfn_returns, parse_settlement
from channels.adapters.base import (
    AdjustmentKind,
    BadRecord,
    ChannelAdapter,
    ChannelAuthError,
    ChannelCursorExpired,
    ChannelError,
    ChannelRateLimited,
    ChannelRetryableError,
    ExternalAdjustment,
    ExternalOrder,
    ExternalOrderLine,
    ExternalRefund,
    ExternalReturn,
    FeedResult,
    FinancialTransaction,
    FulfillmentChannel,
    InventorySummary,
    ListingUpdate,
    OrderStatus,
    Page,
    RefundLine,
    RefundRequest,
    ReportInfo,
    SettlementDocument,
    ShipmentConfirmation,
)
from channels.marketplaces import (
    AMAZON_MARKETPLACE_TABLE,
    REGION_MARKETPLACES,
    marketplace_by_domain,
    marketplace_by_id,
)
from channels.models import AMAZON_MARKETPLACE_BY_ID, AMAZON_MARKETPLACES, Region, Store

logger = logging.getLogger(__name__)
T = TypeVar("T")

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
SELLER_CENTRAL_CONSENT_URL = {
    Region.NA: "https://sellercentral.amazon.com/apps/authorize/consent",
    Region.EU: "https://sellercentral-europe.amazon.com/apps/authorize/consent",
    Region.FE: "https://sellercentral.amazon.co.jp/apps/authorize/consent",
}
ORDERS_API_VERSION = "2026-01-01"
ORDERS_PAGE_SIZE = 100
ORDERS_INCLUDED_DATA = ["PROCEEDS", "FULFILLMENT", "RECIPIENT"]

# Orders 2026-01-01 fulfilment status → ACORN's normalised status.
STATUS_MAP = {
    "PENDING_AVAILABILITY": OrderStatus.PENDING_PAYMENT,
    "PENDING": OrderStatus.PENDING_PAYMENT,
    "UNSHIPPED": OrderStatus.PAID_UNSHIPPED,
    "PARTIALLY_SHIPPED": OrderStatus.PARTIALLY_SHIPPED,
    "SHIPPED": OrderStatus.SHIPPED,
    "CANCELLED": OrderStatus.CANCELLED,
    "UNFULFILLABLE": OrderStatus.CANCELLED,
}
# Proceeds breakdown types (Orders 2026-01-01 ItemProceedsBreakdown / OrderProceedsBreakdown): ITEM, SHIPPING,
# TAX and DISCOUNT are columns of the order line; GIFT_WRAP, COD_FEE and OTHER are line-level adjustments;
# DELIVERY_TIP is charged on the order, not on an item. The order's grandTotal is the sum of them all.
_LINE_COLUMNS = {"ITEM": "item", "SHIPPING": "shipping", "TAX": "tax", "DISCOUNT": "discount"}
_LINE_ADJUSTMENTS = {
    "GIFT_WRAP": AdjustmentKind.GIFT_WRAP,
    "COD_FEE": AdjustmentKind.COD_FEE,
    "OTHER": AdjustmentKind.OTHER,
}
_ORDER_ADJUSTMENTS = {"DELIVERY_TIP": AdjustmentKind.TIP}


class RecordError(ValueError):
    """A vendor record that cannot be turned into a DTO; the message says which field and why."""


@dataclass(frozen=True)
class AmazonApp:
    """The deployment's Amazon application (one LWA client for every seller)."""

    client_id: str
    client_secret: str
    application_id: str

    @classmethod
    def from_settings(cls) -> AmazonApp:
        return cls(settings.AMAZON_LWA_CLIENT_ID, settings.AMAZON_LWA_CLIENT_SECRET, settings.AMAZON_APPLICATION_ID)


def lwa_token_url(store: Store) -> str:
    """The LWA token endpoint that goes with the store's API endpoint."""
    return f"{store.endpoint.rstrip('/')}/auth/o2/token" if store.endpoint else LWA_TOKEN_URL


def consent_url(store: Store, *, state: str, redirect_uri: str, app: AmazonApp | None = None) -> str:
    """Seller Central's consent page for the website authorisation workflow."""
    app = app or AmazonApp.from_settings()
    base = (
        f"{store.endpoint.rstrip('/')}/apps/authorize/consent"
        if store.endpoint
        else SELLER_CENTRAL_CONSENT_URL[Region(store.region)]
    )
    query = {
        "application_id": app.application_id,
        "state": state,
        "version": "beta",
        "redirect_uri": redirect_uri,
    }
    if store.endpoint:  # the simulator also needs to know which seller account to create (or re-authorise)
        query.update({"region": store.region, "marketplaces": ",".join(store.marketplaces)})
        if store.seller_id:
            query["selling_partner_id"] = store.seller_id
    return f"{base}?{urlencode(query)}"


def exchange_authorization_code(store: Store, *, code: str, redirect_uri: str, app: AmazonApp | None = None) -> str:
    """Exchange an `spapi_oauth_code` for the seller's refresh token (LWA authorization_code grant)."""
    app = app or AmazonApp.from_settings()
    try:
        response = httpx.post(
            lwa_token_url(store),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
            },
            timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        raise ChannelRetryableError(f"Login with Amazon did not answer: {type(error).__name__}") from None
    if response.status_code >= 500:
        raise ChannelRetryableError(f"Login with Amazon answered {response.status_code}")
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code != 200 or "refresh_token" not in body:
        raise ChannelAuthError(
            f"Login with Amazon refused the authorisation code: {body.get('error', response.status_code)}"
        )
    return str(body["refresh_token"])


@cache
def _lwa_client_class(token_url: str) -> type[AccessTokenClient]:
    """An AccessTokenClient subclass aimed at another LWA URL (the library keeps it in class attributes)."""
    parts = urlsplit(token_url)
    return type(
        "AcornAccessTokenClient",
        (AccessTokenClient,),
        {"scheme": f"{parts.scheme}://", "host": parts.netloc, "path": parts.path or "/auth/o2/token"},
    )


@dataclass(frozen=True)
class _Marketplace:
    """Duck-typed stand-in for sp_api's Marketplaces enum member, so any endpoint can be used."""

    endpoint: str
    marketplace_id: str
    region: str


def _marketplace_for(store: Store, code: str | None = None) -> Any:
    """The library's marketplace to build a client with: the one asked for, else the store's first (a
    client needs one even for calls that take none), bound to the store's endpoint when it has one."""
    regional = REGION_MARKETPLACES.get(store.region, ())
    code = code or next(iter(store.sync_marketplaces() or store.marketplaces or regional), "")
    marketplace = AMAZON_MARKETPLACE_TABLE.get(code)
    if marketplace is None:
        raise ChannelError(f"{code or 'No marketplace'} is not an Amazon marketplace ACORN knows.")
    member: Marketplaces = marketplace.library_member
    if not store.endpoint:
        return member
    return _Marketplace(endpoint=store.endpoint.rstrip("/"), marketplace_id=member.marketplace_id, region=member.region)


def _parse_time(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise RecordError(f"{field}: missing or not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{field}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise RecordError(f"{field}: {value!r} has no time zone")
    return parsed.astimezone(UTC)


def _parse_money(value: Any, field: str, currency: str | None = None) -> tuple[Decimal, str]:
    if not isinstance(value, Mapping):
        raise RecordError(f"{field}: missing money object")
    code = str(value.get("currencyCode") or "")
    try:
        validate_currency_code(code)
    except Exception:
        raise RecordError(f"{field}.currencyCode: {code!r} is not an ISO 4217 code") from None
    if currency is not None and code != currency:
        raise RecordError(f"{field}.currencyCode: {code} differs from the order currency {currency}")
    raw = value.get("amount")
    if isinstance(raw, float) or raw is None or isinstance(raw, bool):
        raise RecordError(f"{field}.amount: {raw!r} is not a decimal string")
    try:
        return to_decimal(raw), code
    except (ValueError, InvalidOperation):
        raise RecordError(f"{field}.amount: {raw!r} is not a decimal amount") from None


def _breakdowns(breakdowns: Any, field: str, currency: str) -> list[tuple[str, Decimal]]:
    """(TYPE, signed amount) of a proceeds `breakdowns` list; a DISCOUNT always lowers the proceeds."""
    if breakdowns is None:
        return []
    if not isinstance(breakdowns, list):
        raise RecordError(f"{field}: not a list")
    found = []
    for index, entry in enumerate(breakdowns):
        if not isinstance(entry, Mapping):
            raise RecordError(f"{field}[{index}]: not an object")
        amount, _ = _parse_money(entry.get("subtotal"), f"{field}[{index}].subtotal", currency)
        kind = str(entry.get("type", "")).upper()
        # The model does not say which sign a DISCOUNT subtotal carries; it is money the seller does not get.
        found.append((kind, -abs(amount) if kind == "DISCOUNT" else amount))
    return found


def parse_order(raw: Mapping[str, Any]) -> ExternalOrder:
    """Turn one Orders 2026-01-01 order into an ExternalOrder, or raise RecordError naming the field.

    Money comes from the PROCEEDS dataset: each item's breakdowns make its line (ITEM, SHIPPING, TAX,
    DISCOUNT) and its line-level adjustments (GIFT_WRAP, COD_FEE, OTHER); the order's own DELIVERY_TIP is an
    order adjustment. `grandTotal` is the total; what it holds beyond all of them is left to ingest to flag."""
    order_id = raw.get("orderId")
    if not isinstance(order_id, str) or not order_id.strip():
        raise RecordError("orderId: missing")
    sales_channel = raw.get("salesChannel") or {}
    marketplace_id = sales_channel.get("marketplaceId", "") if isinstance(sales_channel, Mapping) else ""
    fulfillment = raw.get("fulfillment") or {}
    raw_status = str(fulfillment.get("fulfillmentStatus", "")) if isinstance(fulfillment, Mapping) else ""
    if raw_status not in STATUS_MAP:
        raise RecordError(f"fulfillment.fulfillmentStatus: {raw_status!r} is not a known status")
    proceeds = raw.get("proceeds")
    if not isinstance(proceeds, Mapping):
        raise RecordError("proceeds: missing (request includedData=PROCEEDS)")
    total, currency = _parse_money(proceeds.get("grandTotal"), "proceeds.grandTotal")
    adjustments: list[ExternalAdjustment] = []
    for kind, amount in _breakdowns(proceeds.get("breakdowns"), "proceeds.breakdowns", currency):
        if kind in _ORDER_ADJUSTMENTS and amount:
            adjustments.append(ExternalAdjustment(kind=_ORDER_ADJUSTMENTS[kind], amount=amount, label=kind))

    items = raw.get("orderItems")
    if not isinstance(items, list) or not items:
        raise RecordError("orderItems: missing or empty")
    lines = []
    for index, item in enumerate(items):
        line, line_adjustments = _parse_line(item, index, currency)
        lines.append(line)
        adjustments.extend(line_adjustments)

    recipient = raw.get("recipient") or {}
    address = recipient.get("deliveryAddress") if isinstance(recipient, Mapping) else None
    country = str(address.get("countryCode", "")) if isinstance(address, Mapping) else ""
    if not country and marketplace_id in AMAZON_MARKETPLACE_BY_ID:
        country = AMAZON_MARKETPLACES[AMAZON_MARKETPLACE_BY_ID[marketplace_id]][2]

    aliases = raw.get("orderAliases") or []
    merchant_order_id = next(
        (
            str(alias.get("aliasId", ""))
            for alias in aliases
            if isinstance(alias, Mapping) and alias.get("aliasType") == "SELLER_ORDER_ID"
        ),
        "",
    )
    fulfilled_by = fulfillment.get("fulfilledBy", "") if isinstance(fulfillment, Mapping) else ""
    return ExternalOrder(
        external_id=order_id.strip(),
        marketplace=AMAZON_MARKETPLACE_BY_ID.get(marketplace_id, marketplace_id),
        purchased_at=_parse_time(raw.get("createdTime"), "createdTime"),
        updated_at=_parse_time(raw.get("lastUpdatedTime"), "lastUpdatedTime"),
        raw_status=raw_status,
        status=STATUS_MAP[raw_status],
        fulfillment_channel=FulfillmentChannel.FBA if fulfilled_by == "AMAZON" else FulfillmentChannel.MERCHANT,
        currency=currency,
        total_amount=total,
        buyer_country=country[:2].upper(),
        lines=tuple(lines),
        merchant_order_id=merchant_order_id[:100],
        adjustments=tuple(adjustments),
    )


def _parse_line(item: Any, index: int, currency: str) -> tuple[ExternalOrderLine, list[ExternalAdjustment]]:
    field = f"orderItems[{index}]"
    if not isinstance(item, Mapping):
        raise RecordError(f"{field}: not an object")
    item_id = item.get("orderItemId")
    if not isinstance(item_id, str) or not item_id:
        raise RecordError(f"{field}.orderItemId: missing")
    quantity = item.get("quantityOrdered")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise RecordError(f"{field}.quantityOrdered: {quantity!r} is not a whole number")
    product = item.get("product") or {}
    if not isinstance(product, Mapping):
        raise RecordError(f"{field}.product: not an object")
    sku = product.get("sellerSku")
    if not isinstance(sku, str) or not sku:
        raise RecordError(f"{field}.product.sellerSku: missing")
    price = product.get("price") or {}
    unit_price, _ = (
        _parse_money(price.get("unitPrice"), f"{field}.product.price.unitPrice", currency)
        if isinstance(price, Mapping) and price.get("unitPrice") is not None
        else (Decimal(0), currency)
    )
    proceeds = item.get("proceeds") or {}
    if not isinstance(proceeds, Mapping):
        raise RecordError(f"{field}.proceeds: not an object")
    breakdowns = _breakdowns(proceeds.get("breakdowns"), f"{field}.proceeds.breakdowns", currency)
    columns = dict.fromkeys(_LINE_COLUMNS.values(), Decimal(0))
    adjustments: list[ExternalAdjustment] = []
    for kind, amount in breakdowns:
        if kind in _LINE_COLUMNS:
            columns[_LINE_COLUMNS[kind]] += amount
        elif amount:
            adjustments.append(
                ExternalAdjustment(
                    kind=_LINE_ADJUSTMENTS.get(kind, AdjustmentKind.OTHER),
                    amount=amount,
                    label=kind,
                    line_external_id=item_id,
                )
            )
    if not breakdowns:
        # No breakdowns: the item's proceeds total, else its price, is all there is to know.
        if proceeds.get("proceedsTotal") is not None:
            columns["item"], _ = _parse_money(
                proceeds.get("proceedsTotal"), f"{field}.proceeds.proceedsTotal", currency
            )
        else:
            columns["item"] = unit_price * quantity
    line = ExternalOrderLine(
        external_id=item_id,
        sku=sku[:200],
        quantity=quantity,
        currency=currency,
        unit_price=unit_price,
        item_amount=columns["item"],
        tax_amount=columns["tax"],
        shipping_amount=columns["shipping"],
        discount_amount=-columns["discount"],
        asin=str(product.get("asin", ""))[:20],
        title=str(product.get("title", ""))[:500],
    )
    return line, adjustments


def _count(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"{field}: {value!r} is not a whole, non-negative quantity")
    return value


def parse_inventory_summary(raw: Mapping[str, Any], *, marketplace: str) -> InventorySummary:
    """One FBA Inventory v1 summary (with details) → InventorySummary, or RecordError naming the field."""
    sku = raw.get("sellerSku")
    if not isinstance(sku, str) or not sku:
        raise RecordError("sellerSku: missing")
    details = raw.get("inventoryDetails") or {}
    if not isinstance(details, Mapping):
        raise RecordError("inventoryDetails: not an object")

    def nested(name: str, total: str) -> int:
        block = details.get(name) or {}
        return _count(block.get(total) if isinstance(block, Mapping) else block, f"inventoryDetails.{name}.{total}")

    inbound = sum(
        _count(details.get(name), f"inventoryDetails.{name}")
        for name in ("inboundWorkingQuantity", "inboundShippedQuantity", "inboundReceivingQuantity")
    )
    updated = raw.get("lastUpdatedTime")  # Amazon sends "" when it has no time
    return InventorySummary(
        sku=sku[:200],
        marketplace=marketplace,
        fulfillable=_count(details.get("fulfillableQuantity"), "inventoryDetails.fulfillableQuantity"),
        inbound=inbound,
        reserved=nested("reservedQuantity", "totalReservedQuantity"),
        unfulfillable=nested("unfulfillableQuantity", "totalUnfulfillableQuantity"),
        researching=nested("researchingQuantity", "totalResearchingQuantity"),
        total=_count(raw.get("totalQuantity"), "totalQuantity"),
        asin=str(raw.get("asin", ""))[:20],
        fnsku=str(raw.get("fnSku", ""))[:20],
        condition=str(raw.get("condition", ""))[:30],
        updated_at=_parse_time(updated, "lastUpdatedTime") if updated else None,
    )


def _finance_amount(value: Any, field: str) -> tuple[Decimal, str]:
    """Finances money is a JSON *number* ({"currencyAmount": 25.37, "currencyCode": "USD"}).

    The client library decodes JSON numbers to float; the float's shortest repr is the number's own text
    for money-sized values, so Decimal(repr(x)) recovers the amount exactly without binary noise.
    """
    if not isinstance(value, Mapping):
        raise RecordError(f"{field}: missing money object")
    code = str(value.get("currencyCode") or "")
    try:
        validate_currency_code(code)
    except Exception:
        raise RecordError(f"{field}.currencyCode: {code!r} is not an ISO 4217 code") from None
    raw = value.get("currencyAmount")
    if isinstance(raw, bool) or raw is None:
        raise RecordError(f"{field}.currencyAmount: {raw!r} is not a number")
    try:
        amount = Decimal(repr(raw)) if isinstance(raw, float) else to_decimal(raw)
    except (ValueError, InvalidOperation):
        raise RecordError(f"{field}.currencyAmount: {raw!r} is not a number") from None
    return amount, code


def _leaf_breakdowns(nodes: Any, field: str, currency: str) -> list[tuple[str, Decimal]]:
    leaves: list[tuple[str, Decimal]] = []
    for index, node in enumerate(nodes or []):
        if not isinstance(node, Mapping):
            raise RecordError(f"{field}[{index}]: not an object")
        children = node.get("breakdowns") or []
        if children:
            leaves.extend(_leaf_breakdowns(children, f"{field}[{index}].breakdowns", currency))
            continue
        amount, code = _finance_amount(node.get("breakdownAmount"), f"{field}[{index}].breakdownAmount")
        if code != currency:
            raise RecordError(f"{field}[{index}].breakdownAmount.currencyCode: {code} differs from {currency}")
        leaves.append((str(node.get("breakdownType", ""))[:100], amount))
    return leaves


def parse_transaction(raw: Mapping[str, Any]) -> FinancialTransaction:
    """One Finances 2024-06-19 transaction → FinancialTransaction, or RecordError naming the field."""
    total, currency = _finance_amount(raw.get("totalAmount"), "totalAmount")
    identifiers = {
        str(item.get("relatedIdentifierName")): str(item.get("relatedIdentifierValue", ""))
        for item in raw.get("relatedIdentifiers") or []
        if isinstance(item, Mapping)
    }
    posted = _parse_time(raw.get("postedDate"), "postedDate")
    transaction_type = str(raw.get("transactionType") or "")
    if not transaction_type:
        raise RecordError("transactionType: missing")
    metadata = raw.get("sellingPartnerMetadata") or {}
    marketplace_id = str(metadata.get("marketplaceId", "")) if isinstance(metadata, Mapping) else ""
    # Older payloads carry no transactionId: derive a stable one from what identifies the movement.
    external_id = str(raw.get("transactionId") or "") or "|".join(
        [
            transaction_type,
            identifiers.get("ORDER_ID", ""),
            identifiers.get("SHIPMENT_ID", ""),
            posted.isoformat(),
            str(total),
        ]
    )
    return FinancialTransaction(
        external_id=external_id[:200],
        transaction_type=transaction_type[:60],
        status=str(raw.get("transactionStatus") or "")[:30],
        posted_at=posted,
        currency=currency,
        total_amount=total,
        marketplace=AMAZON_MARKETPLACE_BY_ID.get(marketplace_id, marketplace_id)[:20],
        order_id=identifiers.get("ORDER_ID", "")[:100],
        settlement_id=identifiers.get("SETTLEMENT_ID", "")[:100],
        components=tuple(_leaf_breakdowns(raw.get("breakdowns"), "breakdowns", currency)),
    )


# Finances v0 charge / fee types → ACORN's refund components (REFUND_COMPONENTS).
_V0_CHARGE_COMPONENTS = {
    "Principal": "principal",
    "ShippingCharge": "shipping",
    "Shipping": "shipping",
    "ReturnShipping": "shipping",
    "GiftWrap": "gift_wrap",
    "Tax": "tax",
    "ShippingTax": "tax",
    "GiftWrapTax": "tax",
}
_V0_FEE_COMPONENTS = {"Commission": "commission", "RefundCommission": "refund_admin_fee"}


def _v0_component(kind: str, name: str) -> str:
    if kind == "withheld":
        return "tax_withheld"
    if kind == "charge":
        if name in _V0_CHARGE_COMPONENTS:
            return _V0_CHARGE_COMPONENTS[name]
        return "tax" if "Tax" in name else "other"
    if kind == "fee":
        return _V0_FEE_COMPONENTS.get(name, "other_fee")
    return "promotion"


def _v0_amounts(
    entries: Any, field: str, kind: str, type_key: str, amount_key: str, currency: str | None
) -> list[tuple[str, Decimal, str]]:
    found: list[tuple[str, Decimal, str]] = []
    if entries is None:
        return found
    if not isinstance(entries, list):
        raise RecordError(f"{field}: not a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise RecordError(f"{field}[{index}]: not an object")
        raw = entry.get(amount_key)
        money = (
            {"currencyAmount": raw.get("CurrencyAmount"), "currencyCode": raw.get("CurrencyCode")}
            if isinstance(raw, Mapping)
            else None
        )
        amount, code = _finance_amount(money, f"{field}[{index}].{amount_key}")
        if currency is not None and code != currency:
            raise RecordError(f"{field}[{index}].{amount_key}.CurrencyCode: {code} differs from {currency}")
        found.append((_v0_component(kind, str(entry.get(type_key, ""))), amount, code))
    return found


def _withheld(block: Any, field: str) -> list[Any]:
    if not isinstance(block, Mapping):
        raise RecordError(f"{field}: not an object")
    taxes = block.get("TaxesWithheld") or []
    if not isinstance(taxes, list):
        raise RecordError(f"{field}.TaxesWithheld: not a list")
    return taxes


def parse_refund_event(raw: Mapping[str, Any]) -> ExternalRefund:
    """One Finances v0 RefundEventList entry → ExternalRefund with item-level components, or RecordError."""
    order_id = raw.get("AmazonOrderId")
    if not isinstance(order_id, str) or not order_id:
        raise RecordError("AmazonOrderId: missing")
    posted = _parse_time(raw.get("PostedDate"), "PostedDate")
    items = raw.get("ShipmentItemAdjustmentList")
    if not isinstance(items, list) or not items:
        raise RecordError("ShipmentItemAdjustmentList: missing or empty")
    currency: str | None = None
    lines: list[RefundLine] = []
    for index, item in enumerate(items):
        field = f"ShipmentItemAdjustmentList[{index}]"
        if not isinstance(item, Mapping):
            raise RecordError(f"{field}: not an object")
        amounts = [
            *_v0_amounts(
                item.get("ItemChargeAdjustmentList"), f"{field}.ItemChargeAdjustmentList", "charge", "ChargeType",
                "ChargeAmount", currency,
            ),
            *_v0_amounts(
                item.get("ItemFeeAdjustmentList"), f"{field}.ItemFeeAdjustmentList", "fee", "FeeType", "FeeAmount",
                currency,
            ),
            *_v0_amounts(
                item.get("PromotionAdjustmentList"), f"{field}.PromotionAdjustmentList", "promotion",
                "PromotionType", "PromotionAmount", currency,
            ),
            *_v0_amounts(
                [
                    tax
                    for index, block in enumerate(item.get("ItemTaxWithheldList") or [])
                    for tax in _withheld(block, f"{field}.ItemTaxWithheldList[{index}]")
                ],
                f"{field}.ItemTaxWithheldList.TaxesWithheld", "withheld", "ChargeType", "ChargeAmount", currency,
            ),
        ]  # fmt: skip
        for _, _, code in amounts:
            if currency is None:
                currency = code
            elif code != currency:
                raise RecordError(f"{field}: amounts in {code} and {currency}")
        totals: dict[str, Decimal] = {}
        for name, amount, _ in amounts:
            totals[name] = totals.get(name, Decimal(0)) + amount
        quantity = item.get("QuantityShipped", 0)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise RecordError(f"{field}.QuantityShipped: {quantity!r} is not a whole number")
        lines.append(
            RefundLine(
                order_item_id=str(item.get("OrderItemId", ""))[:100],
                sku=str(item.get("SellerSKU", ""))[:200],
                quantity=quantity,
                components=tuple(sorted(totals.items())),
                adjustment_id=str(item.get("OrderAdjustmentItemId", ""))[:100],
            )
        )
    if currency is None:
        raise RecordError("ShipmentItemAdjustmentList: no amounts")
    adjustment_ids = sorted(line.adjustment_id or line.order_item_id for line in lines)
    marketplace_name = str(raw.get("MarketplaceName", ""))
    return ExternalRefund(
        # Amazon gives a refund event no id of its own: the order, the time and the adjusted items name it.
        external_id=f"{order_id}|{posted.strftime('%Y%m%dT%H%M%S')}|{','.join(adjustment_ids)}"[:200],
        order_id=order_id[:100],
        posted_at=posted,
        currency=currency,
        lines=tuple(lines),
        marketplace=_marketplace_code_from_name(marketplace_name),
        merchant_order_id=str(raw.get("SellerOrderId", ""))[:100],
        source="finances_v0",
    )


# Finances 2024-06-19 leaf breakdown types → ACORN's refund components (REFUND_COMPONENTS).
_TRANSACTION_COMPONENTS = {
    "Product Charges": "principal",
    "Principal": "principal",
    "Shipping": "shipping",
    "Shipping Charge": "shipping",
    "Return Shipping": "shipping",
    "Gift Wrap": "gift_wrap",
    "Tax": "tax",
    "Shipping Tax": "tax",
    "Gift Wrap Tax": "tax",
    "Promotion": "promotion",
    "Promotions": "promotion",
    "Commission": "commission",
    "Refund Commission": "refund_admin_fee",
    "Tax Withheld": "tax_withheld",
    "Marketplace Facilitator Tax": "tax_withheld",
}


def _transaction_component(name: str) -> str:
    if name in _TRANSACTION_COMPONENTS:
        return _TRANSACTION_COMPONENTS[name]
    lowered = name.lower()
    if "withheld" in lowered or "facilitator" in lowered:
        return "tax_withheld"
    if "tax" in lowered:
        return "tax"
    return "other_fee" if "fee" in lowered else "other"


def parse_refund_transaction(raw: Mapping[str, Any]) -> ExternalRefund:
    """One Finances 2024-06-19 ``Refund`` transaction → ExternalRefund (source "transactions"), or RecordError.

    Lines come from the transaction's items (SKU and quantity from their ProductContext); a transaction with
    no items gives one line with the transaction's leaf breakdowns."""
    if str(raw.get("transactionType") or "") != "Refund":
        raise RecordError("transactionType: not a Refund")
    parsed = parse_transaction(raw)
    if not parsed.order_id:
        raise RecordError("relatedIdentifiers: no ORDER_ID")
    identifiers = {
        str(item.get("relatedIdentifierName")): str(item.get("relatedIdentifierValue", ""))
        for item in raw.get("relatedIdentifiers") or []
        if isinstance(item, Mapping)
    }
    currency = parsed.currency
    lines: list[RefundLine] = []
    items = raw.get("items") or []
    if not isinstance(items, list):
        raise RecordError("items: not a list")
    for index, item in enumerate(items):
        field = f"items[{index}]"
        if not isinstance(item, Mapping):
            raise RecordError(f"{field}: not an object")
        totals: dict[str, Decimal] = {}
        for name, amount in _leaf_breakdowns(item.get("breakdowns"), f"{field}.breakdowns", currency):
            component = _transaction_component(name)
            totals[component] = totals.get(component, Decimal(0)) + amount
        product = next(
            (
                c
                for c in item.get("contexts") or []
                if isinstance(c, Mapping) and c.get("contextType") == "ProductContext"
            ),
            {},
        )
        quantity = product.get("quantityShipped", 0) if isinstance(product, Mapping) else 0
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise RecordError(f"{field}.contexts.quantityShipped: {quantity!r} is not a whole number")
        lines.append(
            RefundLine(
                order_item_id="",
                sku=str(product.get("sku", "") if isinstance(product, Mapping) else "")[:200],
                quantity=quantity,
                components=tuple(sorted(totals.items())),
            )
        )
    if not lines:
        totals = {}
        for name, amount in parsed.components:
            component = _transaction_component(name)
            totals[component] = totals.get(component, Decimal(0)) + amount
        lines.append(RefundLine(order_item_id="", sku="", quantity=0, components=tuple(sorted(totals.items()))))
    return ExternalRefund(
        external_id=(identifiers.get("REFUND_ID") or parsed.external_id)[:200],
        order_id=parsed.order_id,
        posted_at=parsed.posted_at,
        currency=currency,
        lines=tuple(lines),
        marketplace=parsed.marketplace if parsed.marketplace in AMAZON_MARKETPLACES else "",
        source="transactions",
    )


def _marketplace_code_from_name(name: str) -> str:
    """ "Amazon.de" → "DE" (v0 events name the marketplace by its domain); "" when unknown."""
    marketplace = marketplace_by_domain(name)
    return marketplace.code if marketplace is not None else ""


@dataclass(frozen=True, slots=True)
class MarketplaceParticipation:
    """One entry of getMarketplaceParticipations: a marketplace the seller can sell in."""

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


def parse_participation(raw: Mapping[str, Any]) -> MarketplaceParticipation:
    """One {marketplace, participation, storeName} entry → MarketplaceParticipation, or RecordError."""
    marketplace, participation = raw.get("marketplace"), raw.get("participation")
    if not isinstance(marketplace, Mapping) or not isinstance(participation, Mapping):
        raise RecordError("marketplace / participation: missing")
    marketplace_id = marketplace.get("id")
    if not isinstance(marketplace_id, str) or not marketplace_id:
        raise RecordError("marketplace.id: missing")
    flags = (participation.get("isParticipating"), participation.get("hasSuspendedListings"))
    if not all(isinstance(flag, bool) for flag in flags):
        raise RecordError("participation: isParticipating and hasSuspendedListings must be booleans")
    known = marketplace_by_id(marketplace_id)
    return MarketplaceParticipation(
        marketplace_id=marketplace_id,
        code=known.code if known is not None else "",
        name=str(marketplace.get("name") or "")[:100],
        country=str(marketplace.get("countryCode") or "")[:2],
        currency=str(marketplace.get("defaultCurrencyCode") or "")[:3],
        participating=bool(flags[0]),
        suspended=bool(flags[1]),
        store_name=str(raw.get("storeName") or "")[:200],
    )


SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
FBA_RETURNS_REPORT_TYPE = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
MFN_RETURNS_REPORT_TYPE = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
LISTINGS_REPORT_TYPE = "GET_MERCHANT_LISTINGS_ALL_DATA"


def parse_report(raw: Mapping[str, Any]) -> ReportInfo:
    """One Reports 2021-06-30 report → ReportInfo, or RecordError naming the field."""
    report_id = raw.get("reportId")
    if not isinstance(report_id, str) or not report_id:
        raise RecordError("reportId: missing")

    def when(name: str) -> datetime | None:
        value = raw.get(name)
        return _parse_time(value, name) if value else None

    marketplaces = raw.get("marketplaceIds") or []
    return ReportInfo(
        report_id=report_id,
        report_type=str(raw.get("reportType", "")),
        status=str(raw.get("processingStatus", "")),
        created_at=when("createdTime"),
        data_start=when("dataStartTime"),
        data_end=when("dataEndTime"),
        document_id=str(raw.get("reportDocumentId", "")),
        marketplaces=tuple(AMAZON_MARKETPLACE_BY_ID.get(m, m) for m in marketplaces if isinstance(m, str)),
    )


def classify_error(error: Exception) -> ChannelError:
    """Map the client library's exceptions onto ACORN's error classes (retry, re-authorise, restart, fail)."""
    if isinstance(error, AuthorizationError):
        code = str(getattr(error, "error_code", "") or "")
        status = getattr(error, "status_code", 0) or 0
        if status >= 500:
            return ChannelRetryableError(f"Login with Amazon answered {status}", code="lwa_unavailable")
        return ChannelAuthError(f"Login with Amazon refused the refresh token ({code or status})")
    if isinstance(error, SellingApiRequestThrottledException):
        return ChannelRateLimited("Amazon throttled the request (429)", retry_after=retry_after_seconds(error.headers))
    if isinstance(error, SellingApiForbiddenException):
        return ChannelAuthError("Amazon refused access (403): the authorisation was revoked or lacks this role")
    if isinstance(error, SellingApiException):
        status = getattr(error, "code", 0) or 0
        if status >= 500:
            return ChannelRetryableError(f"Amazon answered {status}", code=f"http_{status}")
        message = str(getattr(error, "message", "") or error)
        if status == 400 and "token" in message.lower():
            return ChannelCursorExpired(f"Amazon refused the pagination token: {message[:200]}")
        return ChannelError(f"Amazon refused the request ({status}): {message[:200]}")
    if isinstance(error, httpx.TimeoutException):
        return ChannelRetryableError("Amazon did not answer in time", code="timeout")
    if isinstance(error, httpx.TransportError):
        return ChannelRetryableError(f"Connection to Amazon failed: {type(error).__name__}", code="connection")
    return ChannelError(f"Unexpected error talking to Amazon: {type(error).__name__}")


class AmazonAdapter(ChannelAdapter):
    key = "amazon"

    def __init__(self, *, store: Store, secrets: Mapping[str, Any], app: AmazonApp | None = None) -> None:
        super().__init__(store=store, secrets=secrets)
        self.app = app or AmazonApp.from_settings()
        refresh_token = secrets.get("refresh_token")
        if not refresh_token:
            raise ChannelAuthError("The store has no refresh token: authorise it in the console.")
        self._refresh_token = str(refresh_token)

    def _call(self, api: Any, method: str, *args: Any, marketplace: str | None = None, **kwargs: Any) -> Any:
        """One SP-API call through the client library: a client bound to the store's endpoint and LWA URL,
        errors classified (retry / re-authorise / restart / fail), connection closed."""
        options = {"version": kwargs.pop("version")} if "version" in kwargs else {}
        client = api(
            _marketplace_for(self.store, marketplace),
            refresh_token=self._refresh_token,
            credentials={"lwa_app_id": self.app.client_id, "lwa_client_secret": self.app.client_secret},
            auth_token_client_class=_lwa_client_class(lwa_token_url(self.store)),
            timeout=settings.ACORN_VENDOR_TIMEOUT_SECONDS,
            **options,
        )
        if self.store.endpoint:
            client.endpoint = self.store.endpoint.rstrip("/")
        try:
            return getattr(client, method)(*args, **kwargs)
        except Exception as error:  # the library raises many types; classify_error sorts them
            raise classify_error(error) from None
        finally:
            client.close()

    def fetch_orders(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[ExternalOrder]:
        params: dict[str, Any] = {
            "lastUpdatedAfter": _iso(updated_after),
            "marketplaceIds": self.store.marketplace_ids(),
            "includedData": ORDERS_INCLUDED_DATA,
            "maxResultsPerPage": ORDERS_PAGE_SIZE,
        }
        if updated_before is not None:
            params["lastUpdatedBefore"] = _iso(updated_before)
        if page_token:
            params["paginationToken"] = page_token
        response = self._call(Orders, "search_orders", version=ORDERS_API_VERSION, **params)
        payload = response.payload
        raw_orders = _listed(payload, "orders")  # sp_api gives an empty payload for a 429/5xx without errors
        orders, bad = _parse_each(raw_orders, parse_order, id_key="orderId")
        window_end = payload.get("lastUpdatedBefore")
        return Page(
            items=tuple(orders),
            bad_records=tuple(bad),
            # The library moves the top-level `pagination` out of the payload; it exposes the token itself.
            next_token=response.next_token or (payload.get("pagination") or {}).get("nextToken") or None,
            window_end=_parse_time(window_end, "lastUpdatedBefore") if window_end else None,
            rate_limit=_decimal_or_none(response.rate_limit),
        )

    def fetch_transactions(
        self, *, posted_after: datetime, posted_before: datetime | None, page_token: str | None
    ) -> Page[FinancialTransaction]:
        """One page of Finances 2024-06-19 transactions posted in the window."""
        params: dict[str, Any] = {"postedAfter": _iso(posted_after)}
        if posted_before is not None:
            params["postedBefore"] = _iso(posted_before)
        if page_token:
            params["nextToken"] = page_token
        response = self._call(Finances, "list_transactions", version="2024-06-19", **params)
        payload = response.payload
        items, bad = _parse_each(_listed(payload, "transactions"), parse_transaction, id_key="transactionId")
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or payload.get("nextToken") or None,
            rate_limit=_decimal_or_none(response.rate_limit),
        )

    def fetch_inventory_summaries(self, *, marketplace: str, page_token: str | None) -> Page[InventorySummary]:
        """One page of FBA stock for one of the store's marketplaces (nextToken lives 30 s).

        `granularityId` and `marketplaceIds` name the same marketplace, both from the one marketplace
        table (the library used to fill granularityId from its own, right, id while marketplaceIds came
        from a hand-written table with Japan's id wrong: Amazon refused every JP call)."""
        if marketplace not in self.store.sync_marketplaces():
            raise ChannelError(
                f"Marketplace {marketplace} is not one the store reads ({', '.join(self.store.sync_marketplaces())})."
            )
        marketplace_id = AMAZON_MARKETPLACE_TABLE[marketplace].marketplace_id
        params: dict[str, Any] = {
            "details": "true",
            "granularityType": "Marketplace",
            "granularityId": marketplace_id,
            "marketplaceIds": [marketplace_id],
        }
        if page_token:
            params["nextToken"] = page_token
        response = self._call(Inventories, "get_inventory_summary_marketplace", marketplace=marketplace, **params)
        items, bad = _parse_each(
            _listed(response.payload, "inventorySummaries"),
            lambda raw: parse_inventory_summary(raw, marketplace=marketplace),
            id_key="sellerSku",
        )
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or None,
            rate_limit=_decimal_or_none(response.rate_limit),
        )

    def fetch_marketplace_participations(self) -> list[MarketplaceParticipation]:
        """The marketplaces the seller can sell in and whether they participate (Sellers API v1
        getMarketplaceParticipations, 0.016 requests per second, burst 15)."""
        response = self._call(Sellers, "get_marketplace_participation")
        payload = response.payload
        if not isinstance(payload, list):  # the library moves Amazon's top-level "payload" list here
            raise ChannelRetryableError("Amazon answered without a participations list", code="empty_response")
        participations, bad = _parse_each(payload, parse_participation, id_key="marketplace")
        if bad:
            logger.warning("amazon_participations_unreadable", extra={"store_id": self.store.pk, "count": len(bad)})
        return participations

    def list_reports(
        self, *, report_type: str, created_since: datetime | None = None, page_token: str | None = None
    ) -> Page[ReportInfo]:
        """Reports of one type, newest first (settlement V2 reports can only be listed, never requested)."""
        params: dict[str, Any] = (
            {"nextToken": page_token}
            if page_token  # Amazon wants the token alone on later pages
            else {"reportTypes": [report_type], "marketplaceIds": self.store.marketplace_ids(), "pageSize": 100}
        )
        if created_since is not None and not page_token:
            params["createdSince"] = _iso(created_since)
        response = self._call(Reports, "get_reports", **params)
        payload = response.payload
        items, bad = _parse_each(_listed(payload, "reports"), parse_report, id_key="reportId")
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or payload.get("nextToken") or None,
        )

    def request_report(self, *, report_type: str, data_start: datetime, data_end: datetime | None = None) -> str:
        """Ask Amazon to prepare a report; returns its id (poll with get_report)."""
        body: dict[str, Any] = {
            "reportType": report_type,
            "marketplaceIds": self.store.marketplace_ids(),
            "dataStartTime": _iso(data_start),
        }
        if data_end is not None:
            body["dataEndTime"] = _iso(data_end)
        payload = self._call(Reports, "create_report", **body).payload
        report_id = payload.get("reportId") if isinstance(payload, Mapping) else None
        if not report_id:
            raise ChannelRetryableError("Amazon did not return a report id", code="empty_response")
        return str(report_id)

    def get_report(self, *, report_id: str) -> ReportInfo:
        payload = self._call(Reports, "get_report", report_id).payload
        try:
            return parse_report(payload if isinstance(payload, Mapping) else {})
        except RecordError as error:
            raise ChannelError(f"Amazon's report {report_id} is unreadable: {error}") from None

    def download_report_document(self, *, document_id: str) -> str:
        """The report's text: fetched from its pre-signed URL and un-gzipped by the client library."""
        payload = self._call(Reports, "get_report_document", document_id, download=True).payload
        document = payload.get("document") if isinstance(payload, Mapping) else None
        if not isinstance(document, str):
            raise ChannelRetryableError("Amazon's report document could not be downloaded", code="empty_response")
        return document

    def read_settlement(self, *, document_id: str) -> SettlementDocument:
        """A settlement V2 report's document, parsed (rows that cannot be read are in `bad_records`)."""
        return parse_settlement(self.download_report_document(document_id=document_id))

    def read_returns(
        self, *, report_type: str, document_id: str, marketplace: str = ""
    ) -> tuple[list[ExternalReturn], list[BadRecord]]:
        """An FBA customer returns or MFN returns report's document, parsed into returns and bad rows."""
        text = self.download_report_document(document_id=document_id)
        if report_type == FBA_RETURNS_REPORT_TYPE:
            return parse_fba_returns(text, marketplace=marketplace)
        if report_type == MFN_RETURNS_REPORT_TYPE:
            return parse_mfn_returns(text, marketplace=marketplace)
        raise ChannelError(f"{report_type} is not a returns report")

    def fetch_refund_events(
        self, *, posted_after: datetime, posted_before: datetime | None, page_token: str | None
    ) -> Page[ExternalRefund]:
        """One page of Finances v0 refund events (item-level refund detail) posted in the window."""
        params: dict[str, Any] = {"PostedAfter": _iso(posted_after), "MaxResultsPerPage": 100}
        if posted_before is not None:
            params["PostedBefore"] = _iso(posted_before)
        if page_token:
            params["NextToken"] = page_token
        response = self._call(Finances, "list_financial_events", version="v0", **params)
        return self._refund_page(response)

    def fetch_refund_transactions(
        self, *, posted_after: datetime, posted_before: datetime | None, page_token: str | None
    ) -> Page[ExternalRefund]:
        """One page of Finances 2024-06-19 transactions posted in the window, keeping the ``Refund`` ones
        (listTransactions cannot filter by type; the others are read and left out)."""
        params: dict[str, Any] = {"postedAfter": _iso(posted_after)}
        if posted_before is not None:
            params["postedBefore"] = _iso(posted_before)
        if page_token:
            params["nextToken"] = page_token
        response = self._call(Finances, "list_transactions", version="2024-06-19", **params)
        payload = response.payload
        refunds = [
            raw
            for raw in _listed(payload, "transactions")
            if not isinstance(raw, Mapping) or raw.get("transactionType") == "Refund"
        ]
        items, bad = _parse_each(refunds, parse_refund_transaction, id_key="transactionId")
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or payload.get("nextToken") or None,
            rate_limit=_decimal_or_none(response.rate_limit),
        )

    def fetch_order_refund_events(self, *, order_id: str, page_token: str | None = None) -> Page[ExternalRefund]:
        """Refund events of one order (Finances v0 getFinancialEventsForOrder), one page."""
        params: dict[str, Any] = {"MaxResultsPerPage": 100}
        if page_token:
            params["NextToken"] = page_token
        response = self._call(Finances, "get_financial_events_for_order", order_id, version="v0", **params)
        return self._refund_page(response)

    def _refund_page(self, response: Any) -> Page[ExternalRefund]:
        payload = response.payload
        events = payload.get("FinancialEvents") if isinstance(payload, Mapping) else None
        if not isinstance(events, Mapping):
            raise ChannelRetryableError("Amazon answered without FinancialEvents", code="empty_response")
        refunds = events.get("RefundEventList") or []
        if not isinstance(refunds, list):
            raise ChannelError("Amazon's RefundEventList is not a list")
        items, bad = _parse_each(refunds, parse_refund_event, id_key="AmazonOrderId")
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or payload.get("NextToken") or None,
            rate_limit=_decimal_or_none(response.rate_limit),
        )

    def submit_feed(self, *, feed_type: str, document: bytes) -> str:
        """Upload a feed document and create the feed; returns the feed id (poll with get_feed_result).

        The document goes up as bytes: the client library would otherwise encode text as ISO-8859-1 and
        break any Chinese or Japanese product text."""
        created = self._call(Feeds, "create_feed_document", io.BytesIO(document), FEED_CONTENT_TYPE).payload
        document_id = created.get("feedDocumentId") if isinstance(created, Mapping) else None
        if not document_id:
            raise ChannelRetryableError("Amazon did not return a feed document id", code="empty_response")
        payload = self._call(
            Feeds, "create_feed", feed_type, document_id, marketplaceIds=self.store.marketplace_ids()
        ).payload
        feed_id = payload.get("feedId") if isinstance(payload, Mapping) else None
        if not feed_id:
            raise ChannelRetryableError("Amazon did not return a feed id", code="empty_response")
        return str(feed_id)

    def confirm_shipments(self, shipments: list[ShipmentConfirmation]) -> str:
        """Submit a shipment confirmation feed (merchant-fulfilled orders); message N is shipments[N-1]."""
        return self.submit_feed(
            feed_type=SHIPMENT_CONFIRMATION_FEED, document=shipment_confirmation_feed(self._merchant_id(), shipments)
        )

    def adjust_orders(self, refunds: list[RefundRequest]) -> str:
        """Submit an order adjustment feed (refunds of merchant-fulfilled orders); message N is refunds[N-1]."""
        return self.submit_feed(
            feed_type=ORDER_ADJUSTMENT_FEED, document=order_adjustment_feed(self._merchant_id(), refunds)
        )

    def get_feed_result(self, *, feed_id: str) -> FeedResult:
        """The feed's status and, once DONE, its processing report (what succeeded, what failed and why)."""
        payload = self._call(Feeds, "get_feed", feed_id).payload
        if not isinstance(payload, Mapping) or not payload.get("processingStatus"):
            raise ChannelRetryableError("Amazon answered without the feed's status", code="empty_response")
        status = str(payload["processingStatus"])
        result_document = str(payload.get("resultFeedDocumentId") or "")
        if status != "DONE" or not result_document:
            return FeedResult(feed_id=feed_id, status=status, result_document_id=result_document)
        text = self._call(Feeds, "get_feed_result_document", result_document)
        summary, messages = parse_processing_report(text if isinstance(text, str) else "")
        return FeedResult(
            feed_id=feed_id, status=status, result_document_id=result_document, messages=messages, **summary
        )

    def set_mfn_quantity(self, *, sku: str, marketplace: str, quantity: int) -> ListingUpdate:
        """Set the merchant-fulfilled quantity Amazon shows for one SKU (Listings Items patch)."""
        if quantity < 0:
            raise ValueError("A listed quantity cannot be negative")
        if marketplace not in self.store.marketplaces:
            raise ChannelError(f"Marketplace {marketplace} is not one of the store's")
        body = {
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
                }
            ],
        }
        payload = self._call(
            ListingsItems,
            "patch_listings_item",
            self._merchant_id(),
            sku,
            marketplace=marketplace,
            marketplaceIds=AMAZON_MARKETPLACES[marketplace][0],
            body=body,
        ).payload
        if not isinstance(payload, Mapping) or not payload.get("status"):
            raise ChannelRetryableError("Amazon answered without the listing's status", code="empty_response")
        issues = tuple(
            f"{issue.get('code', '')}: {issue.get('message', '')}"[:500]
            for issue in payload.get("issues") or []
            if isinstance(issue, Mapping)
        )
        return ListingUpdate(
            sku=str(payload.get("sku") or sku),
            status=str(payload["status"]),
            submission_id=str(payload.get("submissionId", "")),
            issues=issues,
        )

    def _merchant_id(self) -> str:
        if not self.store.seller_id:
            raise ChannelError("The store has no seller id yet: authorise it first.")
        return self.store.seller_id


def _listed(payload: Any, key: str) -> list[Any]:
    """The list under `key`, or retryable: sp_api returns an empty payload for a 429/5xx without a JSON error
    body, and "no list" must never be read as "nothing there"."""
    records = payload.get(key) if isinstance(payload, Mapping) else None
    if not isinstance(records, list):
        raise ChannelRetryableError(f"Amazon answered without a {key} list", code="empty_response")
    return records


def _parse_each(
    records: list[Any], parse: Callable[[Mapping[str, Any]], T], *, id_key: str
) -> tuple[list[T], list[BadRecord]]:
    """Parse every record; the ones that fail go to BadRecord with the reason (quarantined by the engine)."""
    items: list[T] = []
    bad: list[BadRecord] = []
    for raw in records:
        if not isinstance(raw, Mapping):
            bad.append(BadRecord(reason="record is not a JSON object", raw={"value": raw}))
            continue
        try:
            items.append(parse(raw))
        except RecordError as error:
            bad.append(BadRecord(reason=str(error), raw=raw, external_id=str(raw.get(id_key, ""))[:200]))
    return items, bad


def _decimal_or_none(value: Any) -> Decimal | None:
    try:
        return to_decimal(value) if value not in (None, "") else None
    except (ValueError, TypeError):
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

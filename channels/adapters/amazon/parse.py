"""Amazon SP-API JSON payloads → ACORN's records (orders, FBA inventory summaries, Finances transactions and
refund events, marketplace participations, report metadata). Pure functions, no HTTP.

A record that cannot be read raises RecordError naming the field; `parse_each` turns those into
BadRecords (quarantined by the sync engine) so the rest of the page goes on. Money comes as strings
(Orders) or JSON numbers (Finances, read back exactly), always with its ISO currency; times are aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from acorn.money import to_decimal, validate_currency_code
from channels.adapters.base import (
    AdjustmentKind,
    BadRecord,
    ExternalAdjustment,
    ExternalOrder,
    ExternalOrderLine,
    ExternalRefund,
    FinancialTransaction,
    FulfillmentChannel,
    InventorySummary,
    MarketplaceParticipation,
    OrderStatus,
    RefundLine,
    ReportInfo,
)
from channels.marketplaces import marketplace_by_domain, marketplace_by_id
from channels.models import AMAZON_MARKETPLACE_BY_ID, AMAZON_MARKETPLACES

T = TypeVar("T")


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


def parse_time(value: Any, field: str) -> datetime:
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
        purchased_at=parse_time(raw.get("createdTime"), "createdTime"),
        updated_at=parse_time(raw.get("lastUpdatedTime"), "lastUpdatedTime"),
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
        updated_at=parse_time(updated, "lastUpdatedTime") if updated else None,
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
    posted = parse_time(raw.get("postedDate"), "postedDate")
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
    releases_at, deferral_reason = None, ""
    for context in raw.get("contexts") or []:
        if isinstance(context, Mapping) and context.get("contextType") == "DeferredContext":
            maturity = context.get("maturityDate")
            releases_at = parse_time(maturity, "contexts.maturityDate") if maturity else None
            deferral_reason = str(context.get("deferralReason") or "")[:30]
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
        releases_at=releases_at,
        deferral_reason=deferral_reason,
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
    posted = parse_time(raw.get("PostedDate"), "PostedDate")
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


def parse_report(raw: Mapping[str, Any]) -> ReportInfo:
    """One Reports 2021-06-30 report → ReportInfo, or RecordError naming the field."""
    report_id = raw.get("reportId")
    if not isinstance(report_id, str) or not report_id:
        raise RecordError("reportId: missing")

    def when(name: str) -> datetime | None:
        value = raw.get(name)
        return parse_time(value, name) if value else None

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


def parse_each(
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

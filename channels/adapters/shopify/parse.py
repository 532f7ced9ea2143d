"""Shopify GraphQL (and REST webhook) payloads → ACORN's records: orders with their lines and adjustments,
refunds, returns. Pure functions, no HTTP; a record that cannot be read raises RecordError naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import combinations
from typing import Any

from acorn.money import to_decimal, validate_currency_code
from channels.adapters.base import (
    AdjustmentKind,
    ExternalAdjustment,
    ExternalOrder,
    ExternalOrderLine,
    ExternalRefund,
    ExternalReturn,
    FulfillmentChannel,
    OrderStatus,
    Payout,
    PayoutLine,
    RefundLine,
)


class RecordError(ValueError):
    """A Shopify record that cannot be turned into a DTO; the message names the field."""


# --- parsing -------------------------------------------------------------------------------------------


def parse_time(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise RecordError(f"{field}: missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{field}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise RecordError(f"{field}: {value!r} has no time zone")
    return parsed.astimezone(UTC)


def parse_money(bag: Any, field: str, side: str = "shopMoney", currency: str | None = None) -> tuple[Decimal, str]:
    """An amount from a MoneyBag (`shopMoney` or `presentmentMoney`): decimal string + ISO currency."""
    money = bag.get(side) if isinstance(bag, Mapping) else None
    if not isinstance(money, Mapping):
        raise RecordError(f"{field}.{side}: missing")
    code = str(money.get("currencyCode") or "")
    try:
        validate_currency_code(code)
    except Exception:
        raise RecordError(f"{field}.{side}.currencyCode: {code!r} is not an ISO 4217 code") from None
    if currency is not None and code != currency:
        raise RecordError(f"{field}.{side}.currencyCode: {code} differs from the order currency {currency}")
    raw = money.get("amount")
    if not isinstance(raw, str):
        raise RecordError(f"{field}.{side}.amount: {raw!r} is not a decimal string")
    try:
        return to_decimal(raw), code
    except (ValueError, InvalidOperation):
        raise RecordError(f"{field}.{side}.amount: {raw!r} is not a decimal amount") from None


def legacy_id(value: Any) -> str:
    """The numeric id at the end of a GraphQL gid ("gid://shopify/Refund/123" → "123")."""
    return str(value or "").rsplit("/", 1)[-1]


def parse_refund(raw: Mapping[str, Any], *, order_id: str, taxes_included: bool) -> ExternalRefund:
    """One Refund node → ExternalRefund (negative = given back), or RecordError naming the field.

    Lines carry the items' subtotal and tax (a tax-inclusive shop's subtotal includes the tax, taken out here).
    What the refund gave back beyond its lines is shipping when it has lines (Shopify refunds shipping at the
    order level) and an amount of its own otherwise (a goodwill or price adjustment): "other"."""
    total, currency = parse_money(raw.get("totalRefundedSet"), "totalRefundedSet")
    lines: list[RefundLine] = []
    accounted = Decimal(0)
    block = raw.get("refundLineItems") or {}
    nodes = block.get("nodes") if isinstance(block, Mapping) else None
    for index, item in enumerate(nodes or []):
        field = f"refundLineItems[{index}]"
        if not isinstance(item, Mapping):
            raise RecordError(f"{field}: not an object")
        subtotal, _ = parse_money(item.get("subtotalSet"), f"{field}.subtotalSet", currency=currency)
        tax, _ = parse_money(item.get("totalTaxSet"), f"{field}.totalTaxSet", currency=currency)
        principal = subtotal - tax if taxes_included else subtotal
        accounted += principal + tax
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise RecordError(f"{field}.quantity: {quantity!r} is not a whole number")
        line = item.get("lineItem") or {}
        lines.append(
            RefundLine(
                order_item_id=legacy_id(line.get("id"))[:100],
                sku=str(line.get("sku") or "")[:200],
                quantity=quantity,
                components=(("principal", -principal), ("tax", -tax)),
            )
        )
    rest = total - accounted
    if rest:
        component = "shipping" if lines else "other"
        lines.append(RefundLine(order_item_id="", sku="", quantity=0, components=((component, -rest),)))
    return ExternalRefund(
        external_id=legacy_id(raw.get("legacyResourceId") or raw.get("id"))[:200],
        order_id=order_id,
        posted_at=parse_time(raw.get("createdAt"), "createdAt"),
        currency=currency,
        lines=tuple(lines),
        note=str(raw.get("note") or "")[:500],
        source="shopify",
    )


def parse_returns(raw: Mapping[str, Any], *, order_id: str) -> list[ExternalReturn]:
    """One Return node → one ExternalReturn per line (SKU), or RecordError naming the field."""
    return_id = legacy_id(raw.get("id"))
    if not return_id:
        raise RecordError("id: missing")
    created = parse_time(raw.get("createdAt"), "createdAt")
    closed = parse_time(raw.get("closedAt"), "closedAt") if raw.get("closedAt") else None
    status = str(raw.get("status") or "")
    block = raw.get("returnLineItems") or {}
    nodes = block.get("nodes") if isinstance(block, Mapping) else None
    records = []
    for index, item in enumerate(nodes or []):
        field = f"returnLineItems[{index}]"
        if not isinstance(item, Mapping):
            raise RecordError(f"{field}: not an object")
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise RecordError(f"{field}.quantity: {quantity!r} is not a whole number")
        line = ((item.get("fulfillmentLineItem") or {}).get("lineItem") or {}) if isinstance(item, Mapping) else {}
        sku = str(line.get("sku") or "") if isinstance(line, Mapping) else ""
        if not sku:
            raise RecordError(f"{field}.fulfillmentLineItem.lineItem.sku: missing")
        note = str(item.get("customerNote") or item.get("returnReasonNote") or "")
        records.append(
            ExternalReturn(
                external_id=f"{return_id}:{legacy_id(item.get('id'))}"[:200],
                order_id=order_id,
                sku=sku[:200],
                quantity=quantity,
                returned_at=created,
                fulfillment_channel=FulfillmentChannel.MERCHANT,
                reason_code=str(item.get("returnReason") or "")[:60],
                customer_comment=note[:2000],
                status=status[:60],
                rma=str(raw.get("name") or "")[:100],
                delivered_at=closed,
            )
        )
    return records


def normalize_status(financial: str, fulfillment: str, cancelled: bool) -> str:
    """Shopify's financial + fulfilment status → ACORN's normalised status.

    Authorised payments count as paid (the capture happens at fulfilment); a voided authorisation or a
    refunded order that never shipped is cancelled."""
    if cancelled or financial == "VOIDED":
        return OrderStatus.CANCELLED
    if fulfillment == "FULFILLED":
        return OrderStatus.SHIPPED
    if fulfillment == "PARTIALLY_FULFILLED":
        return OrderStatus.PARTIALLY_SHIPPED
    if financial == "REFUNDED":
        return OrderStatus.CANCELLED
    if financial in ("PAID", "AUTHORIZED", "PARTIALLY_REFUNDED"):
        return OrderStatus.PAID_UNSHIPPED
    return OrderStatus.PENDING_PAYMENT  # PENDING, PARTIALLY_PAID, EXPIRED


def _optional_money(bag: Any, field: str, currency: str) -> Decimal:
    """A MoneyBag that may be null (duties, additional fees, tips): its shop amount, else zero."""
    return parse_money(bag, field, currency=currency)[0] if bag is not None else Decimal(0)


def _allocated(node: Mapping[str, Any], field: str, currency: str) -> Decimal | None:
    """The sum of a line's or shipping line's discount allocations; None when the node has none listed."""
    allocations = node.get("discountAllocations")
    if allocations is None:
        return None
    if not isinstance(allocations, list):
        raise RecordError(f"{field}.discountAllocations: not a list")
    return sum(
        (
            parse_money(
                allocation.get("allocatedAmountSet") if isinstance(allocation, Mapping) else None,
                f"{field}.discountAllocations[{index}].allocatedAmountSet",
                currency=currency,
            )[0]
            for index, allocation in enumerate(allocations)
        ),
        Decimal(0),
    )


def _taxes(node: Mapping[str, Any], field: str, currency: str) -> Decimal:
    tax = Decimal(0)
    for index, tax_line in enumerate(node.get("taxLines") or []):
        tax += parse_money(
            tax_line.get("priceSet") if isinstance(tax_line, Mapping) else None,
            f"{field}.taxLines[{index}].priceSet",
            currency=currency,
        )[0]
    return tax


def _nodes(block: Any) -> list[Any]:
    nodes = block.get("nodes") if isinstance(block, Mapping) else block
    return list(nodes) if isinstance(nodes, list) else []


def _shipping_adjustments(raw: Mapping[str, Any], currency: str, taxes_included: bool) -> list[ExternalAdjustment]:
    """Each shipping line's price, the discounts allocated to it and its tax (inside the price when the
    shop's prices include tax)."""
    adjustments: list[ExternalAdjustment] = []
    for index, node in enumerate(_nodes(raw.get("shippingLines"))):
        field = f"shippingLines[{index}]"
        if not isinstance(node, Mapping):
            raise RecordError(f"{field}: not an object")
        line_id = legacy_id(node.get("id"))
        title = str(node.get("title") or "")
        price, _ = parse_money(node.get("originalPriceSet"), f"{field}.originalPriceSet", currency=currency)
        discount = _allocated(node, field, currency) or Decimal(0)
        tax = _taxes(node, field, currency)
        adjustments.append(
            ExternalAdjustment(
                kind=AdjustmentKind.SHIPPING,
                amount=price,
                label=title,
                external_id=line_id,
                included_tax=tax if taxes_included else Decimal(0),
            )
        )
        if discount:
            adjustments.append(
                ExternalAdjustment(
                    kind=AdjustmentKind.SHIPPING_DISCOUNT, amount=-discount, label=title, external_id=line_id
                )
            )
        if tax and not taxes_included:
            adjustments.append(
                ExternalAdjustment(kind=AdjustmentKind.SHIPPING_TAX, amount=tax, label=title, external_id=line_id)
            )
    return adjustments


def parse_order(raw: Mapping[str, Any]) -> ExternalOrder:
    """One GraphQL Order node → ExternalOrder in the shop currency (presentment total kept), or RecordError.

    The total is `totalPriceSet`: the order as placed, before returns and refunds (the lines carry the
    quantities ordered; refunds are kept as refunds), not `currentTotalPriceSet`, which returns and refunds
    have already lowered. Lines carry their discount allocations (line and order-level discounts as Shopify
    spread them) and their tax; each shipping line its price, discount and tax; duties (unless included in
    the prices) and additional fees are adjustments. A tip, or an order-level discount Shopify did not
    allocate, is kept only where it is exactly what the total holds beyond everything else (a tip may also be
    a line of its own); anything else is left to ingest's unexplained difference."""
    gid = raw.get("id")
    if not isinstance(gid, str) or not gid:
        raise RecordError("id: missing")
    legacy = str(raw.get("legacyResourceId") or gid.rsplit("/", 1)[-1])
    financial = str(raw.get("displayFinancialStatus") or "")
    fulfillment = str(raw.get("displayFulfillmentStatus") or "")
    total, currency = parse_money(raw.get("totalPriceSet"), "totalPriceSet")
    presentment_total, presentment_currency = parse_money(raw.get("totalPriceSet"), "totalPriceSet", "presentmentMoney")
    taxes_included = bool(raw.get("taxesIncluded"))
    nodes = _nodes(raw.get("lineItems"))
    if not nodes:
        raise RecordError("lineItems: missing or empty")
    lines = tuple(_parse_line(node, index, currency, taxes_included) for index, node in enumerate(nodes))
    adjustments = _shipping_adjustments(raw, currency, taxes_included)
    duties = _optional_money(raw.get("originalTotalDutiesSet"), "originalTotalDutiesSet", currency)
    if duties and not raw.get("dutiesIncluded"):
        adjustments.append(ExternalAdjustment(kind=AdjustmentKind.DUTY, amount=duties))
    fees = _optional_money(raw.get("originalTotalAdditionalFeesSet"), "originalTotalAdditionalFeesSet", currency)
    if fees:
        adjustments.append(ExternalAdjustment(kind=AdjustmentKind.FEE, amount=fees))
    adjustments.extend(_reported_rest(raw, currency, total, lines, adjustments))
    country = ""
    for address in ("shippingAddress", "billingAddress"):
        block = raw.get(address)
        if isinstance(block, Mapping) and block.get("countryCodeV2"):
            country = str(block["countryCodeV2"])
            break
    tags = raw.get("tags") or []
    return ExternalOrder(
        external_id=legacy[:100],
        marketplace="",
        purchased_at=parse_time(raw.get("processedAt") or raw.get("createdAt"), "processedAt"),
        updated_at=parse_time(raw.get("updatedAt"), "updatedAt"),
        raw_status=f"{financial}/{fulfillment}"[:50],
        status=normalize_status(financial, fulfillment, bool(raw.get("cancelledAt"))),
        fulfillment_channel=FulfillmentChannel.MERCHANT,
        currency=currency,
        total_amount=total,
        buyer_country=country[:2].upper(),
        lines=lines,
        merchant_order_id=str(raw.get("name") or "")[:100],
        presentment_currency=presentment_currency,
        presentment_total=presentment_total,
        source_name=str(raw.get("sourceName") or "")[:60],
        tags=tuple(str(tag)[:60] for tag in tags if tag) if isinstance(tags, list) else (),
        adjustments=tuple(adjustments),
        taxes_included=taxes_included,
    )


def _reported_rest(
    raw: Mapping[str, Any],
    currency: str,
    total: Decimal,
    lines: tuple[ExternalOrderLine, ...],
    adjustments: list[ExternalAdjustment],
) -> list[ExternalAdjustment]:
    """The tip and the unallocated order discount, where they are exactly what the total still holds."""
    rest = total - sum((line.total_amount for line in lines), Decimal(0))
    rest -= sum((adjustment.amount for adjustment in adjustments), Decimal(0))
    if not rest:
        return []
    tip = _optional_money(raw.get("totalTipReceivedSet"), "totalTipReceivedSet", currency)
    reported = _optional_money(raw.get("totalDiscountsSet"), "totalDiscountsSet", currency)
    allocated = sum((line.discount_amount for line in lines), Decimal(0)) - sum(
        (a.amount for a in adjustments if a.kind == AdjustmentKind.SHIPPING_DISCOUNT), Decimal(0)
    )
    unallocated = reported - allocated if reported > allocated else Decimal(0)
    candidates = []
    if tip:
        candidates.append(ExternalAdjustment(kind=AdjustmentKind.TIP, amount=tip))
    if unallocated:
        candidates.append(ExternalAdjustment(kind=AdjustmentKind.DISCOUNT, amount=-unallocated))
    for size in range(1, len(candidates) + 1):
        for chosen in combinations(candidates, size):
            if sum((adjustment.amount for adjustment in chosen), Decimal(0)) == rest:
                return list(chosen)
    return []


def _parse_line(node: Any, index: int, currency: str, taxes_included: bool = False) -> ExternalOrderLine:
    field = f"lineItems[{index}]"
    if not isinstance(node, Mapping):
        raise RecordError(f"{field}: not an object")
    line_id = node.get("id")
    if not isinstance(line_id, str) or not line_id:
        raise RecordError(f"{field}.id: missing")
    quantity = node.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise RecordError(f"{field}.quantity: {quantity!r} is not a whole number")
    unit_price, _ = parse_money(node.get("originalUnitPriceSet"), f"{field}.originalUnitPriceSet", currency=currency)
    total_block = node.get("originalTotalSet")
    item_amount = (
        parse_money(total_block, f"{field}.originalTotalSet", currency=currency)[0]
        if total_block is not None
        else unit_price * quantity
    )
    # Discount allocations are what Shopify took off this line (its own and its share of order discounts);
    # `totalDiscountSet` only where a payload has no allocations (older REST bodies).
    discount = _allocated(node, field, currency)
    if discount is None:
        discount = (
            parse_money(node.get("totalDiscountSet"), f"{field}.totalDiscountSet", currency=currency)[0]
            if node.get("totalDiscountSet") is not None
            else Decimal(0)
        )
    variant = node.get("variant") or {}
    variant_id = str(variant.get("legacyResourceId") or "") if isinstance(variant, Mapping) else ""
    return ExternalOrderLine(
        external_id=line_id.rsplit("/", 1)[-1][:100],
        sku=str(node.get("sku") or "")[:200],
        quantity=quantity,
        currency=currency,
        unit_price=unit_price,
        item_amount=item_amount,
        tax_amount=_taxes(node, field, currency),
        discount_amount=discount,
        title=str(node.get("name") or "")[:500],
        channel_product_id=variant_id[:60],
        tax_included=taxes_included,
    )


def _camel_money(bag: Any, amount: Any = None, currency: Any = None) -> dict[str, Any] | None:
    """A REST `*_set` MoneyBag (shop_money / currency_code) in the GraphQL shape; or one built from a plain
    amount and the order currency (older payloads have no *_set)."""
    if isinstance(bag, Mapping):
        return {
            side: {"amount": money.get("amount"), "currencyCode": money.get("currency_code")}
            for rest, side in (("shop_money", "shopMoney"), ("presentment_money", "presentmentMoney"))
            if isinstance(money := bag.get(rest), Mapping)
        }
    if amount is None:
        return None
    money = {"amount": str(amount), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


_REST_FULFILLMENT = {None: "UNFULFILLED", "": "UNFULFILLED", "partial": "PARTIALLY_FULFILLED"}


def _rest_allocations(item: Mapping[str, Any], currency: Any) -> list[dict[str, Any]] | None:
    allocations = item.get("discount_allocations")
    if not isinstance(allocations, list):
        return None
    return [
        {"allocatedAmountSet": _camel_money(allocation.get("amount_set"), allocation.get("amount"), currency)}
        for allocation in allocations
        if isinstance(allocation, Mapping)
    ]


def _rest_taxes(item: Mapping[str, Any], currency: Any) -> list[dict[str, Any]]:
    return [
        {"priceSet": _camel_money(tax.get("price_set"), tax.get("price"), currency)}
        for tax in item.get("tax_lines") or []
        if isinstance(tax, Mapping)
    ]


def rest_order_to_node(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A REST order (the body of an orders/* webhook) in the GraphQL node shape `parse_order` reads, so a
    webhook and a poll turn the same order into the same record."""
    currency = raw.get("currency")
    address = raw.get("shipping_address") or raw.get("billing_address") or {}
    tags = raw.get("tags") or ""
    lines = []
    for item in raw.get("line_items") or []:
        if not isinstance(item, Mapping):
            lines.append(item)
            continue
        line = {
            "id": f"gid://shopify/LineItem/{item.get('id')}" if item.get("id") is not None else None,
            "sku": item.get("sku"),
            "name": item.get("name"),
            "quantity": item.get("quantity"),
            "variant": {"legacyResourceId": str(item["variant_id"])} if item.get("variant_id") else None,
            "originalUnitPriceSet": _camel_money(item.get("price_set"), item.get("price"), currency),
            "totalDiscountSet": _camel_money(item.get("total_discount_set"), item.get("total_discount"), currency),
            "taxLines": _rest_taxes(item, currency),
        }
        allocations = _rest_allocations(item, currency)
        if allocations is not None:
            line["discountAllocations"] = allocations
        lines.append(line)
    shipping_lines = []
    for item in raw.get("shipping_lines") or []:
        if not isinstance(item, Mapping):
            shipping_lines.append(item)
            continue
        if item.get("is_removed"):
            continue  # taken off the order in an edit: no longer in its total
        shipping_lines.append(
            {
                "id": f"gid://shopify/ShippingLine/{item.get('id')}" if item.get("id") is not None else None,
                "title": item.get("title") or item.get("code"),
                "originalPriceSet": _camel_money(item.get("price_set"), item.get("price"), currency),
                "discountAllocations": _rest_allocations(item, currency) or [],
                "taxLines": _rest_taxes(item, currency),
            }
        )
    return {
        "id": f"gid://shopify/Order/{raw.get('id')}" if raw.get("id") is not None else None,
        "legacyResourceId": str(raw.get("id") or ""),
        "name": raw.get("name"),
        "createdAt": raw.get("created_at"),
        "updatedAt": raw.get("updated_at"),
        "processedAt": raw.get("processed_at"),
        "cancelledAt": raw.get("cancelled_at"),
        "tags": [tag.strip() for tag in str(tags).split(",") if tag.strip()],
        "sourceName": raw.get("source_name"),
        "displayFinancialStatus": str(raw.get("financial_status") or "pending").upper(),
        "displayFulfillmentStatus": _REST_FULFILLMENT.get(
            raw.get("fulfillment_status"), str(raw.get("fulfillment_status")).upper()
        ),
        "taxesIncluded": bool(raw.get("taxes_included")),
        "dutiesIncluded": bool(raw.get("duties_included")),
        "totalPriceSet": _camel_money(raw.get("total_price_set"), raw.get("total_price"), currency),
        "totalDiscountsSet": _camel_money(raw.get("total_discounts_set"), raw.get("total_discounts"), currency),
        "totalTipReceivedSet": _camel_money(None, raw.get("total_tip_received"), currency),
        "originalTotalDutiesSet": _camel_money(raw.get("original_total_duties_set")),
        "originalTotalAdditionalFeesSet": _camel_money(raw.get("original_total_additional_fees_set")),
        "shippingAddress": {"countryCodeV2": address.get("country_code")} if isinstance(address, Mapping) else None,
        "shippingLines": {"nodes": shipping_lines},
        "lineItems": {"nodes": lines},
    }


def parse_rest_order(raw: Mapping[str, Any]) -> ExternalOrder:
    """A REST order (webhook body) → ExternalOrder, or RecordError naming the field."""
    return parse_order(rest_order_to_node(raw))


# --- Shopify Payments ----------------------------------------------------------------------------------

# ShopifyPaymentsPayoutSummary's fields, in the order Shopify documents them.
PAYOUT_SUMMARY_FIELDS = (
    "chargesGross",
    "chargesFee",
    "refundsFeeGross",
    "refundsFee",
    "adjustmentsGross",
    "adjustmentsFee",
    "reservedFundsGross",
    "reservedFundsFee",
    "retriedPayoutsGross",
    "retriedPayoutsFee",
)
# The payout itself as a balance transaction (sourceType TRANSFER, amount -net): not one of its lines.
TRANSFER = "TRANSFER"


def parse_money_v2(value: Any, field: str, currency: str | None = None) -> tuple[Decimal, str]:
    """A MoneyV2 `{amount, currencyCode}`; a missing currency is the record's own (`currency`)."""
    if not isinstance(value, Mapping):
        raise RecordError(f"{field}: missing")
    code = str(value.get("currencyCode") or currency or "")
    try:
        validate_currency_code(code)
    except Exception:
        raise RecordError(f"{field}.currencyCode: {code!r} is not an ISO 4217 code") from None
    if currency is not None and code != currency:
        raise RecordError(f"{field}.currencyCode: {code} differs from the transaction currency {currency}")
    raw = value.get("amount")
    if not isinstance(raw, str):
        raise RecordError(f"{field}.amount: {raw!r} is not a decimal string")
    try:
        return to_decimal(raw), code
    except (ValueError, InvalidOperation):
        raise RecordError(f"{field}.amount: {raw!r} is not a decimal amount") from None


def parse_payout(raw: Mapping[str, Any]) -> Payout:
    """A ShopifyPaymentsPayout node → Payout (numeric id; summary amounts signed as Shopify sends them)."""
    net, currency = parse_money_v2(raw.get("net"), "net")
    external_id = legacy_id(raw.get("legacyResourceId") or raw.get("id"))
    if not external_id.isdigit():
        raise RecordError(f"legacyResourceId: {raw.get('legacyResourceId')!r} is not a payout id")
    status = raw.get("status")
    if not isinstance(status, str) or not status:
        raise RecordError("status: missing")
    summary_raw = raw.get("summary") or {}
    summary = []
    for name in PAYOUT_SUMMARY_FIELDS:
        if isinstance(summary_raw, Mapping) and summary_raw.get(name) is not None:
            amount, _ = parse_money_v2(summary_raw[name], f"summary.{name}", currency)
            summary.append((name, amount))
    return Payout(
        external_id=external_id,
        status=status,
        issued_at=parse_time(raw.get("issuedAt"), "issuedAt"),
        currency=currency,
        net_amount=net,
        transaction_type=str(raw.get("transactionType") or ""),
        summary=tuple(summary),
        trace_id=str(raw.get("externalTraceId") or "")[:200],
    )


def parse_balance_transaction(raw: Mapping[str, Any], *, payout_id: str) -> PayoutLine | None:
    """A ShopifyPaymentsBalanceTransaction node → PayoutLine, or None for the payout's own TRANSFER (and for
    test-mode transactions, which no payout pays). `fee` is positive as Shopify sends it (net = amount - fee)."""
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        raise RecordError("type: missing")
    if kind == TRANSFER or raw.get("test") is True:
        return None
    amount, currency = parse_money_v2(raw.get("amount"), "amount")
    fee = parse_money_v2(raw.get("fee"), "fee", currency)[0] if raw.get("fee") is not None else Decimal(0)
    net = parse_money_v2(raw.get("net"), "net", currency)[0] if raw.get("net") is not None else amount - fee
    if net != amount - fee:
        raise RecordError(f"net: {net} is not amount {amount} minus fee {fee}")
    order = raw.get("associatedOrder")
    payout = raw.get("associatedPayout")
    if isinstance(payout, Mapping) and payout.get("id") and legacy_id(payout.get("id")) != payout_id:
        raise RecordError(f"associatedPayout.id: {payout.get('id')!r} is not payout {payout_id}")
    return PayoutLine(
        external_id=legacy_id(raw.get("id"))[:100],
        payout_id=payout_id,
        transaction_type=kind,
        source_type=str(raw.get("sourceType") or ""),
        posted_at=parse_time(raw.get("transactionDate"), "transactionDate"),
        currency=currency,
        amount=amount,
        fee=fee,
        net=net,
        order_id=legacy_id(order.get("id"))[:100] if isinstance(order, Mapping) and order.get("id") else "",
        adjustment_id=str(raw.get("sourceOrderTransactionId") or raw.get("sourceId") or "")[:100],
        adjustment_reason=str(raw.get("adjustmentReason") or "")[:100],
    )

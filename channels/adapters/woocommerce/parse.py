"""WooCommerce REST v3 payloads → ACORN's records: orders with their lines, shipping and fee lines, refunds,
product stock. Pure functions, no HTTP; a record that cannot be read raises RecordError naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from acorn.money import minor_unit_exponent, to_decimal, validate_currency_code
from channels.adapters.base import (
    AdjustmentKind,
    ChannelStock,
    ExternalAdjustment,
    ExternalOrder,
    ExternalOrderLine,
    ExternalRefund,
    FulfillmentChannel,
    OrderStatus,
    RefundLine,
)

STATUS_MAP = {
    "pending": OrderStatus.PENDING_PAYMENT,
    "on-hold": OrderStatus.PENDING_PAYMENT,  # awaiting a bank transfer or a manual payment check
    "checkout-draft": OrderStatus.PENDING_PAYMENT,
    "processing": OrderStatus.PAID_UNSHIPPED,
    "completed": OrderStatus.SHIPPED,
    "shipped": OrderStatus.SHIPPED,  # common shipment-tracking plugins
    "partial-shipped": OrderStatus.PARTIALLY_SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,
}


class RecordError(ValueError):
    """A WooCommerce record that cannot be turned into a DTO; the message names the field."""


# --- parsing -------------------------------------------------------------------------------------------


def parse_gmt(raw: Mapping[str, Any], name: str) -> datetime:
    """`date_*_gmt` ("2026-11-20T10:00:00", no zone, UTC by definition) → aware UTC."""
    value = raw.get(f"{name}_gmt")
    if not isinstance(value, str) or not value:
        raise RecordError(f"{name}_gmt: missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"{name}_gmt: {value!r} is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_amount(value: Any, field: str) -> Decimal:
    if isinstance(value, (bool, float)) or value is None:
        raise RecordError(f"{field}: {value!r} is not a decimal amount")
    try:
        return to_decimal(value if value != "" else "0")
    except (ValueError, InvalidOperation):
        raise RecordError(f"{field}: {value!r} is not a decimal amount") from None


def _adjustment_lines(raw: Mapping[str, Any], name: str, kind: str, tax_kind: str) -> list[ExternalAdjustment]:
    """A shipping_lines / fee_lines list: each line's total and its tax (both ex tax as WooCommerce stores
    them, whatever `prices_include_tax` says), named by its title and id."""
    block = raw.get(name) or []
    if not isinstance(block, list):
        raise RecordError(f"{name}: not a list")
    adjustments = []
    for index, line in enumerate(block):
        field = f"{name}[{index}]"
        if not isinstance(line, Mapping):
            raise RecordError(f"{field}: not an object")
        label = str(line.get("method_title") or line.get("name") or "")
        line_id = str(line.get("id") or "")
        total = parse_amount(line.get("total"), f"{field}.total")
        tax = parse_amount(line.get("total_tax"), f"{field}.total_tax")
        adjustments.append(ExternalAdjustment(kind=kind, amount=total, label=label, external_id=line_id))
        if tax:
            adjustments.append(ExternalAdjustment(kind=tax_kind, amount=tax, label=label, external_id=line_id))
    return adjustments


def _tax_rounding(
    raw: Mapping[str, Any], currency: str, lines: tuple[ExternalOrderLine, ...], adjustments: list[ExternalAdjustment]
) -> Decimal:
    """The order's taxes (`cart_tax` + `shipping_tax`) less the rounded taxes of its lines, shipping and fees.

    A shop that rounds tax at the subtotal rather than per line shows each line's tax rounded (1.13 for
    1.125) and the order's tax rounded once (2.25 for 1.125 + 0.225 + 0.9): the cents between are the
    shop's, kept as a tax adjustment. Only differences of rounding size (a minor unit per line) count."""
    if raw.get("cart_tax") in (None, "") or raw.get("shipping_tax") in (None, ""):
        return Decimal(0)
    order_tax = parse_amount(raw.get("cart_tax"), "cart_tax") + parse_amount(raw.get("shipping_tax"), "shipping_tax")
    itemised = sum((line.tax_amount for line in lines), Decimal(0)) + sum(
        (a.amount for a in adjustments if a.kind in (AdjustmentKind.SHIPPING_TAX, AdjustmentKind.FEE_TAX)), Decimal(0)
    )
    difference = order_tax - itemised
    tolerance = minor_unit_exponent(currency) * (len(lines) + len(adjustments))
    return difference if abs(difference) <= tolerance else Decimal(0)


def parse_order(raw: Mapping[str, Any]) -> ExternalOrder:
    """One REST v3 order → ExternalOrder, or RecordError naming the field.

    WooCommerce keeps line, shipping and fee amounts without tax, each with its tax beside it (also in a shop
    whose prices include tax): a line is its subtotal less the coupons' discount (subtotal - total) plus
    its total_tax; shipping_lines and fee_lines (a negative fee is a discount) become adjustments with their
    tax. `total` is the grand total; a difference left (WooCommerce rounding at the order, a plugin) is left to
    ingest to keep as unexplained."""
    order_id = raw.get("id")
    if isinstance(order_id, bool) or not isinstance(order_id, int):
        raise RecordError("id: missing")
    raw_status = str(raw.get("status") or "")
    if raw_status not in STATUS_MAP:
        raise RecordError(f"status: {raw_status!r} is not a status ACORN knows (a plugin's custom status?)")
    currency = str(raw.get("currency") or "").upper()
    try:
        validate_currency_code(currency)
    except Exception:
        raise RecordError(f"currency: {currency!r} is not an ISO 4217 code") from None
    items = raw.get("line_items")
    if not isinstance(items, list) or not items:
        raise RecordError("line_items: missing or empty")
    lines = tuple(_parse_line(item, index, currency) for index, item in enumerate(items))
    total = parse_amount(raw.get("total"), "total")
    adjustments = [
        *_adjustment_lines(raw, "shipping_lines", AdjustmentKind.SHIPPING, AdjustmentKind.SHIPPING_TAX),
        *_adjustment_lines(raw, "fee_lines", AdjustmentKind.FEE, AdjustmentKind.FEE_TAX),
    ]
    rounding = _tax_rounding(raw, currency, lines, adjustments)
    if rounding:
        adjustments.append(ExternalAdjustment(kind=AdjustmentKind.TAX_ROUNDING, amount=rounding))
    country = ""
    for block in ("shipping", "billing"):
        address = raw.get(block)
        if isinstance(address, Mapping) and address.get("country"):
            country = str(address["country"])
            break
    number = str(raw.get("number") or order_id)
    return ExternalOrder(
        external_id=str(order_id),
        marketplace="",
        purchased_at=parse_gmt(raw, "date_created"),
        updated_at=parse_gmt(raw, "date_modified"),
        raw_status=raw_status,
        status=STATUS_MAP[raw_status],
        fulfillment_channel=FulfillmentChannel.MERCHANT,
        currency=currency,
        total_amount=total,
        buyer_country=country[:2].upper(),
        lines=lines,
        merchant_order_id=number[:100],
        source_name=str(raw.get("created_via") or "")[:60],
        tags=payment_tags(raw),
        adjustments=tuple(adjustments),
    )


PAYMENT_METHOD_TAG = "payment_method:"
PAYMENT_METHOD_TITLE_TAG = "payment_method_title:"


def payment_tags(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """WooCommerce orders have no tags; ACORN keeps the order's payment gateway there ("payment_method:stripe",
    "payment_method_title:Credit card (Stripe)"), which the monthly statement totals money by."""
    method = str(raw.get("payment_method") or "").strip()
    title = str(raw.get("payment_method_title") or "").strip()
    tags = []
    if method:
        tags.append(f"{PAYMENT_METHOD_TAG}{method}"[:100])
    if title:
        tags.append(f"{PAYMENT_METHOD_TITLE_TAG}{title}"[:100])
    return tuple(tags)


def _parse_line(item: Any, index: int, currency: str) -> ExternalOrderLine:
    field = f"line_items[{index}]"
    if not isinstance(item, Mapping):
        raise RecordError(f"{field}: not an object")
    line_id = item.get("id")
    if isinstance(line_id, bool) or not isinstance(line_id, int):
        raise RecordError(f"{field}.id: missing")
    quantity = item.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise RecordError(f"{field}.quantity: {quantity!r} is not a whole number")
    subtotal = parse_amount(item.get("subtotal"), f"{field}.subtotal")  # before discounts
    total = parse_amount(item.get("total"), f"{field}.total")  # after discounts
    price = item.get("price")
    unit_price = (
        parse_amount(str(price), f"{field}.price")
        if isinstance(price, (int, str)) and not isinstance(price, bool)
        else (subtotal / quantity if quantity else Decimal(0))
    )
    variation = item.get("variation_id") or 0
    product = item.get("product_id") or 0
    return ExternalOrderLine(
        external_id=str(line_id),
        sku=str(item.get("sku") or "")[:200],
        quantity=quantity,
        currency=currency,
        unit_price=unit_price,
        item_amount=subtotal,
        tax_amount=parse_amount(item.get("total_tax"), f"{field}.total_tax"),
        discount_amount=subtotal - total,
        title=str(item.get("name") or "")[:500],
        channel_product_id=str(variation or product or "")[:60],
    )


def _refunded_item_id(item: Mapping[str, Any]) -> str:
    """The order line a refund line gives back: `refunded_item_id`, or the `_refunded_item_id` meta entry."""
    if item.get("refunded_item_id"):
        return str(item["refunded_item_id"])
    for meta in item.get("meta_data") or []:
        if isinstance(meta, Mapping) and meta.get("key") == "_refunded_item_id":
            return str(meta.get("value") or "")
    return ""


def parse_refund(raw: Mapping[str, Any], *, order_id: str, currency: str) -> ExternalRefund:
    """One /orders/<id>/refunds entry → ExternalRefund (WooCommerce amounts are positive, its line totals
    negative; ACORN's components are negative = given back), or RecordError naming the field.

    Shipping and fee lines refunded become shipping / other; what the refund's amount holds beyond its lines
    (an amount-only refund) is "other". The refund's free-text `reason` is kept as the reason."""
    if raw.get("id") in (None, ""):
        raise RecordError("id: missing")
    amount = parse_amount(raw.get("amount"), "amount")
    lines: list[RefundLine] = []
    accounted = Decimal(0)
    for index, item in enumerate(raw.get("line_items") or []):
        field = f"line_items[{index}]"
        if not isinstance(item, Mapping):
            raise RecordError(f"{field}: not an object")
        principal = parse_amount(item.get("total"), f"{field}.total")
        tax = parse_amount(item.get("total_tax"), f"{field}.total_tax")
        accounted += principal + tax
        try:
            quantity = abs(int(item.get("quantity") or 0))
        except (TypeError, ValueError):
            raise RecordError(f"{field}.quantity: {item.get('quantity')!r} is not a whole number") from None
        lines.append(
            RefundLine(
                order_item_id=_refunded_item_id(item)[:100] or str(item.get("id") or "")[:100],
                sku=str(item.get("sku") or "")[:200],
                quantity=quantity,
                components=(("principal", principal), ("tax", tax)),
            )
        )
    for kind, component in (("shipping_lines", "shipping"), ("fee_lines", "other")):
        for index, item in enumerate(raw.get(kind) or []):
            if not isinstance(item, Mapping):
                raise RecordError(f"{kind}[{index}]: not an object")
            value = parse_amount(item.get("total"), f"{kind}[{index}].total")
            tax = parse_amount(item.get("total_tax"), f"{kind}[{index}].total_tax")
            accounted += value + tax
            lines.append(
                RefundLine(order_item_id="", sku="", quantity=0, components=((component, value), ("tax", tax)))
            )
    if -amount != accounted:
        lines.append(RefundLine(order_item_id="", sku="", quantity=0, components=(("other", -amount - accounted),)))
    reason = str(raw.get("reason") or "").strip()
    return ExternalRefund(
        external_id=str(raw.get("id"))[:200],
        order_id=order_id,
        posted_at=parse_gmt(raw, "date_created"),
        currency=currency,
        lines=tuple(lines),
        reason=reason[:500],
        note=reason[:2000],
        source="woocommerce",
    )


def parse_stock(raw: Mapping[str, Any], channel_product_id: str) -> ChannelStock:
    quantity = raw.get("stock_quantity")
    managed = bool(raw.get("manage_stock")) and isinstance(quantity, int) and not isinstance(quantity, bool)
    return ChannelStock(
        sku=str(raw.get("sku") or ""),
        channel_product_id=channel_product_id,
        available=quantity if managed else None,
    )

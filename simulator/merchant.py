"""What a seller does to an order: confirm a merchant-fulfilled shipment, refund a merchant-fulfilled order.

Both act at a moment (`at`, when Amazon processes the feed) and never rewrite the past: a confirmed
shipment is a new event at that moment (the seller's FulfillmentDate is kept on the shipment), and it
takes the confirmed units out of the shipments the world had planned for later (a planned cancellation
no longer happens once something shipped). A refund is added to `Order.adjustments`, posted at that
moment. Anything Amazon would refuse raises `OrderActionError` with a `kind` the feeds front turns into
a processing report result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from simulator.aftersales import refunded_so_far
from simulator.model import (
    AMAZON,
    CANCELLED,
    PARTIALLY_SHIPPED,
    PENDING,
    SHIPPED,
    Order,
    OrderEvent,
    Refund,
    RefundItem,
    Shipment,
)

# Kinds of refusal.
ORDER_NOT_FOUND = "order_not_found"
FULFILLED_BY_AMAZON = "fulfilled_by_amazon"
ORDER_CANCELLED = "order_cancelled"
ORDER_PENDING = "order_pending"
ITEM_NOT_FOUND = "item_not_found"
ALREADY_SHIPPED = "already_shipped"
INVALID_VALUE = "invalid_value"
NOT_SHIPPED = "not_shipped"
EXCEEDS_REMAINING = "exceeds_remaining"
CURRENCY_MISMATCH = "currency_mismatch"

# ItemPriceAdjustments component types the order adjustment feed accepts here.
ADJUSTABLE_COMPONENTS = ("Principal", "Shipping", "Tax", "ShippingTax")


class OrderActionError(Exception):
    """Amazon refuses the action: `kind` says why, `message` says it to a person."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _line_index(order: Order, order_item_id: str) -> int:
    for index, line in enumerate(order.lines):
        if line.order_item_id == order_item_id:
            return index
    raise OrderActionError(ITEM_NOT_FOUND, f"Order item {order_item_id} is not part of order {order.order_id}.")


def _check_merchant_order(order: Order, at: datetime) -> None:
    if order.fulfilled_by == AMAZON:
        raise OrderActionError(FULFILLED_BY_AMAZON, f"Order {order.order_id} is fulfilled by Amazon.")
    status = order.status_at(at)
    if status == CANCELLED:
        raise OrderActionError(ORDER_CANCELLED, f"Order {order.order_id} has been cancelled.")
    if status == PENDING:
        raise OrderActionError(ORDER_PENDING, f"Order {order.order_id} is pending; it cannot be shipped yet.")


def confirm_shipment(
    order: Order,
    *,
    at: datetime,
    reference: str,
    fulfillment_date: datetime,
    carrier: str,
    service: str,
    tracking_number: str,
    items: Sequence[tuple[str, int | None]] | None,
) -> Shipment:
    """Ship units of a merchant-fulfilled order at `at`: `items` are (order item id, quantity or None for
    all that is left of it); no `items` ships everything not yet shipped."""
    _check_merchant_order(order, at)
    if fulfillment_date < order.created:
        raise OrderActionError(INVALID_VALUE, "FulfillmentDate is before the order was placed.")
    if fulfillment_date > at:
        raise OrderActionError(INVALID_VALUE, "FulfillmentDate cannot be in the future.")
    state = order.state_at(at)
    unshipped = [line.quantity - shipped for line, shipped in zip(order.lines, state.shipped_quantities, strict=True)]
    wanted: dict[int, int] = {}
    if not items:
        wanted = {index: left for index, left in enumerate(unshipped) if left > 0}
        if not wanted:
            raise OrderActionError(ALREADY_SHIPPED, f"Every item of order {order.order_id} has already shipped.")
    for order_item_id, given in items or ():
        index = _line_index(order, order_item_id)
        quantity = unshipped[index] if given is None else given
        if given is None and quantity == 0:
            raise OrderActionError(ALREADY_SHIPPED, f"Order item {order_item_id} has already shipped.")
        if quantity <= 0:
            raise OrderActionError(INVALID_VALUE, f"Quantity of order item {order_item_id} must be positive.")
        wanted[index] = wanted.get(index, 0) + quantity
    for index, quantity in wanted.items():
        if quantity > unshipped[index]:
            raise OrderActionError(
                ALREADY_SHIPPED,
                f"Order item {order.lines[index].order_item_id}: {quantity} confirmed but only {unshipped[index]} "
                "left to ship.",
            )
    shipment = Shipment(
        reference=reference,
        shipped_at=fulfillment_date,
        carrier=carrier,
        service=service,
        tracking_number=tracking_number,
        quantities=tuple(sorted(wanted.items())),
    )
    _insert_shipment(order, at, shipment)
    return shipment


def _insert_shipment(order: Order, at: datetime, shipment: Shipment) -> None:
    past = [event for event in order.events if event.at <= at]
    confirmed = dict(shipment.quantities)
    future: list[tuple[datetime, Shipment]] = []
    for event in order.events:
        if event.at <= at or event.shipment is None:
            continue  # a planned cancellation or payment after a shipment no longer happens
        left = []
        for index, quantity in event.shipment.quantities:
            taken = min(quantity, confirmed.get(index, 0))
            confirmed[index] = confirmed.get(index, 0) - taken
            if quantity - taken > 0:
                left.append((index, quantity - taken))
        if left:
            future.append((event.at, _replace_quantities(event.shipment, tuple(left))))
    total = sum(line.quantity for line in order.lines)
    shipped = sum(quantity for event in past if event.shipment for _, quantity in event.shipment.quantities)
    events = list(past)
    for moment, planned in [(at, shipment), *future]:
        shipped += sum(quantity for _, quantity in planned.quantities)
        events.append(OrderEvent(moment, SHIPPED if shipped >= total else PARTIALLY_SHIPPED, planned))
    order.set_events(tuple(events))


def _replace_quantities(shipment: Shipment, quantities: tuple[tuple[int, int], ...]) -> Shipment:
    return Shipment(
        shipment.reference,
        shipment.shipped_at,
        shipment.carrier,
        shipment.service,
        shipment.tracking_number,
        quantities,
    )


@dataclass(frozen=True)
class AdjustedItem:
    """One AdjustedItem of an order adjustment: positive amounts by component type (Principal, ...)."""

    order_item_id: str
    merchant_adjustment_item_id: str
    components: Mapping[str, Decimal]
    quantity: int | None = None


def refund_order(
    order: Order,
    *,
    at: datetime,
    refund_id: str,
    reason: str,
    currency: str,
    items: Sequence[AdjustedItem],
    adjustment_item_ids: Sequence[str],
    feed_id: str = "",
    message_id: int = 0,
) -> Refund:
    """Give money back on shipped lines of a merchant-fulfilled order at `at` (all items, or none)."""
    if order.fulfilled_by == AMAZON:
        raise OrderActionError(FULFILLED_BY_AMAZON, f"Order {order.order_id} is fulfilled by Amazon.")
    if currency != order.currency:
        raise OrderActionError(
            CURRENCY_MISMATCH, f"Currency {currency} does not match the order's currency {order.currency}."
        )
    state = order.state_at(at)
    pending: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
    refund_items = []
    for item, amazon_item_id in zip(items, adjustment_item_ids, strict=True):
        index = _line_index(order, item.order_item_id)
        line = order.lines[index]
        shipped = state.shipped_quantities[index]
        if shipped == 0:
            raise OrderActionError(NOT_SHIPPED, f"Order item {item.order_item_id} has not shipped; cancel it instead.")
        unknown = [name for name in item.components if name not in ADJUSTABLE_COMPONENTS]
        if unknown:
            raise OrderActionError(INVALID_VALUE, f"Component type {unknown[0]} cannot be adjusted.")
        if any(amount <= 0 for amount in item.components.values()) or not item.components:
            raise OrderActionError(INVALID_VALUE, f"Order item {item.order_item_id}: amounts must be positive.")
        principal = item.components.get("Principal", Decimal(0))
        shipping = item.components.get("Shipping", Decimal(0))
        tax = item.components.get("Tax", Decimal(0))
        shipping_tax = item.components.get("ShippingTax", Decimal(0))
        done = refunded_so_far(order, index, at)
        earlier = pending.get(index, (Decimal(0), Decimal(0), Decimal(0)))
        left = (
            line.item_amount - line.discount - done[0] - earlier[0],
            line.shipping - done[1] - earlier[1],
            line.tax - done[2] - earlier[2],
        )
        for name, amount, remaining in (
            ("Principal", principal, left[0]),
            ("Shipping", shipping, left[1]),
            ("Tax", tax, left[2]),
            ("ShippingTax", shipping_tax, Decimal(0)),
        ):
            if amount > remaining:
                raise OrderActionError(
                    EXCEEDS_REMAINING,
                    f"Order item {item.order_item_id}: the {name} adjustment {amount} {currency} exceeds the "
                    f"{max(remaining, Decimal(0))} {currency} left to refund.",
                )
        pending[index] = (earlier[0] + principal, earlier[1] + shipping, earlier[2] + tax)
        quantity = item.quantity
        if quantity is None:
            quantity = min(shipped, max(1, math.ceil(principal / line.unit_price))) if principal else 0
        if not 0 <= quantity <= shipped:
            raise OrderActionError(INVALID_VALUE, f"Order item {item.order_item_id}: invalid quantity {quantity}.")
        refund_items.append(
            RefundItem(
                index,
                quantity,
                principal,
                shipping,
                tax,
                Decimal(0),
                amazon_item_id,
                item.merchant_adjustment_item_id,
            )
        )
    refund = Refund(
        refund_id=refund_id,
        posted=at,
        items=tuple(refund_items),
        reason=reason,
        by_seller=True,
        feed_id=feed_id,
        message_id=message_id,
    )
    order.adjustments.append(refund)
    return refund

"""Returns and refunds: planned with each order, made concrete from the times its lines actually shipped.

When an order is generated, each line may get a `ReturnPlan` (about 4.5 % of lines of an ordinary SKU,
about a fifth of a bad SKU's): the buyer returns it and is refunded, returns it and is not (or not yet)
refunded, or is refunded without returning anything (a lost parcel, goodwill, a price adjustment). The
plan holds delays, not dates: delivery after the shipment, the return request after delivery, the parcel's
transit back, the refund after the request or after the warehouse received the parcel. `order_after_sales`
turns plans into `CustomerReturn`s and `Refund`s anchored on the line's first shipment, and adds the
refunds the seller sent through order adjustment feeds. A planned refund of a line the seller has already
refunded by then is dropped: the seller dealt with it.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from simulator.catalogue import convert_usd, quantize
from simulator.model import (
    AMAZON,
    REFUND_AT_RECEIPT,
    REFUND_AT_REQUEST,
    REFUND_NEVER,
    REFUND_ONLY,
    RETURN_AND_REFUND,
    RETURN_ONLY,
    Order,
    OrderLine,
    Refund,
    RefundItem,
    ReturnPlan,
)
from simulator.returns_data import (
    AMAZON_PREPAID_LABEL,
    BAD_SKU_REASONS,
    DISPOSITIONS,
    FBA_ONLY_REASONS,
    FBA_STATUS_REIMBURSED,
    FBA_STATUS_REPACKAGED,
    FBA_STATUS_RETURNED,
    LABEL_COST_USD,
    REASONS,
    SELLABLE,
    SELLER_FAULT_REASONS,
    comment_language,
    comments_for,
    fulfillment_centers_for,
    return_carriers_for,
)

BAD_SKU_THRESHOLD = 0.1  # a listing whose return_rate is above this is a bad SKU
_ALNUM = string.ascii_uppercase + string.digits
_MIXED = string.ascii_letters


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


def _tracking(rng: random.Random, carrier: str) -> str:
    if carrier == "UPS":
        return "1Z" + "".join(rng.choice(_ALNUM) for _ in range(16))
    if carrier == "USPS":
        return "92" + "".join(rng.choice(string.digits) for _ in range(20))
    return "".join(rng.choice(string.digits) for _ in range(rng.choice((12, 13, 14))))


def make_plans(order: Order, rng: random.Random) -> tuple[ReturnPlan, ...]:
    """The after-sales of the order's lines, drawn from the order's own random stream."""
    plans = []
    for index, line in enumerate(order.lines):
        if rng.random() < line.listing.return_rate:
            plans.append(_plan(order, index, line, rng))
    return tuple(plans)


def _plan(order: Order, index: int, line: OrderLine, rng: random.Random) -> ReturnPlan:
    fba = order.fulfilled_by == AMAZON
    marketplace = order.marketplace.code
    reason = _weighted(rng, BAD_SKU_REASONS if line.listing.return_rate > BAD_SKU_THRESHOLD else REASONS)
    if not fba and reason in FBA_ONLY_REASONS:
        reason = "DAMAGED_BY_CARRIER"
    quantity = line.quantity if line.quantity == 1 or rng.random() < 0.7 else rng.randint(1, line.quantity - 1)
    roll = rng.random()
    kind = RETURN_AND_REFUND if roll < 0.72 else RETURN_ONLY if roll < 0.82 else REFUND_ONLY
    language_roll = rng.random()
    local = comment_language(order.marketplace.language)
    language = local if language_roll < 0.8 else "zh" if language_roll < 0.92 else "en"
    comment = rng.choice(comments_for(reason, language)) if rng.random() >= (0.35 if fba else 0.2) else ""
    delivery_days = rng.uniform(1, 3) if fba else rng.uniform(2, 6)
    request_days = rng.triangular(0.3, 25, 3)
    transit_days = None if rng.random() < 0.05 else rng.uniform(3, 12)
    anchor_roll = rng.random()
    if kind == RETURN_ONLY:
        anchor, refund_days = REFUND_NEVER, 0.0
    elif kind == REFUND_ONLY:
        anchor, refund_days = REFUND_AT_REQUEST, rng.uniform(0.2, 3)
    elif fba:
        anchor, refund_days = (
            (REFUND_AT_REQUEST, rng.uniform(1, 4)) if anchor_roll < 0.6 else (REFUND_AT_RECEIPT, rng.uniform(0.2, 2))
        )
    elif anchor_roll < 0.75:
        anchor, refund_days = REFUND_AT_RECEIPT, rng.uniform(0.5, 5)
    elif anchor_roll < 0.9:
        anchor, refund_days = REFUND_AT_REQUEST, rng.uniform(0.1, 1.5)
    else:
        anchor, refund_days = REFUND_NEVER, 0.0
    share: Decimal | None = None
    refund_reason = "CustomerReturn"
    if kind == REFUND_ONLY:
        if rng.random() < 0.45:
            share = Decimal(rng.choice((10, 15, 20, 25, 30, 40, 50))) / 100
            refund_reason = rng.choice(("GeneralAdjustment", "PriceError"))
        else:
            refund_reason = rng.choice(("Undeliverable", "CarrierCoverageFailure", "Other"))
    carriers = return_carriers_for(marketplace)
    carrier = tracking = center = license_plate = disposition = status = rma = label_type = paid_by = ""
    label_cost: Decimal | None = None
    if fba:
        if rng.random() < 0.85:  # a share of FBA returns come back without carrier tracking
            carrier = rng.choice(carriers)
            tracking = _tracking(rng, carrier)
        disposition = _weighted(rng, DISPOSITIONS[reason])
        status = FBA_STATUS_RETURNED
        if disposition == "DAMAGED":
            status = FBA_STATUS_REIMBURSED
        elif disposition == SELLABLE and rng.random() < 0.15:
            status = FBA_STATUS_REPACKAGED
        center = rng.choice(fulfillment_centers_for(marketplace))
        license_plate = "LPN" + "".join(rng.choice(_ALNUM) for _ in range(10))
    else:
        if rng.random() < 0.75:  # else the buyer ships it back without a label: no carrier, no tracking
            carrier = rng.choice(carriers)
            tracking = _tracking(rng, carrier)
            label_type = AMAZON_PREPAID_LABEL
            low, high = LABEL_COST_USD
            label_cost = convert_usd(low + (high - low) * Decimal(rng.randint(0, 100)) / 100, order.currency)
        rma = "".join(rng.choice(_MIXED) for _ in range(9)) + "RMA"
        paid_by = "Seller" if reason in SELLER_FAULT_REASONS else "Customer"
    return ReturnPlan(
        line_index=index,
        quantity=quantity,
        kind=kind,
        reason=reason,
        comment=comment,
        comment_language=language if comment else "",
        delivery_days=delivery_days,
        request_days=request_days,
        transit_days=transit_days,
        refund_anchor=anchor,
        refund_days=refund_days,
        refund_share=share,
        refund_shipping=reason in SELLER_FAULT_REASONS and share is None,
        refund_reason=refund_reason,
        return_id=f"R-{order.order_id}-{index + 1}",
        refund_id=str(rng.randrange(10**13, 10**14)),
        adjustment_item_id=str(rng.randrange(10**13, 10**14)),
        carrier=carrier,
        tracking_number=tracking,
        fulfillment_center=center,
        license_plate_number=license_plate,
        disposition=disposition,
        fba_status=status,
        rma=rma,
        label_type=label_type,
        label_cost=label_cost,
        label_paid_by=paid_by,
    )


@dataclass(frozen=True)
class CustomerReturn:
    """A concrete return: the plan anchored on the line's shipment. Times are final (some in the future)."""

    order: Order
    plan: ReturnPlan
    quantity: int
    shipped_at: datetime
    delivered_at: datetime
    requested_at: datetime
    received_at: datetime | None  # FBA: the report's return-date; MFN: the return delivery date
    refund: Refund | None

    @property
    def line(self) -> OrderLine:
        return self.order.lines[self.plan.line_index]

    @property
    def fba(self) -> bool:
        return self.order.fulfilled_by == AMAZON

    def closed_at(self) -> datetime | None:
        """When a merchant-fulfilled return request is closed (received, and refunded or left a week)."""
        if self.received_at is None:
            return None
        if self.refund is not None:
            return max(self.received_at, self.refund.posted)
        return self.received_at + timedelta(days=7)


def _first_shipment(order: Order, line_index: int) -> tuple[datetime, int] | None:
    for event in order.events:
        if event.shipment is None:
            continue
        for index, quantity in event.shipment.quantities:
            if index == line_index:
                return event.at, quantity
    return None


def planned_refund_item(order: Order, plan: ReturnPlan, quantity: int) -> RefundItem:
    """What a planned refund gives back for `quantity` units of the plan's line."""
    line = order.lines[plan.line_index]
    currency = order.currency
    ratio = Decimal(quantity) / Decimal(line.quantity)
    if plan.refund_share is None:
        principal = line.unit_price * quantity
        promotion = quantize(line.discount * ratio, currency)
        tax = quantize(line.tax * ratio, currency)
        shipping = quantize(line.shipping * ratio, currency) if plan.refund_shipping else Decimal(0)
    else:
        principal = quantize(line.unit_price * quantity * plan.refund_share, currency)
        promotion = Decimal(0)
        tax = quantize(line.tax * ratio * plan.refund_share, currency)
        shipping = Decimal(0)
    return RefundItem(plan.line_index, quantity, principal, shipping, tax, promotion, plan.adjustment_item_id)


def _refunded_by_seller(order: Order, line_index: int, moment: datetime) -> bool:
    return any(
        refund.posted <= moment and any(item.line_index == line_index for item in refund.items)
        for refund in order.adjustments
    )


def order_after_sales(order: Order) -> tuple[list[CustomerReturn], list[Refund]]:
    """Every return and refund of the order, known so far (a line that has not shipped has none yet).
    Refunds are sorted by posting time then id; callers filter by the moment they look at."""
    returns: list[CustomerReturn] = []
    refunds: list[Refund] = []
    for plan in order.plans:
        anchor = _first_shipment(order, plan.line_index)
        if anchor is None:
            continue
        shipped_at, shipped_quantity = anchor
        quantity = min(plan.quantity, shipped_quantity)
        delivered = _seconds(shipped_at + timedelta(days=plan.delivery_days))
        requested = _seconds(delivered + timedelta(days=plan.request_days))
        received = None
        if plan.kind != REFUND_ONLY and plan.transit_days is not None:
            received = _seconds(requested + timedelta(days=plan.transit_days))
        refund_at = None
        if plan.refund_anchor == REFUND_AT_REQUEST:
            refund_at = _seconds(requested + timedelta(days=plan.refund_days))
        elif plan.refund_anchor == REFUND_AT_RECEIPT and received is not None:
            refund_at = _seconds(received + timedelta(days=plan.refund_days))
        refund = None
        if refund_at is not None and not _refunded_by_seller(order, plan.line_index, refund_at):
            refund = Refund(
                refund_id=plan.refund_id,
                posted=refund_at,
                items=(planned_refund_item(order, plan, quantity),),
                reason=plan.refund_reason,
                return_id="" if plan.kind == REFUND_ONLY else plan.return_id,
            )
            refunds.append(refund)
        if plan.kind in (RETURN_AND_REFUND, RETURN_ONLY):
            returns.append(CustomerReturn(order, plan, quantity, shipped_at, delivered, requested, received, refund))
    refunds.extend(order.adjustments)
    refunds.sort(key=lambda refund: (refund.posted, refund.refund_id))
    return returns, refunds


def refunded_so_far(order: Order, line_index: int, moment: datetime) -> tuple[Decimal, Decimal, Decimal]:
    """(net principal, shipping, tax) given back on the line by refunds posted up to the moment."""
    principal = shipping = tax = Decimal(0)
    for refund in order_after_sales(order)[1]:
        if refund.posted > moment:
            continue
        for item in refund.items:
            if item.line_index == line_index:
                principal += item.principal - item.promotion
                shipping += item.shipping
                tax += item.tax
    return principal, shipping, tax

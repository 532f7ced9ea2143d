"""Plain-dict views of the world's returns and refunds, for tests (the simulator's and ACORN's) to compare
with what a client imported. Amounts are Decimal strings in the order's currency; times are ISO 8601 UTC.

A return is shown once a client could know it: an FBA return when the fulfilment centre has processed it
(the FBA customer returns report's ``return-date``), a merchant-fulfilled return when the buyer requested
it. A refund is shown once it is posted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from simulator.aftersales import CustomerReturn
from simulator.amazon.order_shape import iso
from simulator.catalogue import format_amount
from simulator.ledger import refund_charges
from simulator.model import AMAZON, Order, Refund
from simulator.returns_data import MFN_REASON_PREFIX

MFN_APPROVED = "Approved"
MFN_CLOSED = "Closed"
# Refund components by the ledger's (group, kind), with ACORN's component names.
_COMPONENTS = {
    ("ItemPrice", "Principal"): "principal",
    ("ItemPrice", "Shipping"): "shipping",
    ("ItemPrice", "Tax"): "tax",
    ("Promotion", "Principal"): "promotion",
    ("ItemFees", "Commission"): "commission",
    ("ItemFees", "RefundCommission"): "refund_admin_fee",
    ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"): "withheld_tax",
}


def return_visible(customer_return: CustomerReturn, moment: datetime) -> bool:
    if customer_return.fba:
        return customer_return.received_at is not None and customer_return.received_at <= moment
    return customer_return.requested_at <= moment


def mfn_status(customer_return: CustomerReturn, moment: datetime) -> str:
    closed = customer_return.closed_at()
    return MFN_CLOSED if closed is not None and closed <= moment else MFN_APPROVED


def refunds_of_return(customer_return: CustomerReturn, moment: datetime) -> list[Refund]:
    """The refunds that answer the return by the moment: Amazon's, or the seller's on that line after the
    request."""
    if customer_return.refund is not None:
        return [customer_return.refund] if customer_return.refund.posted <= moment else []
    line_index = customer_return.plan.line_index
    return [
        refund
        for refund in customer_return.order.adjustments
        if customer_return.requested_at <= refund.posted <= moment
        and any(item.line_index == line_index for item in refund.items)
    ]


def refunded_amount(customer_return: CustomerReturn, moment: datetime) -> Decimal | None:
    refunds = refunds_of_return(customer_return, moment)
    if not refunds:
        return None
    line_index = customer_return.plan.line_index
    return sum(
        (item.buyer_amount for refund in refunds for item in refund.items if item.line_index == line_index),
        Decimal(0),
    )


def report_reason(customer_return: CustomerReturn) -> str:
    """The reason as the returns reports write it (merchant-fulfilled ones with the CR- prefix)."""
    reason = customer_return.plan.reason
    return reason if customer_return.fba else MFN_REASON_PREFIX + reason


def return_record(customer_return: CustomerReturn, moment: datetime) -> dict[str, Any]:
    order, plan, line = customer_return.order, customer_return.plan, customer_return.line
    received = customer_return.received_at
    if received is not None and received > moment:
        received = None
    amount = refunded_amount(customer_return, moment)
    return {
        "return_id": plan.return_id,
        "order_id": order.order_id,
        "order_item_id": line.order_item_id,
        "sku": line.listing.sku,
        "asin": line.listing.asin,
        "fnsku": line.listing.fnsku,
        "title": line.listing.title,
        "marketplace_id": order.marketplace.marketplace_id,
        "fulfillment_channel": "AFN" if customer_return.fba else "MFN",
        "quantity": customer_return.quantity,
        "currency": order.currency,
        "order_date": iso(order.created),
        "shipped_at": iso(customer_return.shipped_at),
        "requested_at": iso(customer_return.requested_at),
        "received_at": iso(received) if received else None,
        "reason": report_reason(customer_return),
        "reason_code": plan.reason,
        "comment": plan.comment,
        "comment_language": plan.comment_language,
        "status": plan.fba_status if customer_return.fba else mfn_status(customer_return, moment),
        "disposition": plan.disposition,
        "fulfillment_center_id": plan.fulfillment_center,
        "license_plate_number": plan.license_plate_number,
        "rma": plan.rma,
        "carrier": plan.carrier,
        "tracking_number": plan.tracking_number,
        "label_type": plan.label_type,
        "label_cost": format_amount(plan.label_cost, order.currency) if plan.label_cost is not None else None,
        "label_paid_by": plan.label_paid_by,
        "refund_ids": [refund.refund_id for refund in refunds_of_return(customer_return, moment)],
        "refunded_amount": format_amount(amount, order.currency) if amount is not None else None,
    }


def refund_record(order: Order, refund: Refund) -> dict[str, Any]:
    currency = order.currency
    items = []
    total = Decimal(0)
    for item in refund.items:
        line = order.lines[item.line_index]
        amounts = dict.fromkeys(_COMPONENTS.values(), Decimal(0))
        for charge in refund_charges(order, item):
            amounts[_COMPONENTS[(charge.group, charge.kind)]] += charge.amount
            total += charge.amount
        items.append(
            {
                "order_item_id": line.order_item_id,
                "sku": line.listing.sku,
                "quantity": item.quantity,
                "adjustment_item_id": item.adjustment_item_id,
                "merchant_adjustment_item_id": item.merchant_adjustment_item_id,
                **{name: format_amount(amount, currency) for name, amount in amounts.items()},
            }
        )
    return {
        "refund_id": refund.refund_id,
        "order_id": order.order_id,
        "marketplace_id": order.marketplace.marketplace_id,
        "fulfillment_channel": "AFN" if order.fulfilled_by == AMAZON else "MFN",
        "currency": currency,
        "posted_at": iso(refund.posted),
        "reason": refund.reason,
        "by_seller": refund.by_seller,
        "return_id": refund.return_id or None,
        "feed_id": refund.feed_id or None,
        "items": items,
        "amount": format_amount(refund.buyer_amount, currency),  # what the buyer got back
        "total": format_amount(total, currency),  # what it cost the seller, signed as in the settlement
    }

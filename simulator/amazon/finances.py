"""Finances API 2024-06-19: listTransactions (``GET /finances/2024-06-19/transactions``).

One ``Shipment`` transaction per shipment and one ``Refund`` transaction per refund of the world's orders
(the refund's id is its REFUND_ID related identifier). Amounts are JSON numbers (the model's
BigDecimal). ``postedAfter`` is required unless an ORDER_ID related identifier is given; ``postedBefore``
defaults to two minutes before the request and must be at least that old. The next page token is in
``payload.nextToken``; it pins the window (keyset on posting time and transaction id).
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from simulator.amazon.common import AmazonContext, BadRequest, Operation, api_operation, parse_datetime
from simulator.amazon.order_shape import iso
from simulator.catalogue import MARKETPLACES_BY_ID
from simulator.http import Request, Response, Route
from simulator.http import json_number as number
from simulator.ledger import REFUND, FinancialEvent, financial_events, settlement_id
from simulator.model import AMAZON, Seller
from simulator.world import VISIBILITY_DELAY

LIST_TRANSACTIONS = Operation("listTransactions", rate=0.5, burst=10, rate_header="0.5")
PAGE_SIZE = 50
MAX_WINDOW = timedelta(days=180)
TRANSACTION_STATUSES = ("DEFERRED", "RELEASED", "DEFERRED_RELEASED")
_BREAKDOWN_NAMES = {
    ("ItemPrice", "Principal"): "Product Charges",
    ("ItemPrice", "Shipping"): "Shipping",
    ("ItemPrice", "Tax"): "Tax",
    ("Promotion", "Principal"): "Promotion",
    ("ItemFees", "Commission"): "Commission",
    ("ItemFees", "FBAPerUnitFulfillmentFee"): "FBA Fulfillment Fee",
    ("ItemFees", "RefundCommission"): "Refund Commission",
    ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"): "Marketplace Facilitator Tax",
}


def currency(amount: Decimal, code: str) -> dict[str, Any]:
    return {"currencyAmount": number(amount), "currencyCode": code}


def _breakdown(kind: str, amount: Decimal, code: str, children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"breakdownType": kind, "breakdownAmount": currency(amount, code), "breakdowns": children or []}


def render_transaction(seller: Seller, event: FinancialEvent, now: datetime) -> dict[str, Any]:
    """One Finances 2024-06-19 Transaction."""
    order, code = event.order, event.currency
    marketplace = order.marketplace
    items = []
    sales: dict[str, Decimal] = {}
    expenses: dict[str, Decimal] = {}
    for item in event.items:
        breakdowns = []
        for charge in item.charges:
            name = _BREAKDOWN_NAMES[(charge.group, charge.kind)]
            breakdowns.append(_breakdown(name, charge.amount, code))
            bucket = sales if charge.group in ("ItemPrice", "Promotion") else expenses
            bucket[name] = bucket.get(name, Decimal(0)) + charge.amount
        items.append(
            {
                "description": item.line.listing.title,
                "totalAmount": currency(item.total, code),
                "breakdowns": breakdowns,
                "contexts": [
                    {
                        "contextType": "ProductContext",
                        "asin": item.line.listing.asin,
                        "sku": item.line.listing.sku,
                        "quantityShipped": item.quantity,
                        "fulfillmentNetwork": "AFN" if order.fulfilled_by == AMAZON else "MFN",
                    }
                ],
            }
        )
    fees = {name: amount for name, amount in expenses.items() if name != "Marketplace Facilitator Tax"}
    expense_children = []
    if fees:
        fee_children = [_breakdown(name, amount, code) for name, amount in fees.items()]
        expense_children.append(_breakdown("Amazon Fees", sum(fees.values(), Decimal(0)), code, fee_children))
    if "Marketplace Facilitator Tax" in expenses:
        expense_children.append(_breakdown("Tax Withheld", expenses["Marketplace Facilitator Tax"], code))
    breakdowns = [
        _breakdown("Sales", sum(sales.values(), Decimal(0)), code, [_breakdown(n, a, code) for n, a in sales.items()]),
        _breakdown("Expenses", sum(expenses.values(), Decimal(0)), code, expense_children),
    ]
    contexts: list[dict[str, Any]] = []
    if event.deferred_until is not None:
        contexts.append(
            {
                "contextType": "DeferredContext",
                "deferralReason": "DD7",
                "maturityDate": iso(event.deferred_until),
                "deferralStatus": "HOLD" if event.status_at(now) == "DEFERRED" else "RELEASE",
            }
        )
    if event.refund is not None:
        identifier = {"relatedIdentifierName": "REFUND_ID", "relatedIdentifierValue": event.refund.refund_id}
    else:
        reference = event.shipment.reference if event.shipment is not None else ""
        identifier = {"relatedIdentifierName": "SHIPMENT_ID", "relatedIdentifierValue": reference}
    status = event.status_at(now)
    related = [
        {"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": order.order_id},
        identifier,
    ]
    if status != "DEFERRED":  # a deferred transaction is in no settlement until it is released
        related.append(
            {
                "relatedIdentifierName": "SETTLEMENT_ID",
                "relatedIdentifierValue": settlement_id(
                    seller.selling_partner_id, marketplace.marketplace_id, event.settlement_index
                ),
            }
        )
    transaction: dict[str, Any] = {
        "sellingPartnerMetadata": {
            "sellingPartnerId": seller.selling_partner_id,
            "accountType": "Standard Orders",
            "marketplaceId": marketplace.marketplace_id,
        },
        "relatedIdentifiers": related,
        "transactionType": event.kind,
        "transactionId": event.transaction_id,
        "transactionStatus": status,
        "description": "Order Refund" if event.kind == REFUND else "Order Payment",
        "postedDate": iso(event.posted),
        "totalAmount": currency(event.total, code),
        "marketplaceDetails": {"marketplaceId": marketplace.marketplace_id, "marketplaceName": marketplace.name},
        "items": items,
        "breakdowns": breakdowns,
    }
    if contexts:
        transaction["contexts"] = contexts
    return transaction


def _window(request: Request, seller: Seller, horizon: datetime) -> dict[str, Any]:
    identifier_name = request.first("relatedIdentifierName")
    identifier_value = request.first("relatedIdentifierValue") or ""
    if identifier_name and identifier_name != "ORDER_ID":
        raise BadRequest("Only relatedIdentifierName=ORDER_ID can be used to filter.", "relatedIdentifierName")
    order_id = identifier_value if identifier_name else ""
    raw_after = request.first("postedAfter")
    if not raw_after and not order_id:
        raise BadRequest("Start date cannot be null", "postedAfter")
    after = parse_datetime(raw_after, "postedAfter") if raw_after else datetime(2000, 1, 1, tzinfo=UTC)
    if after > horizon:
        raise BadRequest("postedAfter must be more than two minutes before the time of the request.", "postedAfter")
    raw_before = request.first("postedBefore")
    before = parse_datetime(raw_before, "postedBefore") if raw_before else horizon
    if before > horizon:
        raise BadRequest("postedBefore must be more than two minutes before the time of the request.", "postedBefore")
    if before <= after:
        raise BadRequest("postedBefore must be later than postedAfter.", "postedBefore")
    marketplace_id = request.first("marketplaceId") or ""
    if marketplace_id and marketplace_id not in MARKETPLACES_BY_ID:
        raise BadRequest(f"Invalid marketplaceId: {marketplace_id}.", "marketplaceId")
    status = (request.first("transactionStatus") or "").upper()
    if status and status not in TRANSACTION_STATUSES:
        raise BadRequest(f"Invalid transactionStatus: {status}.", "transactionStatus")
    return {"a": iso(after), "b": iso(before), "mk": marketplace_id, "st": status, "o": order_id}


def list_transactions(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    world = context.world
    now = world.now()
    horizon = now - VISIBILITY_DELAY
    last_key: tuple[datetime, str] | None = None
    token = request.first("nextToken")
    if token:
        state = context.decode_token(token, "nextToken")
        if state.get("s") != seller.selling_partner_id or not isinstance(state.get("w"), dict):
            raise BadRequest("Invalid nextToken.", "nextToken")
        window = state["w"]
        last_key = (parse_datetime(state["k"][0], "nextToken"), state["k"][1])
    else:
        window = _window(request, seller, horizon)
    after, before = parse_datetime(window["a"], "window"), parse_datetime(window["b"], "window")
    events = []
    if before - after <= MAX_WINDOW or window["o"]:
        for event in financial_events(world.seller_orders(seller.selling_partner_id), before):
            if not after <= event.posted < before:
                continue
            if window["mk"] and event.order.marketplace.marketplace_id != window["mk"]:
                continue
            if window["o"] and event.order.order_id != window["o"]:
                continue
            if window["st"] and event.status_at(now) != window["st"]:
                continue
            events.append(event)
    keys = [(event.posted, event.transaction_id) for event in events]
    start = bisect.bisect_right(keys, last_key) if last_key else 0
    page = events[start : start + PAGE_SIZE]
    payload: dict[str, Any] = {"transactions": [render_transaction(seller, event, now) for event in page]}
    if start + PAGE_SIZE < len(events):
        key_time, key_id = keys[start + PAGE_SIZE - 1]
        payload["nextToken"] = context.encode_token(
            {"s": seller.selling_partner_id, "w": window, "k": [iso(key_time), key_id], "i": now.timestamp()}
        )
    return Response.json_body({"payload": payload})


def routes(context: AmazonContext) -> list[Route]:
    return [
        Route(
            "GET",
            "/finances/2024-06-19/transactions",
            api_operation(context, LIST_TRANSACTIONS, list_transactions),
            "listTransactions",
        )
    ]

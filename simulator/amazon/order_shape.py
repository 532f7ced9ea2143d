"""Orders API 2026-01-01 JSON for a world order, shaped like Amazon's own examples.

Only the datasets asked for with `includedData` are included. Recipient data is PII-free (city, region,
postal code, country). Amounts are strings in the currency's minor unit ("19.99", "1980" for JPY).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from simulator.catalogue import SHIP_FROM_ADDRESS, TAX_COLLECTORS, format_amount
from simulator.model import MERCHANT, Order, OrderLine, OrderState

ALL_DATASETS = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
_BREAKDOWN_ORDER = ("ITEM", "SHIPPING", "TAX", "DISCOUNT")


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second, as in Amazon's examples."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": format_amount(amount, currency), "currencyCode": currency}


def _line_breakdowns(line: OrderLine) -> dict[str, Decimal]:
    amounts = {"ITEM": line.item_amount, "SHIPPING": line.shipping, "TAX": line.tax, "DISCOUNT": -line.discount}
    return {kind: amount for kind, amount in amounts.items() if kind == "ITEM" or amount}


def _item(order: Order, index: int, line: OrderLine, state: OrderState, included: Collection[str]) -> dict[str, Any]:
    currency = order.currency
    listing = line.listing
    item: dict[str, Any] = {
        "orderItemId": line.order_item_id,
        "quantityOrdered": line.quantity,
        "product": {
            "asin": listing.asin,
            "title": listing.title,
            "sellerSku": listing.sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW", "conditionNote": ""},
            "price": {"unitPrice": money(line.unit_price, currency)},
        },
    }
    if "PROCEEDS" in included:
        breakdowns = []
        for kind, amount in _line_breakdowns(line).items():
            entry: dict[str, Any] = {"type": kind, "subtotal": money(amount, currency)}
            if kind in ("TAX", "DISCOUNT"):
                entry["detailedBreakdowns"] = [{"subtype": "ITEM", "value": money(amount, currency)}]
            breakdowns.append(entry)
        item["proceeds"] = {"proceedsTotal": money(line.proceeds_total, currency), "breakdowns": breakdowns}
    if "EXPENSE" in included and line.points:
        item["expense"] = {
            "pointsCost": {
                "pointsGranted": {
                    "pointsNumber": line.points,
                    "pointsMonetaryValue": money(Decimal(line.points), currency),
                }
            }
        }
    if "PROMOTION" in included and line.promotion_id:
        item["promotion"] = {"breakdowns": [{"promotionId": line.promotion_id}]}
    if "CANCELLATION" in included and state.cancellation is not None:
        event = state.cancellation
        cancellation: dict[str, Any] = {}
        if event.cancel_requested:
            cancellation["cancellationRequest"] = {"requester": "BUYER", "cancelReason": event.cancel_reason or ""}
        cancellation["cancellationExecution"] = {
            "cancelledBy": event.cancelled_by or "BUYER",
            "cancelReason": event.cancel_reason or "",
        }
        item["cancellation"] = cancellation
    if "FULFILLMENT" in included:
        shipped = state.shipped_quantities[index]
        item["fulfillment"] = {"quantityFulfilled": shipped, "quantityUnfulfilled": line.quantity - shipped}
    if "TAX" in included and order.marketplace.code in TAX_COLLECTORS:
        item["tax"] = {
            "taxCollections": [
                {"model": "MARKETPLACE_FACILITATOR", "responsibleParty": TAX_COLLECTORS[order.marketplace.code]}
            ]
        }
    return item


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"earliestDateTime": iso(start), "latestDateTime": iso(end)}


def render_order(
    order: Order, state: OrderState, included: Collection[str], *, malformed: bool = False
) -> dict[str, Any]:
    """The order as searchOrders / getOrder show it; `malformed` applies the order's permanent defect."""
    currency = order.currency
    result: dict[str, Any] = {
        "orderId": order.order_id,
        "orderAliases": [{"aliasId": order.seller_order_id, "aliasType": "SELLER_ORDER_ID"}],
        "createdTime": iso(order.created),
        "lastUpdatedTime": iso(state.last_updated),
    }
    if order.programs:
        result["programs"] = list(order.programs)
    result["salesChannel"] = {
        "channelName": "AMAZON",
        "marketplaceId": order.marketplace.marketplace_id,
        "marketplaceName": order.marketplace.name,
    }
    if "BUYER" in included:
        buyer: dict[str, str] = {}
        if order.fulfilled_by == MERCHANT:
            buyer["buyerEmail"] = order.buyer_email
        if order.buyer_company:
            buyer["buyerCompanyName"] = order.buyer_company
        if buyer:
            result["buyer"] = buyer
    if "RECIPIENT" in included:
        city, region, postal_code, country = order.address
        result["recipient"] = {
            "deliveryAddress": {
                "city": city,
                "stateOrRegion": region,
                "postalCode": postal_code,
                "countryCode": country,
            }
        }
    if "PROCEEDS" in included:
        totals: dict[str, Decimal] = {}
        for line in order.lines:
            for kind, amount in _line_breakdowns(line).items():
                totals[kind] = totals.get(kind, Decimal(0)) + amount
        result["proceeds"] = {
            "grandTotal": money(order.grand_total, currency),
            "breakdowns": [
                {"type": kind, "subtotal": money(totals[kind], currency)} for kind in _BREAKDOWN_ORDER if kind in totals
            ],
        }
    if "FULFILLMENT" in included:
        day = order.created.replace(hour=0, minute=0, second=0)
        result["fulfillment"] = {
            "fulfillmentStatus": state.status,
            "fulfilledBy": order.fulfilled_by,
            "fulfillmentServiceLevel": order.service_level,
            "shipByWindow": _window(day, day + timedelta(days=2, seconds=-1)),
            "deliverByWindow": _window(day + timedelta(days=3), day + timedelta(days=8, seconds=-1)),
        }
    result["orderItems"] = [_item(order, i, line, state, included) for i, line in enumerate(order.lines)]
    if "PACKAGES" in included and order.fulfilled_by == MERCHANT and state.shipments:
        result["packages"] = [
            {
                "packageReferenceId": shipment.reference,
                "createdTime": iso(shipment.shipped_at - timedelta(hours=1)),
                "packageStatus": {"status": "SHIPPED", "detailedStatus": "PICKED_UP"},
                "carrier": shipment.carrier,
                "shipTime": iso(shipment.shipped_at),
                "shippingService": shipment.service,
                "trackingNumber": shipment.tracking_number,
                "shipFromAddress": dict(SHIP_FROM_ADDRESS),
                "packageItems": [
                    {"orderItemId": order.lines[index].order_item_id, "quantity": quantity}
                    for index, quantity in shipment.quantities
                ],
            }
            for shipment in state.shipments
        ]
    if malformed and order.malformed:
        _break(result, order.malformed)
    return result


def _break(result: dict[str, Any], kind: str) -> None:
    """Apply a permanent defect, the kind real integrations meet once in a while."""
    if kind == "missing_order_id":
        del result["orderId"]
    elif kind == "non_numeric_amount":
        result["orderItems"][0]["product"]["price"]["unitPrice"]["amount"] = "N/A"
        if "proceeds" in result:
            result["proceeds"]["grandTotal"]["amount"] = "12,34.5"
    elif kind == "quantity_not_integer":
        result["orderItems"][0]["quantityOrdered"] = "two"
    elif kind == "bad_created_time":
        result["createdTime"] = "25/12/2024 10:30"

"""Finances API v0: listFinancialEvents (``GET /finances/v0/financialEvents``) and
listFinancialEventsByOrderId (``GET /finances/v0/orders/{orderId}/financialEvents``).

The same ledger as Finances 2024-06-19 and the settlement report: a shipment is a ShipmentEvent, a refund
a RefundEvent (the ShipmentEvent shape with ``ShipmentItemAdjustmentList``); CurrencyAmount is a JSON
number. As Amazon documents, deferred events (merchant-fulfilled shipments during their seven days) are
left out until they are released, keeping their original PostedDate: a window already read can gain
events later. So the events here are the 2024-06-19 transactions of the window that are not DEFERRED.

``PostedAfter`` is required unless a ``NextToken`` is given (the token pins the window, the page size and
the last event sent); ``PostedBefore`` defaults to two minutes before the request and must be at least that
old; a window longer than 180 days gives an empty answer. ``MaxResultsPerPage`` (1-100, default 100)
counts shipment and refund events together. Under the hostile profile a page is now and then empty but
carries a NextToken, as Amazon warns.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from typing import Any

from simulator.amazon.common import AmazonContext, BadRequest, Operation, api_operation, parse_datetime
from simulator.amazon.order_shape import iso
from simulator.http import Request, Response, Route
from simulator.http import json_number as number
from simulator.ledger import REFUND, FinancialEvent, financial_events, order_events
from simulator.model import Seller
from simulator.world import VISIBILITY_DELAY

LIST_FINANCIAL_EVENTS = Operation("listFinancialEvents", rate=0.5, burst=30, rate_header="0.5")
LIST_FINANCIAL_EVENTS_BY_ORDER_ID = Operation("listFinancialEventsByOrderId", rate=0.5, burst=30, rate_header="0.5")
PREFIX = "/finances/v0"
MAX_PAGE_SIZE = 100
MAX_WINDOW = timedelta(days=180)
# Every list of FinancialEvents; Amazon sends them all, empty when there is nothing of that kind.
EVENT_LISTS = (
    "ShipmentEventList",
    "ShipmentSettleEventList",
    "RefundEventList",
    "GuaranteeClaimEventList",
    "EBTRefundReimbursementOnlyEventList",
    "ChargebackEventList",
    "PayWithAmazonEventList",
    "ServiceProviderCreditEventList",
    "RetrochargeEventList",
    "RentalTransactionEventList",
    "ProductAdsPaymentEventList",
    "ServiceFeeEventList",
    "SellerDealPaymentEventList",
    "DebtRecoveryEventList",
    "LoanServicingEventList",
    "AdjustmentEventList",
    "SAFETReimbursementEventList",
    "SellerReviewEnrollmentPaymentEventList",
    "FBALiquidationEventList",
    "CouponPaymentEventList",
    "ImagingServicesFeeEventList",
    "NetworkComminglingTransactionEventList",
    "AffordabilityExpenseEventList",
    "AffordabilityExpenseReversalEventList",
    "RemovalShipmentEventList",
    "RemovalShipmentAdjustmentEventList",
    "TrialShipmentEventList",
    "TDSReimbursementEventList",
    "AdhocDisbursementEventList",
    "TaxWithholdingEventList",
    "ChargeRefundEventList",
    "FailedAdhocDisbursementEventList",
    "ValueAddedServiceChargeEventList",
    "CapacityReservationBillingEventList",
)
# The settlement's ItemPrice amount descriptions → v0 ChargeType.
_CHARGE_TYPES = {"Principal": "Principal", "Shipping": "ShippingCharge", "Tax": "Tax"}


def _money(amount: Any, code: str) -> dict[str, Any]:
    return {"CurrencyCode": code, "CurrencyAmount": number(amount)}


def render_event(event: FinancialEvent) -> dict[str, Any]:
    """One ShipmentEvent (a shipment) or RefundEvent entry (a refund, in the ShipmentEvent shape)."""
    order, code = event.order, event.currency
    refund = event.kind == REFUND
    items = []
    for item in event.items:
        charges, fees, promotions, withheld = [], [], [], []
        for charge in item.charges:
            if charge.group == "ItemPrice":
                charges.append({"ChargeType": _CHARGE_TYPES[charge.kind], "ChargeAmount": _money(charge.amount, code)})
            elif charge.group == "ItemFees":
                fees.append({"FeeType": charge.kind, "FeeAmount": _money(charge.amount, code)})
            elif charge.group == "Promotion":
                promotions.append(
                    {
                        "PromotionType": "PromotionMetaDataDefinitionValue",
                        "PromotionId": item.line.promotion_id or "",
                        "PromotionAmount": _money(charge.amount, code),
                    }
                )
            else:
                withheld.append({"ChargeType": charge.kind, "ChargeAmount": _money(charge.amount, code)})
        entry: dict[str, Any] = {"SellerSKU": item.line.listing.sku, "OrderItemId": item.line.order_item_id}
        if refund:
            entry["OrderAdjustmentItemId"] = item.adjustment_item_id
        entry["QuantityShipped"] = item.quantity
        entry["ItemChargeAdjustmentList" if refund else "ItemChargeList"] = charges
        entry["ItemFeeAdjustmentList" if refund else "ItemFeeList"] = fees
        if withheld:
            entry["ItemTaxWithheldList"] = [{"TaxCollectionModel": "MarketplaceFacilitator", "TaxesWithheld": withheld}]
        if promotions:
            entry["PromotionAdjustmentList" if refund else "PromotionList"] = promotions
        items.append(entry)
    return {
        "AmazonOrderId": order.order_id,
        "SellerOrderId": order.seller_order_id,
        "MarketplaceName": order.marketplace.name,
        "PostedDate": iso(event.posted),
        "ShipmentItemAdjustmentList" if refund else "ShipmentItemList": items,
    }


def _payload(events: list[FinancialEvent], next_token: str | None) -> dict[str, Any]:
    lists: dict[str, list[dict[str, Any]]] = {name: [] for name in EVENT_LISTS}
    for event in events:
        lists["RefundEventList" if event.kind == REFUND else "ShipmentEventList"].append(render_event(event))
    payload: dict[str, Any] = {}
    if next_token:
        payload["NextToken"] = next_token
    payload["FinancialEvents"] = lists
    return {"payload": payload}


def _page_size(request: Request) -> int:
    raw = request.first("MaxResultsPerPage")
    if raw is None or raw == "":
        return MAX_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise BadRequest("MaxResultsPerPage must be an integer between 1 and 100.", "MaxResultsPerPage")
    return int(raw)


def _window(request: Request, horizon: datetime) -> dict[str, Any]:
    raw_after, raw_before = request.first("PostedAfter"), request.first("PostedBefore")
    if not raw_after:
        raise BadRequest("PostedAfter is required (or a NextToken).", "PostedAfter")
    after = parse_datetime(raw_after, "PostedAfter")
    if after > horizon:
        raise BadRequest("PostedAfter must be more than two minutes before the time of the request.", "PostedAfter")
    before = parse_datetime(raw_before, "PostedBefore") if raw_before else horizon
    if before > horizon:
        raise BadRequest("PostedBefore must be more than two minutes before the time of the request.", "PostedBefore")
    if before <= after:
        raise BadRequest("PostedBefore must be later than PostedAfter.", "PostedBefore")
    return {"a": iso(after), "b": iso(before)}


def _page(
    context: AmazonContext,
    seller: Seller,
    scope: dict[str, Any],
    events: list[FinancialEvent],
    last_key: tuple[datetime, str] | None,
    size: int,
    empty_before: bool,
) -> Response:
    now = context.world.now()
    keys = [(event.posted, event.transaction_id) for event in events]
    start = bisect.bisect_right(keys, last_key) if last_key else 0
    state = {"s": seller.selling_partner_id, "w": scope, "n": size, "i": now.timestamp()}
    profile = context.faults.profile
    if start < len(events) and not empty_before and context.faults.chance(profile.empty_page_rate):
        key = [iso(last_key[0]), last_key[1]] if last_key else None
        return Response.json_body(_payload([], context.encode_token({**state, "k": key, "e": 1})))
    page = events[start : start + size]
    token = None
    if start + size < len(events):
        key_time, key_id = keys[start + size - 1]
        token = context.encode_token({**state, "k": [iso(key_time), key_id]})
    return Response.json_body(_payload(page, token))


def _resume(context: AmazonContext, request: Request, seller: Seller) -> tuple[dict[str, Any], Any, int, bool]:
    token = request.first("NextToken") or ""
    state = context.decode_token(token, "NextToken")
    if state.get("s") != seller.selling_partner_id or not isinstance(state.get("w"), dict):
        raise BadRequest("Invalid NextToken.", "NextToken")
    key = state.get("k")
    last_key = (parse_datetime(key[0], "NextToken"), key[1]) if key else None
    size = _page_size(request) if request.first("MaxResultsPerPage") else int(state["n"])
    return state["w"], last_key, size, bool(state.get("e"))


def _released(events: list[FinancialEvent], now: datetime) -> list[FinancialEvent]:
    return [event for event in events if event.status_at(now) != "DEFERRED"]


def list_financial_events(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    world = context.world
    now = world.now()
    horizon = now - VISIBILITY_DELAY
    last_key, empty_before = None, False
    if request.first("NextToken"):
        window, last_key, size, empty_before = _resume(context, request, seller)
    else:
        window, size = _window(request, horizon), _page_size(request)
    after, before = parse_datetime(window["a"], "PostedAfter"), parse_datetime(window["b"], "PostedBefore")
    events: list[FinancialEvent] = []
    if before - after <= MAX_WINDOW:
        found = financial_events(world.seller_orders(seller.selling_partner_id), before)
        events = _released([event for event in found if after <= event.posted < before], now)
    return _page(context, seller, window, events, last_key, size, empty_before)


def list_financial_events_by_order_id(
    context: AmazonContext, request: Request, params: dict[str, str], seller: Seller
) -> Response:
    world = context.world
    now = world.now()
    order_id = params["orderId"]
    last_key, empty_before = None, False
    if request.first("NextToken"):
        scope, last_key, size, empty_before = _resume(context, request, seller)
        if scope.get("o") != order_id:
            raise BadRequest("Invalid NextToken.", "NextToken")
    else:
        scope, size = {"o": order_id}, _page_size(request)
    order = world.order(order_id)
    events: list[FinancialEvent] = []
    if order is not None and order.seller_id == seller.selling_partner_id:
        events = _released(order_events(order, now - VISIBILITY_DELAY), now)
        events.sort(key=lambda event: (event.posted, event.transaction_id))
    return _page(context, seller, scope, events, last_key, size, empty_before)


def routes(context: AmazonContext) -> list[Route]:
    return [
        Route(
            "GET",
            f"{PREFIX}/financialEvents",
            api_operation(context, LIST_FINANCIAL_EVENTS, list_financial_events),
            "listFinancialEvents",
        ),
        Route(
            "GET",
            f"{PREFIX}/orders/{{orderId}}/financialEvents",
            api_operation(context, LIST_FINANCIAL_EVENTS_BY_ORDER_ID, list_financial_events_by_order_id),
            "listFinancialEventsByOrderId",
        ),
    ]

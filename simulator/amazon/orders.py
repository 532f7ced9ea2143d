"""Orders API 2026-01-01: searchOrders and getOrder.

searchOrders pages through the orders whose creation time (``createdAfter``) or last-update time
(``lastUpdatedAfter``) lies in the window, sorted by that time then order id. The window's upper bound
is ``createdBefore`` / ``lastUpdatedBefore`` or, by default, two minutes before the request; orders are
shown as they were two minutes ago, so an update is never visible sooner. The pagination token is
opaque, signed, and pins the window and the last key sent (keyset pagination), so pages stay stable
while the world keeps changing: an order updated during the pagination leaves the window and shows up
in the next one.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from typing import Any

from simulator.amazon.common import (
    AmazonContext,
    BadRequest,
    Operation,
    api_operation,
    error_response,
    parse_datetime,
)
from simulator.amazon.order_shape import ALL_DATASETS, iso, render_order
from simulator.catalogue import MARKETPLACES_BY_ID
from simulator.http import Request, Response, Route
from simulator.model import AMAZON, FULFILLMENT_STATUSES, MERCHANT, Seller
from simulator.world import VISIBILITY_DELAY

SEARCH_ORDERS = Operation("searchOrders", rate=0.0056, burst=20, rate_header="0.0056")
GET_ORDER = Operation("getOrder", rate=0.5, burst=30, rate_header="0.5")
PREFIX = "/orders/2026-01-01"
MAX_PAGE_SIZE = 100
TOKEN_EXPIRED_MESSAGE = "The paginationToken has expired or is no longer valid. Start the search again."


def _included(request: Request) -> frozenset[str]:
    values = [value.upper() for value in request.many("includedData")]
    unknown = [value for value in values if value not in ALL_DATASETS]
    if unknown:
        raise BadRequest(f"Invalid includedData: {', '.join(unknown)}.", "includedData")
    return frozenset(values)


def _page_size(request: Request) -> int:
    raw = request.first("maxResultsPerPage")
    if raw is None or raw == "":
        return MAX_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise BadRequest("maxResultsPerPage must be an integer between 1 and 100.", "maxResultsPerPage") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest("maxResultsPerPage must be an integer between 1 and 100.", "maxResultsPerPage")
    return size


def _filters(request: Request, seller: Seller) -> dict[str, list[str]]:
    marketplace_ids = request.many("marketplaceIds")
    if len(marketplace_ids) > 50:
        raise BadRequest("marketplaceIds accepts at most 50 values.", "marketplaceIds")
    for marketplace_id in marketplace_ids:
        if marketplace_id not in MARKETPLACES_BY_ID:
            raise BadRequest(f"Invalid marketplaceId: {marketplace_id}.", "marketplaceIds")
        if marketplace_id not in seller.marketplace_ids:
            raise BadRequest(f"The seller is not registered in marketplace {marketplace_id}.", "marketplaceIds")
    statuses = [value.upper() for value in request.many("fulfillmentStatuses")]
    wrong = [value for value in statuses if value not in FULFILLMENT_STATUSES]
    if wrong:
        raise BadRequest(f"Invalid fulfillmentStatuses: {', '.join(wrong)}.", "fulfillmentStatuses")
    fulfilled_by = [value.upper() for value in request.many("fulfilledBy")]
    wrong = [value for value in fulfilled_by if value not in (AMAZON, MERCHANT)]
    if wrong:
        raise BadRequest(f"Invalid fulfilledBy: {', '.join(wrong)}.", "fulfilledBy")
    return {"mk": marketplace_ids, "fs": statuses, "fb": fulfilled_by}


def _window(request: Request, seller: Seller, now: datetime, horizon: datetime) -> dict[str, Any]:
    created_after, updated_after = request.first("createdAfter"), request.first("lastUpdatedAfter")
    created_before, updated_before = request.first("createdBefore"), request.first("lastUpdatedBefore")
    if bool(created_after) == bool(updated_after):
        raise BadRequest("Exactly one of createdAfter and lastUpdatedAfter must be provided.", "createdAfter")
    if created_after and updated_before:
        raise BadRequest("lastUpdatedBefore cannot be combined with createdAfter.", "lastUpdatedBefore")
    if updated_after and created_before:
        raise BadRequest("createdBefore cannot be combined with lastUpdatedAfter.", "createdBefore")
    after_name, before_name = (
        ("createdAfter", "createdBefore") if created_after else ("lastUpdatedAfter", "lastUpdatedBefore")
    )
    after = parse_datetime(created_after or updated_after or "", after_name)
    if after > now:
        raise BadRequest(f"{after_name} must not be in the future.", after_name)
    raw_before = created_before or updated_before
    if raw_before:
        before = parse_datetime(raw_before, before_name)
        if before > horizon:
            raise BadRequest(f"{before_name} must be at least two minutes before the time of the request.", before_name)
        if before < after:
            raise BadRequest(f"{before_name} must be equal to or after {after_name}.", before_name)
    else:
        before = max(horizon, after)
    return {"m": "c" if created_after else "u", "a": iso(after), "b": iso(before), **_filters(request, seller)}


def search_orders(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    world, profile = context.world, context.faults.profile
    now = world.now()
    horizon = now - VISIBILITY_DELAY
    page_size = _page_size(request)
    included = _included(request)
    last_key: tuple[datetime, str] | None = None
    token = request.first("paginationToken")
    if token:
        state = context.decode_token(token)
        if state.get("s") != seller.selling_partner_id or not isinstance(state.get("w"), dict):
            raise BadRequest("Invalid paginationToken.", "paginationToken")
        window = state["w"]
        window_key = (seller.selling_partner_id, window["m"], window["a"], *map(tuple, (window["mk"], window["fs"])))
        age = (now - datetime.fromtimestamp(state["i"], UTC)).total_seconds()
        if age > profile.token_ttl_seconds or context.faults.expire_token_at_random(window_key):
            raise BadRequest(TOKEN_EXPIRED_MESSAGE, "paginationToken")
        last_key = (parse_datetime(state["k"][0], "paginationToken"), state["k"][1])
    else:
        window = _window(request, seller, now, horizon)
    by_created = window["m"] == "c"
    found = world.search_orders(
        seller.selling_partner_id,
        by_created=by_created,
        after=parse_datetime(window["a"], "window"),
        before=parse_datetime(window["b"], "window"),
        at=horizon,
        marketplace_ids=window["mk"] or seller.marketplace_ids,
        statuses=window["fs"],
        fulfilled_by=window["fb"],
    )
    start = bisect.bisect_right([key for key, _ in found], last_key) if last_key else 0
    end = start + page_size
    page = found[start:end]
    if last_key and start > 0 and page_size > 1 and context.faults.chance(profile.duplicate_page_rate):
        repeated = context.faults.randint(1, min(3, page_size - 1, start))
        end = start + page_size - repeated
        page = found[start - repeated : end]
    orders = [
        render_order(order, order.state_at(horizon), included, malformed=profile.malformed_records) for _, order in page
    ]
    if profile.shuffle_pages:
        context.faults.shuffle(orders)
    body: dict[str, Any] = {"orders": orders}
    if end < len(found):
        key_time, key_id = found[end - 1][0]
        body["pagination"] = {
            "nextToken": context.encode_token(
                {"s": seller.selling_partner_id, "w": window, "k": [iso(key_time), key_id], "i": now.timestamp()}
            )
        }
    body["createdBefore" if by_created else "lastUpdatedBefore"] = window["b"]
    return Response.json_body(body)


def get_order(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    included = _included(request)
    order = context.world.order(params["orderId"])
    if order is None or order.seller_id != seller.selling_partner_id:
        return error_response(404, "NotFound", f"Order {params['orderId']} was not found.", "orderId")
    state = order.state_at(context.world.now())
    rendered = render_order(order, state, included, malformed=context.faults.profile.malformed_records)
    return Response.json_body({"order": rendered})


def routes(context: AmazonContext) -> list[Route]:
    return [
        Route("GET", f"{PREFIX}/orders", api_operation(context, SEARCH_ORDERS, search_orders), "searchOrders"),
        Route("GET", f"{PREFIX}/orders/{{orderId}}", api_operation(context, GET_ORDER, get_order), "getOrder"),
    ]

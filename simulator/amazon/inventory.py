"""FBA Inventory v1: getInventorySummaries (``GET /fba/inventory/v1/summaries``).

Marketplace granularity only (``granularityType=Marketplace``, ``granularityId`` = the one marketplace in
``marketplaceIds``, as in every request of Amazon's use case guide; an id that is no marketplace gets
Amazon's generic InvalidInput). ``details=true`` adds ``inventoryDetails``. The figures are those of the
marketplace's FBA pool (``simulator.stock``): every marketplace of a pool answers with the same,
pooled stock. ``startDateTime`` returns SKUs changed since then; ``sellerSkus`` / ``sellerSku`` narrow
the list otherwise. The next page token is in the top-level ``pagination.nextToken`` and, as Amazon
documents, expires 30 seconds after it was issued.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulator.amazon.common import AmazonContext, BadRequest, Operation, api_operation, parse_datetime
from simulator.amazon.order_shape import iso
from simulator.catalogue import MARKETPLACES_BY_ID
from simulator.http import Request, Response, Route
from simulator.model import Seller
from simulator.stock import StockLevel, seller_stock_levels

GET_INVENTORY_SUMMARIES = Operation("getInventorySummaries", rate=2.0, burst=2, rate_header="2.0")
PAGE_SIZE = 50
TOKEN_TTL_SECONDS = 30.0


def render_summary(level: StockLevel, details: bool) -> dict[str, Any]:
    listing = level.listing
    summary: dict[str, Any] = {
        "asin": listing.asin,
        "fnSku": listing.fnsku,
        "sellerSku": listing.sku,
        "condition": "NewItem",
    }
    if details:
        summary["inventoryDetails"] = {
            "fulfillableQuantity": level.fulfillable,
            "inboundWorkingQuantity": 0,
            "inboundShippedQuantity": level.inbound_shipped,
            "inboundReceivingQuantity": 0,
            "reservedQuantity": {
                "totalReservedQuantity": level.reserved,
                "pendingCustomerOrderQuantity": level.reserved,
                "pendingTransshipmentQuantity": 0,
                "fcProcessingQuantity": 0,
            },
            "researchingQuantity": {"totalResearchingQuantity": 0, "researchingQuantityBreakdown": []},
            "unfulfillableQuantity": {
                "totalUnfulfillableQuantity": level.unfulfillable_total,
                "customerDamagedQuantity": level.unfulfillable.get("customerDamagedQuantity", 0),
                "warehouseDamagedQuantity": level.unfulfillable.get("warehouseDamagedQuantity", 0),
                "distributorDamagedQuantity": 0,
                "carrierDamagedQuantity": level.unfulfillable.get("carrierDamagedQuantity", 0),
                "defectiveQuantity": level.unfulfillable.get("defectiveQuantity", 0),
                "expiredQuantity": 0,
            },
        }
    summary["lastUpdatedTime"] = iso(level.last_updated)
    summary["productName"] = listing.title
    summary["totalQuantity"] = level.total
    return summary


def _query(request: Request, seller: Seller) -> dict[str, Any]:
    if request.first("granularityType") != "Marketplace":
        raise BadRequest("granularityType must be Marketplace.", "granularityType")
    granularity_id = request.first("granularityId") or ""
    marketplace_ids = request.many("marketplaceIds")
    if len(marketplace_ids) != 1:
        raise BadRequest("marketplaceIds must contain exactly one marketplace.", "marketplaceIds")
    unknown = [value for value in (*marketplace_ids, granularity_id) if value not in MARKETPLACES_BY_ID]
    if unknown:  # what Amazon answers a marketplace id it does not have (selling-partner-api-models #2768)
        raise BadRequest("Invalid request, please check your input.", f"Unknown marketplace id {unknown[0]}.")
    if granularity_id != marketplace_ids[0]:
        raise BadRequest("granularityId must be the marketplace in marketplaceIds.", "granularityId")
    if granularity_id not in seller.marketplace_ids:
        raise BadRequest(f"The seller is not registered in marketplace {granularity_id}.", "granularityId")
    start = request.first("startDateTime")
    skus = request.many("sellerSkus")
    if len(skus) > 50:
        raise BadRequest("sellerSkus accepts at most 50 values.", "sellerSkus")
    if not skus and request.first("sellerSku"):
        skus = [request.first("sellerSku") or ""]
    return {
        "g": granularity_id,
        "d": (request.first("details") or "false").lower() == "true",
        "t": iso(parse_datetime(start, "startDateTime")) if start else "",
        "k": [] if start else skus,
    }


def get_inventory_summaries(
    context: AmazonContext, request: Request, params: dict[str, str], seller: Seller
) -> Response:
    world = context.world
    now = world.now()
    offset = 0
    token = request.first("nextToken")
    if token:
        state = context.decode_token(token, "nextToken")
        if state.get("s") != seller.selling_partner_id or not isinstance(state.get("q"), dict):
            raise BadRequest("Invalid nextToken.", "nextToken")
        if (now - datetime.fromtimestamp(state["i"], UTC)).total_seconds() > TOKEN_TTL_SECONDS:
            raise BadRequest("The nextToken has expired. Tokens are valid for 30 seconds.", "nextToken")
        query, offset = state["q"], int(state["o"])
    else:
        query = _query(request, seller)
    marketplace = next(m for m in seller.marketplaces if m.marketplace_id == query["g"])
    levels = seller_stock_levels(seller, world.seller_orders(seller.selling_partner_id), marketplace.code, now)
    if query["t"]:
        since = parse_datetime(query["t"], "startDateTime")
        levels = [level for level in levels if level.last_updated >= since]
    elif query["k"]:
        levels = [level for level in levels if level.listing.sku in set(query["k"])]
    levels.sort(key=lambda level: level.listing.sku)
    page = levels[offset : offset + PAGE_SIZE]
    body: dict[str, Any] = {}
    if offset + PAGE_SIZE < len(levels):
        next_token = context.encode_token(
            {"s": seller.selling_partner_id, "q": query, "o": offset + PAGE_SIZE, "i": now.timestamp()}
        )
        body["pagination"] = {"nextToken": next_token}
    body["payload"] = {
        "granularity": {"granularityType": "Marketplace", "granularityId": query["g"]},
        "inventorySummaries": [render_summary(level, query["d"]) for level in page],
    }
    return Response.json_body(body)


def routes(context: AmazonContext) -> list[Route]:
    return [
        Route(
            "GET",
            "/fba/inventory/v1/summaries",
            api_operation(context, GET_INVENTORY_SUMMARIES, get_inventory_summaries),
            "getInventorySummaries",
        )
    ]

"""Sellers API v1: getMarketplaceParticipations (``GET /sellers/v1/marketplaceParticipations``).

Shaped as Amazon's model documents it (selling-partner-api-models, models/sellers-api-model/sellers.json):
``{"payload": [{"marketplace": {id, name, countryCode, defaultCurrencyCode, defaultLanguageCode,
domainName}, "participation": {isParticipating, hasSuspendedListings}, "storeName"}]}``. The list holds
every marketplace of the seller's region (where the account can list); the seller participates in the
ones it was created with. `world.set_suspended(seller_id, code)` turns hasSuspendedListings on.
Usage plan: 0.016 requests per second, burst 15.
"""

from __future__ import annotations

from typing import Any

from simulator.amazon.common import AmazonContext, Operation, api_operation
from simulator.catalogue import MARKETPLACES, REGIONS
from simulator.http import Request, Response, Route
from simulator.model import Seller

GET_MARKETPLACE_PARTICIPATIONS = Operation("getMarketplaceParticipations", rate=0.016, burst=15, rate_header="0.016")


def participations(seller: Seller) -> list[dict[str, Any]]:
    """The payload for one seller."""
    mine = {marketplace.code for marketplace in seller.marketplaces}
    entries = []
    for code in REGIONS[seller.region]:
        marketplace = MARKETPLACES[code]
        entries.append(
            {
                "marketplace": {
                    "id": marketplace.marketplace_id,
                    "name": marketplace.name,
                    "countryCode": marketplace.country,
                    "defaultCurrencyCode": marketplace.currency,
                    "defaultLanguageCode": marketplace.locale,
                    "domainName": f"www.{marketplace.domain}",
                },
                "storeName": seller.name,
                "participation": {"isParticipating": code in mine, "hasSuspendedListings": code in seller.suspended},
            }
        )
    return entries


def get_marketplace_participations(
    context: AmazonContext, request: Request, params: dict[str, str], seller: Seller
) -> Response:
    return Response.json_body({"payload": participations(seller)})


def routes(context: AmazonContext) -> list[Route]:
    return [
        Route(
            "GET",
            "/sellers/v1/marketplaceParticipations",
            api_operation(context, GET_MARKETPLACE_PARTICIPATIONS, get_marketplace_participations),
            "getMarketplaceParticipations",
        )
    ]

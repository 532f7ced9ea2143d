"""Listings Items API 2021-08-01: patchListingsItem and getListingsItem for one SKU.

``PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=...`` with
``{"productType": ..., "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
"value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}]}`` sets the merchant-fulfilled quantity
(`World.listing_quantity`) at once and answers ``{sku, status, submissionId, issues}``: ACCEPTED, or
INVALID with ERROR issues (unknown SKU, a listing fulfilled by Amazon only, a negative or missing
quantity, another fulfilment channel) and nothing applied. ``mode=VALIDATION_PREVIEW`` answers VALID
without applying. Patches of other attributes are accepted and ignored.

``GET`` the same path with ``includedData`` (summaries by default; attributes, issues, offers,
fulfillmentAvailability, productTypes, relationships, procurement) reads the listing back; an unknown SKU
is 404. The SKU in the path is URL-encoded, as Amazon requires.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from simulator.amazon.common import (
    UNAUTHORIZED_MESSAGE,
    AmazonContext,
    BadRequest,
    Operation,
    api_operation,
    error_response,
)
from simulator.amazon.order_shape import iso
from simulator.catalogue import MARKETPLACES_BY_ID, format_amount
from simulator.http import Request, Response, Route
from simulator.model import Listing, Seller

PATH = "/listings/2021-08-01/items/{sellerId}/{sku}"
PATCH_LISTINGS_ITEM = Operation("patchListingsItem", rate=5.0, burst=10, rate_header="5.0")
GET_LISTINGS_ITEM = Operation("getListingsItem", rate=5.0, burst=10, rate_header="5.0")
FULFILLMENT_AVAILABILITY = "/attributes/fulfillment_availability"
PATCH_OPERATIONS = ("add", "replace", "merge", "delete")
INCLUDED_DATA = (
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
)
DEFAULT_PRODUCT_TYPE = "PRODUCT"


def _issue(code: str, message: str, *, category: str = "INVALID_ATTRIBUTE") -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "attributeNames": ["fulfillment_availability"],
        "categories": [category],
    }


def _check_seller(params: dict[str, str], seller: Seller) -> Response | None:
    if unquote(params["sellerId"]) != seller.selling_partner_id:
        return error_response(403, "Unauthorized", UNAUTHORIZED_MESSAGE, "The sellerId is not the authorised seller.")
    return None


def _marketplaces(request: Request, seller: Seller) -> list[str]:
    marketplace_ids = request.many("marketplaceIds")
    if not marketplace_ids:
        raise BadRequest("marketplaceIds is required.", "marketplaceIds")
    for marketplace_id in marketplace_ids:
        if marketplace_id not in MARKETPLACES_BY_ID or marketplace_id not in seller.marketplace_ids:
            raise BadRequest(f"Invalid marketplaceId: {marketplace_id}.", "marketplaceIds")
    return marketplace_ids


def _submission_id(context: AmazonContext, seller: Seller, sku: str) -> str:
    counter = context.state.setdefault("listing_submissions", [0])
    counter[0] += 1
    digest = hashlib.sha256(f"{seller.selling_partner_id}/{sku}/{counter[0]}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _quantity_patches(patches: list[Any]) -> tuple[list[int], list[dict[str, Any]]]:
    """The DEFAULT quantities the patches set, and the issues that make them invalid."""
    quantities: list[int] = []
    issues: list[dict[str, Any]] = []
    for patch in patches:
        if (
            not isinstance(patch, dict)
            or patch.get("op") not in PATCH_OPERATIONS
            or not isinstance(patch.get("path"), str)
        ):
            raise BadRequest("Each patch needs an op (add, replace, merge, delete) and a path.", "patches")
        if patch["path"] != FULFILLMENT_AVAILABILITY or patch["op"] == "delete":
            continue
        values = patch.get("value")
        if not isinstance(values, list) or not values:
            issues.append(
                _issue(
                    "90220", "'fulfillment_availability' is required but not supplied.", category="MISSING_ATTRIBUTE"
                )
            )
            continue
        for value in values:
            if not isinstance(value, dict):
                issues.append(_issue("99022", "'fulfillment_availability' has an invalid value."))
                continue
            channel = value.get("fulfillment_channel_code")
            quantity = value.get("quantity")
            if channel != "DEFAULT":
                issues.append(
                    _issue(
                        "99022",
                        f"'fulfillment_channel_code' {channel!r} cannot be set; use DEFAULT (seller fulfilled).",
                    )
                )
            elif isinstance(quantity, bool) or not isinstance(quantity, int):
                issues.append(_issue("90220", "'quantity' is required but not supplied.", category="MISSING_ATTRIBUTE"))
            elif quantity < 0:
                issues.append(
                    _issue("99022", f"'quantity' must be greater than or equal to 0; {quantity} was supplied.")
                )
            else:
                quantities.append(quantity)
    return quantities, issues


def patch_listings_item(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    refused = _check_seller(params, seller)
    if refused is not None:
        return refused
    sku = unquote(params["sku"])
    marketplace_ids = _marketplaces(request, seller)
    try:
        body = request.json()
    except ValueError:
        raise BadRequest("The request body is not valid JSON.", "body") from None
    if not isinstance(body, dict) or not isinstance(body.get("productType"), str):
        raise BadRequest("productType is required.", "productType")
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        raise BadRequest("patches must contain at least one patch.", "patches")
    quantities, issues = _quantity_patches(patches)
    world = context.world
    for marketplace_id in marketplace_ids:
        listing = world.listing(seller.selling_partner_id, marketplace_id, sku)
        if listing is None:
            issues.append(
                _issue(
                    "4000001",
                    f"The SKU {sku} does not exist in marketplace {marketplace_id}; create the listing first.",
                    category="INVALID_SKU",
                )
            )
        elif listing.fba_only and quantities:
            issues.append(
                _issue(
                    "99022",
                    f"The SKU {sku} is fulfilled by Amazon; its quantity follows your FBA inventory and cannot be set.",
                )
            )
    preview = (request.first("mode") or "").upper() == "VALIDATION_PREVIEW"
    answer: dict[str, Any] = {"sku": sku, "status": "INVALID" if issues else "VALID" if preview else "ACCEPTED"}
    answer["submissionId"] = _submission_id(context, seller, sku)
    answer["issues"] = issues
    if not issues and not preview:
        for marketplace_id in marketplace_ids:
            for quantity in quantities:
                world.set_listing_quantity(seller.selling_partner_id, marketplace_id, sku, quantity)
        product_types = context.state.setdefault("listing_product_types", {})
        product_types[(seller.selling_partner_id, sku)] = body["productType"]
    return Response.json_body(answer)


def _summary(context: AmazonContext, seller: Seller, listing: Listing) -> dict[str, Any]:
    marketplace_id = listing.marketplace.marketplace_id
    updated = context.world.listing_updated_at(seller.selling_partner_id, marketplace_id, listing.sku)
    created = seller.created_at - timedelta(days=400)
    return {
        "marketplaceId": marketplace_id,
        "asin": listing.asin,
        "productType": _product_type(context, seller, listing.sku),
        "conditionType": "new_new",
        "status": ["BUYABLE", "DISCOVERABLE"],
        "itemName": listing.title,
        "createdDate": iso(created),
        "lastUpdatedDate": iso(updated or seller.created_at),
    }


def _product_type(context: AmazonContext, seller: Seller, sku: str) -> str:
    product_types = context.state.get("listing_product_types", {})
    return str(product_types.get((seller.selling_partner_id, sku), DEFAULT_PRODUCT_TYPE))


def _availability(context: AmazonContext, seller: Seller, listing: Listing) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    quantity = context.world.listing_quantity(
        seller.selling_partner_id, listing.marketplace.marketplace_id, listing.sku
    )
    if quantity is not None:
        entries.append({"fulfillmentChannelCode": "DEFAULT", "quantity": quantity})
    entries.append({"fulfillmentChannelCode": f"AMAZON_{listing.marketplace.region}"})
    return entries


def get_listings_item(context: AmazonContext, request: Request, params: dict[str, str], seller: Seller) -> Response:
    refused = _check_seller(params, seller)
    if refused is not None:
        return refused
    sku = unquote(params["sku"])
    marketplace_ids = _marketplaces(request, seller)
    included = request.many("includedData") or ["summaries"]
    unknown = [value for value in included if value not in INCLUDED_DATA]
    if unknown:
        raise BadRequest(f"Invalid includedData: {', '.join(unknown)}.", "includedData")
    world = context.world
    listings = [
        found
        for marketplace_id in marketplace_ids
        if (found := world.listing(seller.selling_partner_id, marketplace_id, sku)) is not None
    ]
    if not listings:
        return error_response(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {marketplace_ids[0]}.")
    item: dict[str, Any] = {"sku": sku}
    if "summaries" in included:
        item["summaries"] = [_summary(context, seller, listing) for listing in listings]
    if "attributes" in included:
        item["attributes"] = {
            "item_name": [
                {"value": listing.title, "language_tag": listing.marketplace.language, "marketplace_id": mk}
                for listing in listings
                for mk in [listing.marketplace.marketplace_id]
            ],
            "fulfillment_availability": [
                {"fulfillment_channel_code": "DEFAULT", "quantity": quantity, "marketplace_id": mk}
                for listing in listings
                for mk in [listing.marketplace.marketplace_id]
                if (quantity := world.listing_quantity(seller.selling_partner_id, mk, sku)) is not None
            ],
        }
    if "issues" in included:
        item["issues"] = []
    if "offers" in included:
        item["offers"] = [
            {
                "marketplaceId": listing.marketplace.marketplace_id,
                "offerType": "B2C",
                "price": {
                    "currencyCode": listing.marketplace.currency,
                    "amount": format_amount(listing.price, listing.marketplace.currency),
                },
            }
            for listing in listings
        ]
    if "fulfillmentAvailability" in included:
        item["fulfillmentAvailability"] = _availability(context, seller, listings[0])
    if "productTypes" in included:
        item["productTypes"] = [
            {"marketplaceId": listing.marketplace.marketplace_id, "productType": _product_type(context, seller, sku)}
            for listing in listings
        ]
    if "relationships" in included:
        item["relationships"] = [
            {"marketplaceId": listing.marketplace.marketplace_id, "relationships": []} for listing in listings
        ]
    if "procurement" in included:
        item["procurement"] = []
    return Response.json_body(item)


def routes(context: AmazonContext) -> list[Route]:
    return [
        Route("PATCH", PATH, api_operation(context, PATCH_LISTINGS_ITEM, patch_listings_item), "patchListingsItem"),
        Route("GET", PATH, api_operation(context, GET_LISTINGS_ITEM, get_listings_item), "getListingsItem"),
    ]

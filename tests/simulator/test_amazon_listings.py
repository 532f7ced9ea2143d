"""Listings Items API 2021-08-01: setting the merchant-fulfilled quantity of a SKU and reading it back."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from simulator import World
from simulator.model import Seller
from tests.simulator.support import Api

US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"


def _path(seller: Seller, sku: str) -> str:
    return f"/listings/2021-08-01/items/{seller.selling_partner_id}/{quote(sku, safe='')}"


def _patch(api: Api, path: str, body: Any, **params: str) -> httpx.Response:
    headers = {"x-amz-access-token": api.access_token, "content-type": "application/json"}
    return api.http.patch(path, params={"marketplaceIds": US, **params}, json=body, headers=headers)


def _quantity(value: Any, channel: str = "DEFAULT") -> dict[str, Any]:
    return {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": channel, "quantity": value}],
            }
        ],
    }


def _merchant_sku(seller: Seller) -> str:
    return next(listing.sku for listing in seller.listings["US"] if not listing.fba_only)


def test_a_quantity_is_accepted_recorded_and_read_back(api: Api, world: World, seller: Seller) -> None:
    sku = _merchant_sku(seller)
    # when the seller sets 17 units
    response = _patch(api, _path(seller, sku), _quantity(17))

    # then Amazon accepts it, the world holds it, and getListingsItem shows it
    assert response.status_code == 200 and response.headers["x-amzn-RateLimit-Limit"] == "5.0"
    answer = response.json()
    assert answer["sku"] == sku and answer["status"] == "ACCEPTED" and answer["issues"] == []
    assert len(answer["submissionId"]) == 36
    assert world.listing_quantity(seller.selling_partner_id, US, sku) == 17
    initial = next(listing.mfn_quantity for listing in seller.listings["CA"] if listing.sku == sku)
    assert world.listing_quantity(seller.selling_partner_id, CA, sku) == initial  # another marketplace untouched
    item = api.get(_path(seller, sku), {"marketplaceIds": US, "includedData": "fulfillmentAvailability,summaries"})
    assert item.status_code == 200
    body = item.json()
    assert body["fulfillmentAvailability"][0] == {"fulfillmentChannelCode": "DEFAULT", "quantity": 17}
    summary = body["summaries"][0]
    assert summary["marketplaceId"] == US and summary["asin"] and summary["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert summary["lastUpdatedDate"] == world.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    # a preview validates without changing anything
    preview = _patch(api, _path(seller, sku), _quantity(3), mode="VALIDATION_PREVIEW").json()
    assert preview["status"] == "VALID"
    assert world.listing_quantity(seller.selling_partner_id, US, sku) == 17


@pytest.mark.parametrize(
    ("sku_kind", "body", "code"),
    [
        ("unknown", _quantity(5), "4000001"),
        ("fba", _quantity(5), "99022"),
        ("merchant", _quantity(-1), "99022"),
        ("merchant", _quantity(None), "90220"),
        ("merchant", _quantity(5, channel="AMAZON_NA"), "99022"),
    ],
)
def test_invalid_submissions_change_nothing(
    api: Api, world: World, seller: Seller, sku_kind: str, body: dict[str, Any], code: str
) -> None:
    sku = {
        "unknown": "NO-SUCH-SKU",
        "fba": next(listing.sku for listing in seller.listings["US"] if listing.fba_only),
        "merchant": _merchant_sku(seller),
    }[sku_kind]
    before = world.listing_quantity(seller.selling_partner_id, US, sku)
    answer = _patch(api, _path(seller, sku), body).json()
    assert answer["status"] == "INVALID"
    assert [issue["code"] for issue in answer["issues"]] == [code]
    assert {issue["severity"] for issue in answer["issues"]} == {"ERROR"}
    assert world.listing_quantity(seller.selling_partner_id, US, sku) == before


def test_reading_listings(api: Api, seller: Seller) -> None:
    fba_sku = next(listing.sku for listing in seller.listings["US"] if listing.fba_only)
    fba = api.get(_path(seller, fba_sku), {"marketplaceIds": US, "includedData": "fulfillmentAvailability"}).json()
    assert fba["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "AMAZON_NA"}]
    missing = api.get(_path(seller, "NO SUCH/SKU"), {"marketplaceIds": US})
    assert missing.status_code == 404
    assert api.get(_path(seller, fba_sku), {"marketplaceIds": US, "includedData": "everything"}).status_code == 400
    assert api.get(_path(seller, fba_sku), {}).status_code == 400


def test_requests_are_checked(api: Api, world: World, seller: Seller) -> None:
    other = world.add_seller("EU", ["UK"])
    path = _path(other, _merchant_sku(seller))
    assert _patch(api, path, _quantity(1)).status_code == 403
    assert _patch(api, _path(seller, _merchant_sku(seller)), {"patches": []}).status_code == 400
    bad_op = {"productType": "PRODUCT", "patches": [{"op": "move", "path": "/attributes/x"}]}
    assert _patch(api, _path(seller, _merchant_sku(seller)), bad_op).status_code == 400

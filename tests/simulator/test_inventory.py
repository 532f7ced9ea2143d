"""FBA Inventory v1 getInventorySummaries: model validation, stock that follows orders, 30-second tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from simulator import ManualClock, World
from simulator.amazon import inventory
from simulator.model import Seller
from tests.simulator.conftest import START
from tests.simulator.support import Api, SwaggerModel, iso

PATH = "/fba/inventory/v1/summaries"
US = "ATVPDKIKX0DER"
QUERY = {"granularityType": "Marketplace", "granularityId": US, "marketplaceIds": US, "details": "true"}


def _summaries(api: Api, **params: Any) -> dict[str, dict[str, Any]]:
    response = api.get(PATH, {**QUERY, **params})
    assert response.status_code == 200, response.text
    return {summary["sellerSku"]: summary for summary in response.json()["payload"]["inventorySummaries"]}


@pytest.mark.parametrize("details", ["true", "false"])
def test_summaries_validate_against_the_model(api: Api, seller: Seller, details: str) -> None:
    body = api.get(PATH, {**QUERY, "details": details}).json()
    assert SwaggerModel.load("fbaInventory.json").errors(body, "GetInventorySummariesResponse") == []
    summaries = body["payload"]["inventorySummaries"]
    assert {s["sellerSku"] for s in summaries} == {listing.sku for listing in seller.listings["US"]}
    assert all(("inventoryDetails" in s) == (details == "true") for s in summaries)


def test_stock_follows_fba_orders(api: Api, world: World, seller: Seller, clock: ManualClock) -> None:
    # given the stock now
    before = _summaries(api)

    # when FBA orders come in, they reserve units; once shipped, the units are gone
    world.generate_orders(seller.selling_partner_id, 60, start=START - timedelta(minutes=20), end=START)
    placed = _summaries(api)
    assert sum(
        s["inventoryDetails"]["reservedQuantity"]["pendingCustomerOrderQuantity"] for s in placed.values()
    ) > sum(s["inventoryDetails"]["reservedQuantity"]["pendingCustomerOrderQuantity"] for s in before.values())
    for summary in placed.values():
        details = summary["inventoryDetails"]
        assert summary["totalQuantity"] == (
            details["fulfillableQuantity"]
            + details["reservedQuantity"]["totalReservedQuantity"]
            + details["inboundShippedQuantity"]
            + details["unfulfillableQuantity"]["totalUnfulfillableQuantity"]  # customer returns not sellable
        )
    clock.advance(timedelta(days=2))
    shipped = _summaries(api)
    changed = [sku for sku in placed if shipped[sku]["lastUpdatedTime"] > placed[sku]["lastUpdatedTime"]]
    assert changed
    assert all(s["inventoryDetails"]["fulfillableQuantity"] >= 0 for s in shipped.values())


def test_start_date_time_returns_only_changed_skus(api: Api, world: World, seller: Seller) -> None:
    everything = _summaries(api, startDateTime=iso(START - timedelta(days=30)))
    recent = _summaries(api, startDateTime=iso(START - timedelta(minutes=1)))
    assert set(recent) <= set(everything)
    assert all(s["lastUpdatedTime"] >= iso(START - timedelta(minutes=1)) for s in recent.values())
    one = seller.listings["US"][0].sku
    assert set(_summaries(api, sellerSkus=one)) == {one}


def test_next_token_pages_and_expires_after_thirty_seconds(
    api: Api, clock: ManualClock, seller: Seller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory, "PAGE_SIZE", 3)
    first = api.get(PATH, QUERY).json()
    token = first["pagination"]["nextToken"]
    skus = [s["sellerSku"] for s in first["payload"]["inventorySummaries"]]
    while token:
        page = api.get(PATH, {**QUERY, "nextToken": token}).json()
        skus.extend(s["sellerSku"] for s in page["payload"]["inventorySummaries"])
        token = (page.get("pagination") or {}).get("nextToken")
    assert sorted(skus) == sorted(listing.sku for listing in seller.listings["US"])

    token = api.get(PATH, QUERY).json()["pagination"]["nextToken"]
    clock.advance(timedelta(seconds=31))
    expired = api.get(PATH, {**QUERY, "nextToken": token})
    assert expired.status_code == 400
    assert "expired" in expired.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"granularityType": "Country"},
        {"granularityId": "A2EUQ1WTGCTBG2"},
        {"marketplaceIds": f"{US},A2EUQ1WTGCTBG2"},
        {"granularityId": "A1F83G8C2ARO7P", "marketplaceIds": "A1F83G8C2ARO7P"},
    ],
)
def test_invalid_queries(api: Api, params: dict[str, str]) -> None:
    response = api.get(PATH, {**QUERY, **params})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"

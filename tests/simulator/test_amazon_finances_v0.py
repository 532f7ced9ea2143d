"""Finances API v0: listFinancialEvents and listFinancialEventsByOrderId, validated against the vendor model,
paged, and in agreement with Finances 2024-06-19 (same ledger; deferred events held back until released)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from simulator import ManualClock, SimulatorServer, World
from simulator.model import Seller
from tests.simulator.conftest import START
from tests.simulator.support import Api, SwaggerModel, iso

EVENTS = "/finances/v0/financialEvents"
TRANSACTIONS = "/finances/2024-06-19/transactions"


@pytest.fixture(scope="module")
def model() -> SwaggerModel:
    return SwaggerModel.load("financesV0.json")


def _pages(api: Api, path: str, params: dict[str, Any], model: SwaggerModel) -> list[dict[str, Any]]:
    pages = []
    for _ in range(500):
        response = api.get(path, params)
        assert response.status_code == 200, response.text
        assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"
        body = response.json()
        assert model.errors(body, "ListFinancialEventsResponse") == []
        pages.append(body["payload"])
        token = body["payload"].get("NextToken")
        if not token:
            return pages
        params = {"NextToken": token}
    raise AssertionError("never reached the last page")


def _events(pages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (kind, event)
        for page in pages
        for kind in ("ShipmentEventList", "RefundEventList")
        for event in page["FinancialEvents"][kind]
    ]


def _total(kind: str, event: dict[str, Any]) -> Decimal:
    items = event["ShipmentItemList" if kind == "ShipmentEventList" else "ShipmentItemAdjustmentList"]
    total = Decimal(0)
    for item in items:
        for name in ("ItemChargeList", "ItemChargeAdjustmentList"):
            total += sum(Decimal(str(c["ChargeAmount"]["CurrencyAmount"])) for c in item.get(name, []))
        for name in ("ItemFeeList", "ItemFeeAdjustmentList"):
            total += sum(Decimal(str(f["FeeAmount"]["CurrencyAmount"])) for f in item.get(name, []))
        for name in ("PromotionList", "PromotionAdjustmentList"):
            total += sum(Decimal(str(p["PromotionAmount"]["CurrencyAmount"])) for p in item.get(name, []))
        for withheld in item.get("ItemTaxWithheldList", []):
            total += sum(Decimal(str(c["ChargeAmount"]["CurrencyAmount"])) for c in withheld["TaxesWithheld"])
    return total


def _transactions(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        payload = api.get(TRANSACTIONS, params).json()["payload"]
        found.extend(payload["transactions"])
        if not payload.get("nextToken"):
            return found
        params = {"nextToken": payload["nextToken"]}


def test_v0_events_validate_page_and_agree_with_2024_06_19(api: Api, model: SwaggerModel) -> None:
    # given the same window read through both APIs
    window = {"PostedAfter": iso(START - timedelta(days=30)), "PostedBefore": iso(START - timedelta(hours=1))}
    pages = _pages(api, EVENTS, {**window, "MaxResultsPerPage": 25}, model)
    events = _events(pages)
    transactions = _transactions(api, {"postedAfter": window["PostedAfter"], "postedBefore": window["PostedBefore"]})

    # then v0 shows exactly the transactions that are not deferred, with the same totals
    assert len(pages) > 3 and all(len(_events([page])) <= 25 for page in pages)
    released = [t for t in transactions if t["transactionStatus"] != "DEFERRED"]
    assert any(t["transactionStatus"] == "DEFERRED" for t in transactions)
    v0 = sorted(
        (event["AmazonOrderId"], event["PostedDate"], _total(kind, event), kind == "RefundEventList")
        for kind, event in events
    )
    new = sorted(
        (
            next(
                i["relatedIdentifierValue"] for i in t["relatedIdentifiers"] if i["relatedIdentifierName"] == "ORDER_ID"
            ),
            t["postedDate"],
            Decimal(str(t["totalAmount"]["currencyAmount"])),
            t["transactionType"] == "Refund",
        )
        for t in released
    )
    assert v0 == new
    assert any(is_refund for *_, is_refund in v0)

    # refund events have the adjustment shape: negative principal, commission back, refund commission kept
    refund = next(event for kind, event in events if kind == "RefundEventList")
    item = refund["ShipmentItemAdjustmentList"][0]
    charges = {c["ChargeType"]: c["ChargeAmount"]["CurrencyAmount"] for c in item["ItemChargeAdjustmentList"]}
    fees = {f["FeeType"]: f["FeeAmount"]["CurrencyAmount"] for f in item["ItemFeeAdjustmentList"]}
    assert charges["Principal"] < 0 < fees["Commission"] and fees["RefundCommission"] < 0
    assert item["OrderAdjustmentItemId"] and item["SellerSKU"] and isinstance(item["QuantityShipped"], int)


def test_events_of_one_order(api: Api, world: World, seller: Seller, model: SwaggerModel) -> None:
    refund = world.refunds_for(seller.selling_partner_id)[0]
    pages = _pages(api, f"/finances/v0/orders/{refund['order_id']}/financialEvents", {}, model)
    events = _events(pages)
    assert {event["AmazonOrderId"] for _, event in events} == {refund["order_id"]}
    kinds = [kind for kind, _ in events]
    assert "ShipmentEventList" in kinds and "RefundEventList" in kinds
    # an unknown order, or another seller's, has no events
    empty = _pages(api, "/finances/v0/orders/111-0000000-0000000/financialEvents", {}, model)
    assert _events(empty) == []
    assert set(empty[0]["FinancialEvents"]) >= {"ShipmentEventList", "RefundEventList", "ChargebackEventList"}


def test_deferred_shipments_appear_once_released(api: Api, world: World, clock: ManualClock) -> None:
    window = {"PostedAfter": iso(START - timedelta(days=3)), "PostedBefore": iso(START - timedelta(hours=1))}
    transactions = _transactions(api, {"postedAfter": window["PostedAfter"], "postedBefore": window["PostedBefore"]})
    deferred = {t["postedDate"] for t in transactions if t["transactionStatus"] == "DEFERRED"}
    assert deferred
    model = SwaggerModel.load("financesV0.json")
    before = {event["PostedDate"] for _, event in _events(_pages(api, EVENTS, window, model))}
    assert not deferred & before
    clock.advance(timedelta(days=8))
    after = {event["PostedDate"] for _, event in _events(_pages(api, EVENTS, window, model))}
    assert deferred <= after  # the same window now holds them, with their original PostedDate


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "PostedAfter"),
        ({"PostedAfter": iso(START - timedelta(minutes=1))}, "two minutes"),
        ({"PostedAfter": iso(START - timedelta(days=2)), "PostedBefore": iso(START - timedelta(days=3))}, "later"),
        ({"PostedAfter": iso(START - timedelta(days=2)), "MaxResultsPerPage": "101"}, "MaxResultsPerPage"),
        ({"NextToken": "not-a-token"}, "NextToken"),
    ],
)
def test_invalid_requests(api: Api, params: dict[str, str], message: str) -> None:
    response = api.get(EVENTS, params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"
    assert message in response.json()["errors"][0]["message"]


def test_a_window_over_180_days_is_empty(api: Api, model: SwaggerModel) -> None:
    pages = _pages(api, EVENTS, {"PostedAfter": iso(START - timedelta(days=200))}, model)
    assert len(pages) == 1 and _events(pages) == []


def test_hostile_sends_empty_pages_that_still_lead_to_every_event(
    api: Api, faulty_sim: Callable[..., SimulatorServer], seller: Seller, model: SwaggerModel
) -> None:
    hostile = faulty_sim("hostile", throttle_rate=0, unavailable_rate=0, reset_rate=0, timeout_rate=0)
    params = {"PostedAfter": iso(START - timedelta(days=20)), "MaxResultsPerPage": 10}
    expected = _events(_pages(api, EVENTS, params, model))
    pages = _pages(Api(hostile, seller.refresh_token), EVENTS, params, model)
    assert any(not _events([page]) and page.get("NextToken") for page in pages)
    assert _events(pages) == expected

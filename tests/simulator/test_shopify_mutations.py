"""inventorySetQuantities (compare-and-set, idempotency), fulfillmentCreate and refundCreate (limits,
idempotency) through the real client library."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from simulator import SimulatorServer
from tests.simulator.shopify_support import SHOP, graphql, make_sim

SET_QUANTITIES = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
"""
REFUND = """
mutation Refund($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund {
      id totalRefundedSet { presentmentMoney { amount currencyCode } }
      refundLineItems(first: 5) { nodes { quantity restockType } }
    }
    order { id displayFinancialStatus totalRefundedSet { shopMoney { amount } } }
    userErrors { field message }
  }
}
"""


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    server = make_sim(seed=9)
    server.shopify.add_shop(SHOP, currency="USD")
    yield server
    server.stop()


@pytest.fixture
def token(sim: SimulatorServer) -> str:
    return sim.shopify.issue_access_token(SHOP)


def _level(sim: SimulatorServer) -> dict[str, Any]:
    return next(row for row in sim.shopify.inventory(SHOP) if row["location"] == "Main warehouse")


def _current(sim: SimulatorServer, row: dict[str, Any]) -> dict[str, Any]:
    return next(
        item
        for item in sim.shopify.inventory(SHOP)
        if item["inventory_item_id"] == row["inventory_item_id"] and item["location_id"] == row["location_id"]
    )


def _set_input(row: dict[str, Any], quantity: int, change_from: int | None) -> dict[str, Any]:
    return {
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": "gid://acorn/StockSync/1",
        "quantities": [
            {
                "inventoryItemId": row["inventory_item_id"],
                "locationId": row["location_id"],
                "quantity": quantity,
                "changeFromQuantity": change_from,
            }
        ],
    }


def test_compare_and_set_updates_stock_when_the_compare_value_is_current(sim: SimulatorServer, token: str) -> None:
    row = _level(sim)
    answer = graphql(sim, token, SET_QUANTITIES, {"input": _set_input(row, 42, row["available"]), "key": "k-1"})
    payload = answer["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    changes = {change["name"]: change for change in payload["inventoryAdjustmentGroup"]["changes"]}
    assert changes["available"]["quantityAfterChange"] == 42
    assert changes["available"]["delta"] == 42 - row["available"]
    after = _current(sim, row)
    assert after["available"] == 42 and after["on_hand"] == row["on_hand"] + 42 - row["available"]
    assert sim.shopify.inventory_changes(SHOP)[-1]["quantity_after"] == 42


def test_stale_compare_value_is_refused_and_changes_nothing(sim: SimulatorServer, token: str) -> None:
    row = _level(sim)
    answer = graphql(sim, token, SET_QUANTITIES, {"input": _set_input(row, 5, row["available"] + 3), "key": "k-2"})
    payload = answer["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"][0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert payload["userErrors"][0]["field"] == ["input", "quantities", "0", "changeFromQuantity"]
    assert _current(sim, row)["available"] == row["available"]
    assert sim.shopify.inventory_changes(SHOP) == []


def test_null_change_from_skips_the_check_but_omitting_it_is_an_error(sim: SimulatorServer, token: str) -> None:
    row = _level(sim)
    skipped = graphql(sim, token, SET_QUANTITIES, {"input": _set_input(row, 7, None), "key": "k-3"})
    assert skipped["data"]["inventorySetQuantities"]["userErrors"] == []
    entry = _set_input(row, 8, None)
    del entry["quantities"][0]["changeFromQuantity"]
    omitted = graphql(sim, token, SET_QUANTITIES, {"input": entry, "key": "k-4"})
    assert omitted["data"]["inventorySetQuantities"]["userErrors"][0]["field"][-1] == "changeFromQuantity"
    assert _current(sim, row)["available"] == 7


def test_idempotency_key_is_required_and_replays(sim: SimulatorServer, token: str) -> None:
    row = _level(sim)
    without = SET_QUANTITIES.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")
    refused = graphql(sim, token, without, {"input": _set_input(row, 9, None)})
    assert "@idempotent" in refused["errors"][0]["message"]
    first = graphql(sim, token, SET_QUANTITIES, {"input": _set_input(row, 11, None), "key": "same"})
    again = graphql(sim, token, SET_QUANTITIES, {"input": _set_input(row, 11, None), "key": "same"})
    other = graphql(sim, token, SET_QUANTITIES, {"input": _set_input(row, 12, None), "key": "same"})
    group = first["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]
    assert again["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["id"] == group["id"]
    assert other["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert len(sim.shopify.inventory_changes(SHOP)) == 1


def _open_order(sim: SimulatorServer, token: str) -> dict[str, Any]:
    query = """{
      orders(
        first: 50, query: "fulfillment_status:unshipped financial_status:paid", sortKey: CREATED_AT, reverse: true
      ) {
        nodes { id name displayFulfillmentStatus presentmentCurrencyCode
          lineItems(first: 5) { nodes { id sku quantity } }
          fulfillmentOrders(first: 1) { nodes { id status lineItems(first: 5) { nodes { id remainingQuantity } } } }
        }
      }
    }"""
    nodes = graphql(sim, token, query)["data"]["orders"]["nodes"]
    return next(node for node in nodes if node["fulfillmentOrders"]["nodes"][0]["status"] == "OPEN")


def test_fulfillment_create_fulfils_and_records_tracking(sim: SimulatorServer, token: str) -> None:
    order = _open_order(sim, token)
    fulfillment_order = order["fulfillmentOrders"]["nodes"][0]
    mutation = """mutation F($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
        fulfillment { id status name trackingInfo { company number url } }
        userErrors { field message } } }"""
    variables = {
        "f": {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fulfillment_order["id"]}],
            "trackingInfo": {
                "company": "UPS",
                "number": "1ZACORN0001",
                "url": "https://www.ups.com/track?tracknum=1ZACORN0001",
            },
        }
    }
    payload = graphql(sim, token, mutation, variables)["data"]["fulfillmentCreate"]
    assert payload["userErrors"] == []
    assert payload["fulfillment"]["status"] == "SUCCESS"
    assert payload["fulfillment"]["trackingInfo"] == [
        {"company": "UPS", "number": "1ZACORN0001", "url": "https://www.ups.com/track?tracknum=1ZACORN0001"}
    ]
    truth = next(item for item in sim.shopify.visible_orders(SHOP) if item["id"] == order["id"])
    assert truth["fulfillment_status"] == "FULFILLED"
    recorded = [item for item in sim.shopify.fulfillments(SHOP) if item["order_id"] == order["id"]]
    assert recorded[-1]["tracking"]["number"] == "1ZACORN0001"
    # a second fulfilment of the same (now closed) fulfilment order is refused
    again = graphql(sim, token, mutation, variables)["data"]["fulfillmentCreate"]
    assert again["fulfillment"] is None and "unfulfillable status" in again["userErrors"][0]["message"]


def test_refund_create_respects_quantities_and_amounts(sim: SimulatorServer, token: str) -> None:
    order = _open_order(sim, token)
    line = order["lineItems"]["nodes"][0]
    truth = next(item for item in sim.shopify.visible_orders(SHOP) if item["id"] == order["id"])
    paid = Decimal(truth["total_price_presentment"])
    base = {"orderId": order["id"], "note": "Kunde hat storniert", "currency": order["presentmentCurrencyCode"]}

    too_many = dict(
        base, refundLineItems=[{"lineItemId": line["id"], "quantity": line["quantity"] + 1, "restockType": "CANCEL"}]
    )
    answer = graphql(sim, token, REFUND, {"input": too_many, "key": "r-1"})["data"]["refundCreate"]
    assert answer["refund"] is None and answer["userErrors"][0]["field"] == ["refundLineItems", "0", "quantity"]

    transaction = {"orderId": order["id"], "gateway": "shopify_payments", "kind": "REFUND", "amount": str(paid + 1)}
    too_much = dict(base, transactions=[transaction])
    answer = graphql(sim, token, REFUND, {"input": too_much, "key": "r-2"})["data"]["refundCreate"]
    assert answer["refund"] is None and answer["userErrors"][0]["field"] == ["transactions"]

    part = (paid / 2).quantize(Decimal("0.01"))
    partial = dict(
        base,
        refundLineItems=[{"lineItemId": line["id"], "quantity": 1, "restockType": "CANCEL"}],
        transactions=[dict(transaction, amount=str(part))],
    )
    first = graphql(sim, token, REFUND, {"input": partial, "key": "r-3"})["data"]["refundCreate"]
    assert first["userErrors"] == []
    assert first["order"]["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert Decimal(first["refund"]["totalRefundedSet"]["presentmentMoney"]["amount"]) == part
    # a retry with the same key does not refund twice
    again = graphql(sim, token, REFUND, {"input": partial, "key": "r-3"})["data"]["refundCreate"]
    assert again["refund"]["id"] == first["refund"]["id"]
    refunds = [item for item in sim.shopify.refunds(SHOP) if item["order_id"] == order["id"]]
    assert len(refunds) == 1 and refunds[0]["note"] == "Kunde hat storniert"
    # the rest can be refunded, but not more
    rest = dict(base, transactions=[dict(transaction, amount=str(paid - part + Decimal("0.01")))])
    over = graphql(sim, token, REFUND, {"input": rest, "key": "r-4"})["data"]["refundCreate"]
    assert over["userErrors"]
    rest = dict(base, transactions=[dict(transaction, amount=str(paid - part))])
    done = graphql(sim, token, REFUND, {"input": rest, "key": "r-5"})["data"]["refundCreate"]
    assert done["order"]["displayFinancialStatus"] == "REFUNDED"

"""Finances API 2024-06-19 listTransactions: shapes, numbers, windows, pagination, deferral."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from simulator import ManualClock, World
from simulator.model import Seller
from tests.simulator.conftest import START
from tests.simulator.support import Api, SwaggerModel, iso, merge_shapes, shape_errors, vendor_bodies

PATH = "/finances/2024-06-19/transactions"


def _def(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


STRING = {"type": "string"}
DATE = {"type": "string", "format": "date-time"}
# Transcribed from models/finances-api-model/finances_2024-06-19.json (amzn/selling-partner-api-models):
# names, JSON types and enums of the definitions listTransactions returns.
MODEL = SwaggerModel(
    {
        "definitions": {
            "ListTransactionsResponse": _def({"payload": _ref("TransactionsPayload")}),
            "TransactionsPayload": _def({"nextToken": STRING, "transactions": _array("Transaction")}),
            "Transaction": _def(
                {
                    "sellingPartnerMetadata": _ref("SellingPartnerMetadata"),
                    "relatedIdentifiers": _array("RelatedIdentifier"),
                    "transactionType": STRING,
                    "transactionId": STRING,
                    "transactionStatus": STRING,
                    "description": STRING,
                    "postedDate": DATE,
                    "totalAmount": _ref("Currency"),
                    "marketplaceDetails": _ref("MarketplaceDetails"),
                    "items": _array("Item"),
                    "contexts": _array("Context"),
                    "breakdowns": _array("Breakdown"),
                }
            ),
            "Currency": _def({"currencyCode": STRING, "currencyAmount": {"type": "number"}}),
            "SellingPartnerMetadata": _def(
                {"sellingPartnerId": STRING, "accountType": STRING, "marketplaceId": STRING}
            ),
            "RelatedIdentifier": _def(
                {
                    "relatedIdentifierName": {
                        "type": "string",
                        "enum": [
                            "ORDER_ID",
                            "SHIPMENT_ID",
                            "FINANCIAL_EVENT_GROUP_ID",
                            "REFUND_ID",
                            "INVOICE_ID",
                            "DISBURSEMENT_ID",
                            "TRANSFER_ID",
                            "DEFERRED_TRANSACTION_ID",
                            "RELEASE_TRANSACTION_ID",
                            "SETTLEMENT_ID",
                        ],
                    },
                    "relatedIdentifierValue": STRING,
                }
            ),
            "MarketplaceDetails": _def({"marketplaceId": STRING, "marketplaceName": STRING}),
            "Item": _def(
                {
                    "description": STRING,
                    "relatedIdentifiers": _array("ItemRelatedIdentifier"),
                    "totalAmount": _ref("Currency"),
                    "breakdowns": _array("Breakdown"),
                    "contexts": _array("Context"),
                }
            ),
            "ItemRelatedIdentifier": _def({"itemRelatedIdentifierName": STRING, "itemRelatedIdentifierValue": STRING}),
            "Breakdown": _def(
                {"breakdownType": STRING, "breakdownAmount": _ref("Currency"), "breakdowns": _array("Breakdown")}
            ),
            "Context": {
                "allOf": [
                    _def({"contextType": STRING}, required=["contextType"]),
                    _def({"storeName": STRING, "orderType": STRING, "channel": STRING}),
                    _def(
                        {
                            "asin": STRING,
                            "sku": STRING,
                            "quantityShipped": {"type": "integer"},
                            "fulfillmentNetwork": STRING,
                        }
                    ),
                    _def(
                        {
                            "paymentType": STRING,
                            "paymentMethod": STRING,
                            "paymentReference": STRING,
                            "paymentDate": DATE,
                        }
                    ),
                    # deferralStatus (HOLD / RELEASE): DeferredContext as amzn/selling-partner-api-sdk documents it
                    _def({"deferralReason": STRING, "maturityDate": DATE, "deferralStatus": STRING}),
                    _def({"startTime": DATE, "endTime": DATE}),
                ]
            },
        }
    }
)


def _all(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    pages = [api.get(PATH, params)]
    while True:
        assert pages[-1].status_code == 200, pages[-1].text
        token = pages[-1].json()["payload"].get("nextToken")
        if not token:
            return [t for page in pages for t in page.json()["payload"]["transactions"]]
        pages.append(api.get(PATH, {"nextToken": token}))


def _shipments(world: World, seller: Seller, after: str, before: str) -> int:
    count = 0
    for order in world.seller_orders(seller.selling_partner_id):
        for event in order.events:
            if event.shipment is not None:
                posted = iso(event.shipment.shipped_at + timedelta(minutes=30))
                count += after <= posted < before
    return count


def test_transactions_validate_and_add_up(api: Api, world: World, seller: Seller) -> None:
    after, before = iso(START - timedelta(days=40)), iso(START - timedelta(days=1))
    transactions = _all(api, {"postedAfter": after, "postedBefore": before})

    # one transaction per shipment posted in the window, each once (refunds come as well: see test_amazon_refunds)
    shipments = [t for t in transactions if t["transactionType"] == "Shipment"]
    assert len(shipments) == _shipments(world, seller, after, before) > 50
    assert len({t["transactionId"] for t in transactions}) == len(transactions)
    for transaction in transactions:
        assert MODEL.errors({"payload": {"transactions": [transaction]}}, "ListTransactionsResponse") == []
        assert after <= transaction["postedDate"] < before
        total = Decimal(str(transaction["totalAmount"]["currencyAmount"]))
        items = sum(Decimal(str(i["totalAmount"]["currencyAmount"])) for i in transaction["items"])
        tops = sum(Decimal(str(b["breakdownAmount"]["currencyAmount"])) for b in transaction["breakdowns"])
        assert total == items == tops
        for item in transaction["items"]:
            parts = sum(Decimal(str(b["breakdownAmount"]["currencyAmount"])) for b in item["breakdowns"])
            assert parts == Decimal(str(item["totalAmount"]["currencyAmount"]))
        assert isinstance(transaction["totalAmount"]["currencyAmount"], int | float)


def test_transactions_keep_the_keys_of_the_sandbox_example(api: Api) -> None:
    example = merge_shapes(vendor_bodies("finances-2024-06-19", "listTransactions.200.*.json"))
    body = api.get(PATH, {"postedAfter": iso(START - timedelta(days=5))}).json()
    # every key the vendor example has is kept with its type (the simulator adds model-documented keys)
    errors = shape_errors(body, example)
    assert all("not in the vendor examples" in error for error in errors), errors


def test_merchant_fulfilled_money_is_deferred_then_released(api: Api, world: World, clock: ManualClock) -> None:
    after = iso(START - timedelta(days=3))
    deferred = [t for t in _all(api, {"postedAfter": after}) if t["transactionStatus"] == "DEFERRED"]
    assert deferred
    assert all(c["contextType"] == "DeferredContext" for t in deferred for c in t["contexts"])
    clock.advance(timedelta(days=10))
    later = {t["transactionId"]: t for t in _all(api, {"postedAfter": after, "postedBefore": iso(START)})}
    assert {later[t["transactionId"]]["transactionStatus"] for t in deferred} == {"DEFERRED_RELEASED"}
    released = _all(api, {"postedAfter": after, "postedBefore": iso(START), "transactionStatus": "DEFERRED"})
    assert released == []


def test_filter_by_order_id_without_dates(api: Api, world: World, seller: Seller) -> None:
    order = next(o for o in world.seller_orders(seller.selling_partner_id) if o.events[-1].shipment is not None)
    found = _all(api, {"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": order.order_id})
    assert found
    assert {
        identifier["relatedIdentifierValue"]
        for transaction in found
        for identifier in transaction["relatedIdentifiers"]
        if identifier["relatedIdentifierName"] == "ORDER_ID"
    } == {order.order_id}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Start date cannot be null"),
        (
            {"postedAfter": iso(START - timedelta(days=1)), "postedBefore": iso(START - timedelta(minutes=1))},
            "two minutes",
        ),
        ({"postedAfter": iso(START - timedelta(days=1)), "postedBefore": iso(START - timedelta(days=2))}, "later than"),
        ({"postedAfter": iso(START - timedelta(days=1)), "transactionStatus": "PAID"}, "transactionStatus"),
    ],
)
def test_invalid_requests(api: Api, params: dict[str, str], message: str) -> None:
    response = api.get(PATH, params)
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"

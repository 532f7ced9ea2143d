"""The Amazon adapter's parser on Amazon's own example payloads (tests/fixtures/vendor)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from channels.adapters.amazon.client import classify_error
from channels.adapters.amazon.parse import RecordError, parse_order
from channels.adapters.base import ChannelAuthError, ChannelCursorExpired, ChannelRateLimited, ChannelRetryableError
from orders.services import order_breakdown
from tests.vendor import VENDOR_FIXTURES

VENDOR = VENDOR_FIXTURES / "amazon" / "sandbox" / "orders-2026-01-01"


def _orders(name: str) -> list[dict[str, Any]]:
    body = json.loads((VENDOR / name).read_text())
    body = body.get("response", body)
    return body["orders"] if "orders" in body else [body["order"]]


def _all_vendor_orders() -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(VENDOR.glob("*.200.*.json")):
        found.extend((path.name, order) for order in _orders(path.name))
    return found


def test_search_orders_example_parses_with_money_as_decimal() -> None:
    order = parse_order(_orders("searchOrders.200.example.json")[0])
    assert order.external_id == "123-4567890-1234567"
    assert (order.marketplace, order.currency, order.buyer_country) == ("US", "USD", "US")
    assert order.total_amount == Decimal("154.99")
    summary = order_breakdown(order)
    assert (summary["item_amount"], summary["tax_amount"], summary["other_amount"]) == (
        Decimal("149.97"),
        Decimal("0.02"),
        Decimal("5.00"),
    )
    assert (order.raw_status, order.status, order.fulfillment_channel) == ("SHIPPED", "shipped", "merchant")
    assert order.merchant_order_id == "SELLER-ORDER-2024-001"
    assert order.purchased_at.isoformat() == "2024-12-25T10:30:00+00:00"
    line = order.lines[0]
    assert (line.sku, line.asin, line.quantity, line.unit_price) == (
        "ECHO-DOT-4-CHARCOAL",
        "B08N5WRWNW",
        2,
        Decimal("49.99"),
    )
    assert all(isinstance(v, Decimal) for v in (line.item_amount, line.tax_amount, line.discount_amount))


@pytest.mark.parametrize(("source", "raw"), _all_vendor_orders() if VENDOR.exists() else [])
def test_every_vendor_example_order_parses(source: str, raw: dict[str, Any]) -> None:
    order = parse_order(raw)
    assert order.external_id and order.lines
    assert order.updated_at.tzinfo is not None
    assert len(order.currency) == 3
    # every example's items (and its order-level tip) make its grand total, with nothing unexplained
    assert order.itemised_amount == order.total_amount, source


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.pop("orderId"), "orderId"),
        (lambda o: o["proceeds"]["grandTotal"].update(amount="12,3x"), "proceeds.grandTotal.amount"),
        (lambda o: o["proceeds"]["grandTotal"].update(amount=12.5), "proceeds.grandTotal.amount"),
        (lambda o: o["proceeds"]["grandTotal"].update(currencyCode="usd"), "currencyCode"),
        (lambda o: o.update(lastUpdatedTime="yesterday"), "lastUpdatedTime"),
        (lambda o: o["fulfillment"].update(fulfillmentStatus="LOST_IN_SPACE"), "fulfillmentStatus"),
        (lambda o: o["orderItems"][0].update(quantityOrdered="2"), "quantityOrdered"),
        (lambda o: o["orderItems"][0]["product"].pop("sellerSku"), "sellerSku"),
        (lambda o: o.update(orderItems=[]), "orderItems"),
    ],
)
def test_malformed_orders_name_the_field(mutate: Any, field: str) -> None:
    raw = copy.deepcopy(_orders("searchOrders.200.example.json")[0])
    mutate(raw)
    with pytest.raises(RecordError, match=field):
        parse_order(raw)


def test_jpy_amounts_without_decimals() -> None:
    raw = copy.deepcopy(_orders("searchOrders.200.example.json")[0])
    raw["salesChannel"]["marketplaceId"] = "A1VC38T7YXB528"

    def to_jpy(node: Any) -> None:
        if isinstance(node, dict):
            if "currencyCode" in node:
                node["currencyCode"], node["amount"] = "JPY", "19940"
            for value in node.values():
                to_jpy(value)
        elif isinstance(node, list):
            for value in node:
                to_jpy(value)

    to_jpy(raw)
    order = parse_order(raw)
    assert (order.currency, order.total_amount, order.marketplace) == ("JPY", Decimal(19940), "JP")


def test_error_classification() -> None:
    from sp_api.auth.exceptions import AuthorizationError
    from sp_api.base import (
        SellingApiBadRequestException,
        SellingApiForbiddenException,
        SellingApiRequestThrottledException,
        SellingApiServerException,
    )

    throttled = classify_error(
        SellingApiRequestThrottledException([{"message": "slow"}], headers={"Retry-After": "2.1"})
    )
    assert isinstance(throttled, ChannelRateLimited) and throttled.retry_after == 3
    assert isinstance(classify_error(SellingApiServerException([{"message": "boom"}])), ChannelRetryableError)
    assert isinstance(classify_error(SellingApiForbiddenException([{"message": "no"}])), ChannelAuthError)
    assert isinstance(classify_error(AuthorizationError("invalid_grant", "revoked", 400)), ChannelAuthError)
    expired = SellingApiBadRequestException([{"code": "InvalidInput", "message": "Invalid paginationToken"}])
    assert isinstance(classify_error(expired), ChannelCursorExpired)


INVENTORY = VENDOR.parent / "fba-inventory-v1" / "getInventorySummaries.200.sandbox-static-0.json"


def test_fba_inventory_vendor_example_parses() -> None:
    from channels.adapters.amazon.parse import parse_inventory_summary

    body = json.loads(INVENTORY.read_text())["response"]
    summaries = [parse_inventory_summary(raw, marketplace="US") for raw in body["payload"]["inventorySummaries"]]
    assert summaries[0].sku == "EMTEC 1 GB" and summaries[0].asin == "B0020MLK00"
    assert summaries[0].updated_at is None  # Amazon sends "" for lastUpdatedTime
    assert all(s.total >= 0 and s.fulfillable >= 0 for s in summaries)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s.pop("sellerSku"), "sellerSku"),
        (lambda s: s["inventoryDetails"].update(fulfillableQuantity=-1), "fulfillableQuantity"),
        (
            lambda s: s["inventoryDetails"]["reservedQuantity"].update(totalReservedQuantity="3"),
            "totalReservedQuantity",
        ),
        (lambda s: s.update(lastUpdatedTime="soon"), "lastUpdatedTime"),
    ],
)
def test_malformed_inventory_names_the_field(mutate: Any, field: str) -> None:
    from channels.adapters.amazon.parse import parse_inventory_summary

    raw = copy.deepcopy(json.loads(INVENTORY.read_text())["response"]["payload"]["inventorySummaries"][0])
    mutate(raw)
    with pytest.raises(RecordError, match=field):
        parse_inventory_summary(raw, marketplace="US")


TRANSACTIONS = VENDOR.parent / "finances-2024-06-19" / "listTransactions.200.sandbox-static-0.json"


def test_finances_vendor_transaction_parses() -> None:
    from channels.adapters.amazon.parse import parse_transaction

    raw = json.loads(TRANSACTIONS.read_text())["response"]["payload"]["transactions"][0]
    transaction = parse_transaction(raw)
    assert (transaction.transaction_type, transaction.currency, transaction.total_amount) == (
        "Shipment",
        "USD",
        Decimal(10),
    )
    assert transaction.order_id == "8129762527551"
    assert transaction.marketplace == "ATIV93840DER"  # a test sentinel, kept as sent
    assert transaction.external_id  # derived: the example has no transactionId


def test_finance_amounts_from_json_numbers_are_exact() -> None:
    from channels.adapters.amazon.parse import parse_transaction

    raw = json.loads(TRANSACTIONS.read_text())["response"]["payload"]["transactions"][0]
    raw = {
        **raw,
        "totalAmount": {"currencyAmount": 25.37, "currencyCode": "USD"},
        "breakdowns": [
            {
                "breakdownType": "Sales",
                "breakdownAmount": {"currencyAmount": 0.1, "currencyCode": "USD"},
                "breakdowns": [
                    {
                        "breakdownType": "Product Charges",
                        "breakdownAmount": {"currencyAmount": 0.1, "currencyCode": "USD"},
                    }
                ],
            }
        ],
    }
    transaction = parse_transaction(raw)
    assert transaction.total_amount == Decimal("25.37")
    assert transaction.components == (("Product Charges", Decimal("0.1")),)
    with pytest.raises(RecordError, match="currencyAmount"):
        parse_transaction({**raw, "totalAmount": {"currencyAmount": "lots", "currencyCode": "USD"}})

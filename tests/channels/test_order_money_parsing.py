"""Order money as each channel itemises it: lines, shipping, tax, discounts, fees, duties and tips become lines and
adjustments that add up to the channel's total; what does not add up is kept as an unexplained difference.

Shapes follow the vendors' own examples (tests/fixtures/vendor): Shopify's REST order (read through the same
GraphQL-shape parser a webhook uses), WooCommerce's REST v3 order and Amazon's Orders 2026-01-01 order.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from channels.adapters.amazon import parse as amazon_parse
from channels.adapters.base import AdjustmentKind, ExternalOrder
from channels.adapters.shopify import parse as shopify_parse
from channels.adapters.woocommerce import parse as woocommerce_parse
from orders.services import order_adjustments, order_breakdown
from tests.vendor import VENDOR_FIXTURES

VENDOR = VENDOR_FIXTURES


def _kinds(order: ExternalOrder) -> list[tuple[str, Decimal]]:
    return [(adjustment.kind, adjustment.amount) for adjustment in order_adjustments(order)]


def _bag(amount: str, currency: str = "EUR") -> dict[str, Any]:
    return {
        "shopMoney": {"amount": amount, "currencyCode": currency},
        "presentmentMoney": {"amount": amount, "currencyCode": currency},
    }


def _shopify_node(**changes: Any) -> dict[str, Any]:
    """A GraphQL Order node as ACORN's ORDERS_QUERY asks for it: a German shop, prices with 19 % VAT inside."""
    node: dict[str, Any] = {
        "id": "gid://shopify/Order/9001",
        "legacyResourceId": "9001",
        "name": "#9001",
        "createdAt": "2026-11-20T10:00:00Z",
        "updatedAt": "2026-11-21T10:00:00Z",
        "processedAt": "2026-11-20T10:00:00Z",
        "cancelledAt": None,
        "tags": [],
        "sourceName": "web",
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "taxesIncluded": True,
        "dutiesIncluded": False,
        # 2 x 59.50 = 119.00, 10 % off (11.90) = 107.10; shipping 5.95; all with VAT inside
        "totalPriceSet": _bag("113.05"),
        "totalDiscountsSet": _bag("11.90"),
        "totalTipReceivedSet": _bag("0.0"),
        "originalTotalDutiesSet": None,
        "originalTotalAdditionalFeesSet": None,
        "shippingAddress": {"countryCodeV2": "DE"},
        "shippingLines": {
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [
                {
                    "id": "gid://shopify/ShippingLine/77",
                    "title": "DHL Paket",
                    "originalPriceSet": _bag("5.95"),
                    "discountAllocations": [],
                    "taxLines": [{"priceSet": _bag("0.95")}],
                }
            ],
        },
        "lineItems": {
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [
                {
                    "id": "gid://shopify/LineItem/1",
                    "sku": "MUG-1",
                    "name": "Mug",
                    "quantity": 2,
                    "variant": {"legacyResourceId": "55"},
                    "originalUnitPriceSet": _bag("59.50"),
                    "originalTotalSet": _bag("119.00"),
                    "discountAllocations": [{"allocatedAmountSet": _bag("11.90")}],
                    "taxLines": [{"priceSet": _bag("17.10")}],
                }
            ],
        },
    }
    node.update(changes)
    return node


def test_shopify_taxes_included_order_adds_up_without_adding_the_tax_twice() -> None:
    # Given a German shop whose prices include VAT, on the lines and on shipping
    # When the order is parsed
    order = shopify_parse.parse_order(_shopify_node())
    # Then the line's total is its price after the discount allocation, the tax inside it, not on top
    line = order.lines[0]
    assert (line.item_amount, line.discount_amount, line.tax_amount, line.tax_included) == (
        Decimal("119.00"),
        Decimal("11.90"),
        Decimal("17.10"),
        True,
    )
    assert line.total_amount == Decimal("107.10")
    # and the shipping line is an adjustment with its VAT inside, shown, not added
    shipping = order.adjustments[0]
    assert (shipping.kind, shipping.amount, shipping.included_tax, shipping.label, shipping.external_id) == (
        AdjustmentKind.SHIPPING,
        Decimal("5.95"),
        Decimal("0.95"),
        "DHL Paket",
        "77",
    )
    assert order.taxes_included and order.itemised_amount == order.total_amount == Decimal("113.05")
    summary = order_breakdown(order)
    assert summary["tax_amount"] == Decimal("18.05") and summary["unexplained_amount"] == 0
    assert summary["item_amount"] - summary["discount_amount"] + summary["shipping_amount"] == order.total_amount


def test_shopify_shipping_discount_shipping_tax_duties_and_fees_are_adjustments() -> None:
    # Given a US shop (tax on top): lines 119.00 - 11.90 + 8.57 tax, shipping 10.00 with a 10.00 free-shipping
    # discount and 0.03 tax, duties of 4.20 collected at checkout and 1.50 of additional fees: 121.40
    node = _shopify_node(
        taxesIncluded=False,
        totalPriceSet=_bag("121.40", "USD"),
        totalDiscountsSet=_bag("21.90", "USD"),
        totalTipReceivedSet=_bag("0.0", "USD"),
        originalTotalDutiesSet=_bag("4.20", "USD"),
        originalTotalAdditionalFeesSet=_bag("1.50", "USD"),
    )
    node["lineItems"]["nodes"][0].update(
        originalUnitPriceSet=_bag("59.50", "USD"),
        originalTotalSet=_bag("119.00", "USD"),
        discountAllocations=[{"allocatedAmountSet": _bag("11.90", "USD")}],
        taxLines=[{"priceSet": _bag("8.57", "USD")}],
    )
    node["shippingLines"]["nodes"][0].update(
        originalPriceSet=_bag("10.00", "USD"),
        discountAllocations=[{"allocatedAmountSet": _bag("10.00", "USD")}],
        taxLines=[{"priceSet": _bag("0.03", "USD")}],
    )
    # When it is parsed
    order = shopify_parse.parse_order(node)
    # Then every part of the total has its own adjustment and they add up
    assert _kinds(order) == [
        (AdjustmentKind.SHIPPING, Decimal("10.00")),
        (AdjustmentKind.SHIPPING_DISCOUNT, Decimal("-10.00")),
        (AdjustmentKind.SHIPPING_TAX, Decimal("0.03")),
        (AdjustmentKind.DUTY, Decimal("4.20")),
        (AdjustmentKind.FEE, Decimal("1.50")),
    ]
    assert order.itemised_amount == order.total_amount
    summary = order_breakdown(order)
    assert (summary["shipping_amount"], summary["tax_amount"], summary["other_amount"]) == (
        Decimal("0.00"),
        Decimal("8.60"),
        Decimal("5.70"),
    )
    # Duties already inside the prices are not added again: the total then holds them nowhere else
    included = shopify_parse.parse_order({**node, "dutiesIncluded": True, "totalPriceSet": _bag("117.20", "USD")})
    assert AdjustmentKind.DUTY not in [kind for kind, _ in _kinds(included)]
    assert included.itemised_amount == included.total_amount


def test_shopify_tip_is_kept_only_where_no_line_carries_it() -> None:
    # Given an order with a 5.00 tip that the total holds beyond its lines and shipping
    node = _shopify_node(totalPriceSet=_bag("118.05"), totalTipReceivedSet=_bag("5.00"))
    # When it is parsed, then the tip is an adjustment
    order = shopify_parse.parse_order(node)
    assert (AdjustmentKind.TIP, Decimal("5.00")) in _kinds(order) and order.itemised_amount == order.total_amount
    # Given the same tip as a line of its own (Shopify lists tips among the line items), it is not counted twice
    tip_line: dict[str, Any] = {
        "id": "gid://shopify/LineItem/2",
        "sku": None,
        "name": "Tip",
        "quantity": 1,
        "variant": None,
        "originalUnitPriceSet": _bag("5.00"),
        "originalTotalSet": _bag("5.00"),
        "discountAllocations": [],
        "taxLines": [],
    }
    as_line = copy.deepcopy(node)
    as_line["lineItems"]["nodes"].append(tip_line)
    order = shopify_parse.parse_order(as_line)
    assert AdjustmentKind.TIP not in [kind for kind, _ in _kinds(order)]
    assert order.itemised_amount == order.total_amount


def test_shopify_numbers_that_do_not_add_up_leave_an_unexplained_difference() -> None:
    # Given a total 0.37 above what the order itemises, and no tip or unallocated discount that explains it
    order = shopify_parse.parse_order(_shopify_node(totalPriceSet=_bag("113.42")))
    # Then the difference is neither dropped nor guessed: it is the unexplained adjustment
    assert _kinds(order)[-1] == (AdjustmentKind.UNEXPLAINED, Decimal("0.37"))
    assert order_breakdown(order)["unexplained_amount"] == Decimal("0.37")


def test_shopify_order_discount_not_allocated_to_lines_is_kept_as_an_order_discount() -> None:
    # Given an older payload whose 11.90 discount reached no line (no allocations, no totalDiscountSet)
    node = _shopify_node()
    del node["lineItems"]["nodes"][0]["discountAllocations"]
    order = shopify_parse.parse_order(node)
    # Then it is an order-level discount, because it is exactly what the total lacks
    assert (AdjustmentKind.DISCOUNT, Decimal("-11.90")) in _kinds(order)
    assert order.itemised_amount == order.total_amount


def test_shopify_rest_webhook_order_reads_shipping_lines_and_skips_removed_ones() -> None:
    raw = json.loads((VENDOR / "shopify/rest-admin-2026-07/order.test_1.GET.response.json").read_text())
    raw = raw.get("order") or raw["orders"][0]
    # Given the vendor's order with a 12.00 shipping line carrying 0.72 tax, and one removed in an edit
    raw = copy.deepcopy(raw)
    shipping = raw["shipping_lines"][0]
    shipping.update(
        price="12.00", price_set=_rest_bag("12.00"), tax_lines=[{"price": "0.72", "price_set": _rest_bag("0.72")}]
    )
    removed = {
        **copy.deepcopy(shipping),
        "id": 1,
        "is_removed": True,
        "price": "99.00",
        "price_set": _rest_bag("99.00"),
    }
    raw["shipping_lines"].append(removed)
    raw["total_price_set"] = _rest_bag("611.66")
    # When the webhook body is parsed
    order = shopify_parse.parse_rest_order(raw)
    # Then the shipping line and its tax are there, the removed line is not, and the order adds up
    assert _kinds(order) == [
        (AdjustmentKind.SHIPPING, Decimal("12.00")),
        (AdjustmentKind.SHIPPING_TAX, Decimal("0.72")),
    ]
    assert order.itemised_amount == order.total_amount == Decimal("611.66")


def _rest_bag(amount: str) -> dict[str, Any]:
    return {
        "shop_money": {"amount": amount, "currency_code": "USD"},
        "presentment_money": {"amount": amount, "currency_code": "USD"},
    }


def test_woocommerce_fees_coupons_and_shipping_tax_add_up() -> None:
    raw = json.loads((VENDOR / "woocommerce/wp-api-v3/orders/retrieve-an-order.response.json").read_text())
    # Given the vendor's order with a 10 % coupon on the first line, shipping tax, a COD fee with tax and a
    # negative fee (a discount written as a fee)
    raw = copy.deepcopy(raw)
    first = raw["line_items"][0]
    first.update(total="5.40", total_tax="0.41")
    raw["shipping_lines"][0].update(total_tax="0.75")
    raw["fee_lines"] = [
        {"id": 901, "name": "Cash on delivery", "total": "2.00", "total_tax": "0.15"},
        {"id": 902, "name": "Loyalty", "total": "-1.00", "total_tax": "0.00"},
    ]
    raw.update(cart_tax="1.46", shipping_tax="0.75", total="30.61", discount_total="0.60")
    # When it is parsed
    order = woocommerce_parse.parse_order(raw)
    # Then the coupon is the line's discount (subtotal - total) and the rest are adjustments
    assert (order.lines[0].item_amount, order.lines[0].discount_amount, order.lines[0].tax_amount) == (
        Decimal("6.00"),
        Decimal("0.60"),
        Decimal("0.41"),
    )
    assert _kinds(order) == [
        (AdjustmentKind.SHIPPING, Decimal("10.00")),
        (AdjustmentKind.SHIPPING_TAX, Decimal("0.75")),
        (AdjustmentKind.FEE, Decimal("2.00")),
        (AdjustmentKind.FEE_TAX, Decimal("0.15")),
        (AdjustmentKind.FEE, Decimal("-1.00")),
    ]
    assert order.itemised_amount == order.total_amount == Decimal("30.61")
    assert order_breakdown(order)["tax_amount"] == Decimal("2.21")


def _amazon_order(name: str = "searchOrders.200.example.json") -> dict[str, Any]:
    body = json.loads((VENDOR / "amazon/sandbox/orders-2026-01-01" / name).read_text())
    body = body.get("response", body)
    return copy.deepcopy(body["orders"][0] if "orders" in body else body["order"])


def test_amazon_delivery_tip_is_an_order_adjustment_and_the_order_adds_up() -> None:
    # Given Amazon's example: items 149.97 + tax 0.02 + a DELIVERY_TIP of 5.00 on the order = 154.99
    order = amazon_parse.parse_order(_amazon_order())
    assert _kinds(order) == [(AdjustmentKind.TIP, Decimal("5.00"))]
    assert order.itemised_amount == order.total_amount == Decimal("154.99")
    summary = order_breakdown(order)
    assert (summary["item_amount"], summary["tax_amount"], summary["other_amount"]) == (
        Decimal("149.97"),
        Decimal("0.02"),
        Decimal("5.00"),
    )


@pytest.mark.parametrize("discount", ["-3.00", "3.00"])
def test_amazon_gift_wrap_and_promotion_discount_of_an_item(discount: str) -> None:
    # Given the UK example's item with gift wrap 2.50 and a promotion discount (the model does not fix its sign)
    raw = _amazon_order("getOrder.200.example.json")
    breakdowns = raw["orderItems"][0]["proceeds"]["breakdowns"]
    breakdowns.append({"type": "GIFT_WRAP", "subtotal": {"amount": "2.50", "currencyCode": "GBP"}})
    breakdowns.append({"type": "DISCOUNT", "subtotal": {"amount": discount, "currencyCode": "GBP"}})
    raw["proceeds"]["grandTotal"]["amount"] = "103.47"
    # When it is parsed
    order = amazon_parse.parse_order(raw)
    # Then the discount lowers the line either way, and the gift wrap is the item's own adjustment
    line = order.lines[0]
    assert (line.item_amount, line.shipping_amount, line.tax_amount, line.discount_amount) == (
        Decimal("89.97"),
        Decimal("10.00"),
        Decimal("4.00"),
        Decimal("3.00"),
    )
    wrap = order.adjustments[0]
    assert (wrap.kind, wrap.amount, wrap.line_external_id) == (
        AdjustmentKind.GIFT_WRAP,
        Decimal("2.50"),
        line.external_id,
    )
    assert order.itemised_amount == order.total_amount


def test_amazon_yen_order_without_decimals_adds_up_and_a_gap_is_unexplained() -> None:
    # Given Amazon's JP example in yen (no minor unit)
    raw = _amazon_order("searchOrders.200.sandbox-static-0.json")
    order = amazon_parse.parse_order(raw)
    assert order.currency == "JPY" and order.itemised_amount == order.total_amount == Decimal(19940)
    # Given a grand total one yen above its items, then that yen is the unexplained difference
    raw["proceeds"]["grandTotal"]["amount"] = "19941"
    assert _kinds(amazon_parse.parse_order(raw)) == [(AdjustmentKind.UNEXPLAINED, Decimal(1))]


def test_amazon_item_without_breakdowns_takes_its_proceeds_total() -> None:
    raw = _amazon_order("getOrder.200.sandbox-static-1.json")
    for item in raw["orderItems"]:
        item["proceeds"].pop("breakdowns", None)
    order = amazon_parse.parse_order(raw)
    assert order.lines[0].item_amount == Decimal("125.00") and order.itemised_amount == order.total_amount

"""The simulated shops: deterministic from the seed, varied like real shops, changing as time passes,
stock moving with orders, and the demo shop with its fixed tokens."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

from simulator.shopify.demo import DEMO_ACCESS_TOKEN, DEMO_SHOP_DOMAIN, install_demo_shops
from tests.simulator.shopify_support import SHOP, graphql, make_sim


def _truth(seed: int) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    sim = make_sim(seed=seed)
    try:
        sim.shopify.add_shop(SHOP, currency="USD", presentment_currencies=["CAD", "EUR"])
        sim.world.advance(timedelta(hours=30))
        return sim.shopify.visible_orders(SHOP), sim.shopify.refunds(SHOP), sim.shopify.inventory(SHOP)
    finally:
        sim.stop()


def test_same_seed_same_shop() -> None:
    assert _truth(21) == _truth(21)
    assert _truth(21)[0] != _truth(22)[0]


def test_orders_look_like_a_real_shop() -> None:
    sim = make_sim(seed=8)
    try:
        sim.shopify.add_shop(SHOP, currency="USD", presentment_currencies=["CAD", "EUR", "GBP"], malformed_rate=0.02)
        orders = sim.shopify.visible_orders(SHOP)
        financial = Counter(order["financial_status"] for order in orders)
        fulfillment = Counter(order["fulfillment_status"] for order in orders)
        assert {"PAID", "PARTIALLY_REFUNDED", "REFUNDED"} <= set(financial)
        assert {"FULFILLED", "UNFULFILLED"} <= set(fulfillment)
        assert {order["presentment_currency"] for order in orders} >= {"USD", "CAD"}
        assert any(order["cancelled_at"] for order in orders)
        assert len({order["shipping_country"] for order in orders}) > 3
        for order in orders:
            lines = sum(Decimal(line["unit_price"]) * line["quantity"] for line in order["lines"])
            assert Decimal(order["subtotal_price"]) == lines - Decimal(order["total_discounts"])
            expected = Decimal(order["subtotal_price"]) + Decimal(order["total_shipping"]) + Decimal(order["total_tax"])
            assert Decimal(order["total_price"]) == expected  # US shops add tax on top
        returns = sim.shopify.returns(SHOP)
        reasons = {line["reason"] for record in returns for line in record["lines"]}
        notes = {line["customer_note"] for record in returns for line in record["lines"] if line["customer_note"]}
        assert len(reasons) >= 4 and len(notes) >= 3
        restocks = {line["restock_type"] for refund in sim.shopify.refunds(SHOP) for line in refund["lines"]}
        assert {"RETURN", "CANCEL"} <= restocks
        assert sim.shopify.malformed_order_ids(SHOP)
    finally:
        sim.stop()


def test_time_brings_new_orders_and_moves_stock() -> None:
    sim = make_sim(seed=12)
    try:
        sim.shopify.add_shop(SHOP)
        before = {order["id"]: order for order in sim.shopify.visible_orders(SHOP)}
        stock_before = sum(row["committed"] for row in sim.shopify.inventory(SHOP))
        sim.world.advance(timedelta(hours=48))
        after = {order["id"]: order for order in sim.shopify.visible_orders(SHOP)}
        assert set(after) > set(before)
        assert any(after[gid]["updated_at"] != order["updated_at"] for gid, order in before.items())
        assert sum(row["committed"] for row in sim.shopify.inventory(SHOP)) != stock_before
        assert all(row["on_hand"] >= row["available"] for row in sim.shopify.inventory(SHOP))
    finally:
        sim.stop()


def test_demo_shop_has_fixed_tokens() -> None:
    sim = make_sim(seed=1)
    try:
        install_demo_shops(sim.shopify, deliver_webhooks=False)
        install_demo_shops(sim.shopify, deliver_webhooks=False)  # idempotent
        answer = graphql(
            sim,
            DEMO_ACCESS_TOKEN,
            "{ shop { myshopifyDomain } locations(first: 5) { nodes { name } } }",
            shop=DEMO_SHOP_DOMAIN,
        )
        assert answer["data"]["shop"]["myshopifyDomain"] == DEMO_SHOP_DOMAIN
        assert [node["name"] for node in answer["data"]["locations"]["nodes"]] == ["Brooklyn store", "Main warehouse"]
    finally:
        sim.stop()

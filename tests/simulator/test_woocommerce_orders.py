"""Writes through the WooCommerce front: completing orders with tracking data, notes, refunds (within what
is left to refund, restocking what they return) and stock updates of products and variations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from simulator import ManualClock, SimulatorServer
from simulator.woocommerce.model import Order
from simulator.woocommerce.site import WooSite
from tests.simulator.woo_support import SLUG, client


@pytest.fixture
def shop(sim: SimulatorServer) -> WooSite:
    return sim.woo.add_site(SLUG, orders_per_day=8)


def _order(sim: SimulatorServer, shop: WooSite, status: str, *, gateways: tuple[str, ...] = ("stripe",)) -> Order:
    """An order in the status, paid through one of the gateways, with a stock-managed product on it."""
    truth = {order["id"]: order for order in sim.woo.visible_orders(SLUG)}
    for order in shop.order_list:
        if (
            order.id in truth
            and truth[order.id]["status"] == status
            and truth[order.id]["refunded"] in ("0.00", "0")
            and order.gateway.method in gateways
            and shop.managed_stock(order.lines[0].variation_id or order.lines[0].product_id) is not None
        ):
            return order
    raise AssertionError(f"no {status} order paid by {gateways}")


def test_completing_an_order_with_tracking_data(sim: SimulatorServer, shop: WooSite, clock: ManualClock) -> None:
    # given a processing order, and a client that has synced up to now
    order = _order(sim, shop, "processing")
    api = client(sim)
    clock.advance(timedelta(minutes=5))

    # when the client completes it with a tracking number
    response = api.put(
        f"orders/{order.id}",
        {"status": "completed", "meta_data": [{"key": "_tracking_number", "value": "DHL:00340434161094042557"}]},
    )

    # then the order is completed now, carries the meta data, and shows up as modified
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "completed"
    assert body["date_completed_gmt"] == body["date_modified_gmt"] == sim.world.now().strftime("%Y-%m-%dT%H:%M:%S")
    assert {"key": "_tracking_number", "value": "DHL:00340434161094042557"} in [
        {"key": meta["key"], "value": meta["value"]} for meta in body["meta_data"]
    ]
    since = (sim.world.now() - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    changed = api.get("orders", params={"modified_after": since, "dates_are_gmt": "true"}).json()
    assert order.id in [entry["id"] for entry in changed]
    notes = [note["note"] for note in sim.woo.notes(SLUG, order.id)]
    assert "Order status changed from Processing to Completed." in notes
    # and what the generator had planned for the order no longer happens
    clock.advance(timedelta(days=40))
    assert client(sim).get(f"orders/{order.id}").json()["status"] == "completed"


def test_invalid_status_is_refused(sim: SimulatorServer, shop: WooSite) -> None:
    order = _order(sim, shop, "processing")

    response = client(sim).put(f"orders/{order.id}", {"status": "shipped"})

    assert response.status_code == 400
    assert response.json()["code"] == "rest_invalid_param"


def test_notes_are_added_and_listed(sim: SimulatorServer, shop: WooSite) -> None:
    order = _order(sim, shop, "completed")
    api = client(sim)
    before = api.get(f"orders/{order.id}").json()["date_modified_gmt"]

    created = api.post(f"orders/{order.id}/notes", {"note": "Paket ist unterwegs.", "customer_note": True})
    missing = api.post(f"orders/{order.id}/notes", {"customer_note": True})
    listed = api.get(f"orders/{order.id}/notes").json()

    assert created.status_code == 201
    assert created.json()["note"] == "Paket ist unterwegs."
    assert created.json()["customer_note"] is True
    assert created.json()["author"] == "system"
    assert listed[0]["id"] == created.json()["id"]
    assert missing.status_code == 400
    assert any(note["note"] == "Paket ist unterwegs." for note in sim.woo.notes(SLUG, order.id))
    assert api.get(f"orders/{order.id}").json()["date_modified_gmt"] == before


def test_a_partial_refund_with_restock_returns_the_units_to_stock(sim: SimulatorServer, shop: WooSite) -> None:
    # given a completed order of a stock-managed product
    order = _order(sim, shop, "completed")
    line = order.lines[0]
    sku = line.sku
    stock_before = sim.woo.stock(SLUG)[sku]
    api = client(sim)

    # when one unit is refunded with restock, amount taken from the line
    response = api.post(
        f"orders/{order.id}/refunds",
        {
            "reason": "Rücksendung erhalten",
            "api_restock": True,
            "line_items": [
                {
                    "id": line.item_id,
                    "quantity": 1,
                    "refund_total": str(line.total / line.quantity),
                    "refund_tax": [{"id": 1, "refund_total": str(line.total_tax / line.quantity)}],
                }
            ],
        },
    )

    # then the refund exists with its line, the order lists it, and the unit is back in stock
    assert response.status_code == 201, response.text
    refund = response.json()
    assert Decimal(refund["amount"]) == (line.total + line.total_tax) / line.quantity
    assert refund["line_items"][0]["quantity"] == -1
    assert refund["refunded_by"] == 1
    order_json = api.get(f"orders/{order.id}").json()
    assert order_json["refunds"][0] == {
        "id": refund["id"],
        "reason": "Rücksendung erhalten",
        "total": f"-{refund['amount']}",
    }
    assert order_json["status"] == "completed"
    assert [entry["id"] for entry in api.get(f"orders/{order.id}/refunds").json()] == [refund["id"]]
    assert sim.woo.stock(SLUG)[sku] == stock_before + 1
    truth = [entry for entry in sim.woo.refunds(SLUG) if entry["id"] == refund["id"]]
    refunded_total = refund["line_items"][0]["total"].lstrip("-")
    assert truth[0]["lines"] == [{"refunded_item_id": line.item_id, "sku": sku, "quantity": 1, "total": refunded_total}]
    assert any("stock increased" in note["note"] for note in sim.woo.notes(SLUG, order.id))


def test_refunds_are_limited_to_what_is_left(sim: SimulatorServer, shop: WooSite) -> None:
    # given a paid order and a first partial refund without restock
    order = _order(sim, shop, "completed")
    api = client(sim)
    first = api.post(f"orders/{order.id}/refunds", {"amount": "1.00", "api_restock": False})
    assert first.status_code == 201
    left = order.total - Decimal("1.00")

    # when the client asks for more than is left, a negative amount, and something that is not a number
    too_much = api.post(f"orders/{order.id}/refunds", {"amount": str(left + Decimal("0.01"))})
    negative = api.post(f"orders/{order.id}/refunds", {"amount": "-5"})
    nonsense = api.post(f"orders/{order.id}/refunds", {"amount": "abc"})

    # then WooCommerce's errors come back and nothing more is refunded
    assert too_much.status_code == 500
    assert too_much.json()["code"] == "woocommerce_rest_cannot_create_order_refund"
    assert too_much.json()["message"] == "Invalid refund amount."
    assert negative.status_code == 400
    assert negative.json()["code"] == "woocommerce_rest_invalid_order_refund"
    assert nonsense.status_code == 500
    assert len(api.get(f"orders/{order.id}/refunds").json()) == 1

    # when the rest is refunded exactly
    rest = api.post(f"orders/{order.id}/refunds", {"amount": str(left), "reason": "Customer cancelled"})

    # then the order is refunded in full
    assert rest.status_code == 201
    assert api.get(f"orders/{order.id}").json()["status"] == "refunded"


def test_gateways_without_refunds_need_a_manual_refund(sim: SimulatorServer, shop: WooSite) -> None:
    order = _order(sim, shop, "completed", gateways=("bacs", "cod"))
    api = client(sim)

    automatic = api.post(f"orders/{order.id}/refunds", {"amount": "2.00"})
    manual = api.post(f"orders/{order.id}/refunds", {"amount": "2.00", "api_refund": False})

    assert automatic.status_code == 500
    assert automatic.json()["message"] == "The payment gateway for this order does not support automatic refunds."
    assert manual.status_code == 201
    assert manual.json()["refunded_payment"] is False


def test_setting_status_refunded_refunds_the_rest(sim: SimulatorServer, shop: WooSite) -> None:
    order = _order(sim, shop, "completed")
    api = client(sim)

    response = api.put(f"orders/{order.id}", {"status": "refunded"})

    refunds = api.get(f"orders/{order.id}/refunds").json()
    assert response.json()["status"] == "refunded"
    assert len(refunds) == 1
    assert refunds[0]["reason"] == "Order fully refunded."
    assert Decimal(refunds[0]["amount"]) == order.total


def test_stock_updates_of_products_and_variations(sim: SimulatorServer, shop: WooSite) -> None:
    # given a simple product and a variation that manage stock
    api = client(sim)
    simple = next(p for p in shop.products.values() if p.type == "simple" and p.manage_stock)
    variations = [p for p in shop.products.values() if p.type == "variation"]

    # when the client sets quantities one by one and in batches
    single = api.put(f"products/{simple.id}", {"stock_quantity": 42})
    variation = api.put(f"products/{variations[0].parent_id}/variations/{variations[0].id}", {"stock_quantity": 7})
    batch = api.post(
        f"products/{variations[1].parent_id}/variations/batch",
        {"update": [{"id": variations[1].id, "stock_quantity": 3}, {"id": 999999, "stock_quantity": 1}]},
    )
    invalid = api.put(f"products/{simple.id}", {"stock_quantity": "lots"})

    # then the shop holds the new quantities, and the unknown id and bad value are refused
    assert single.json()["stock_quantity"] == 42
    assert variation.json()["stock_quantity"] == 7
    assert batch.json()["update"][0]["stock_quantity"] == 3
    assert batch.json()["update"][1]["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"
    assert invalid.status_code == 400
    stock = sim.woo.stock(SLUG)
    assert (stock[simple.sku], stock[variations[0].sku], stock[variations[1].sku]) == (42, 7, 3)
    assert api.get(f"products/{simple.id}").json()["stock_status"] == "instock"


def test_batches_over_a_hundred_items_are_refused(sim: SimulatorServer, shop: WooSite) -> None:
    simple = next(p for p in shop.products.values() if p.type == "simple")

    response = client(sim).post("products/batch", {"update": [{"id": simple.id, "stock_quantity": 1}] * 101})

    assert response.status_code == 413
    assert response.json()["code"] == "woocommerce_rest_request_entity_too_large"

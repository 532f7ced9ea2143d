"""The seeded world: determinism, money that adds up, time that moves orders along."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from simulator import ManualClock, World
from simulator.model import MALFORMED_KINDS
from tests.simulator.conftest import START


def _world(seed: int) -> World:
    return World(seed=seed, clock=ManualClock(START), orders_per_day=5)


def test_same_seed_gives_the_same_sellers_and_orders() -> None:
    # given two worlds from the same seed
    first, second = _world(42), _world(42)

    # when each gets the same sellers
    a = first.add_seller("EU", ["UK", "DE", "FR"])
    b = second.add_seller("EU", ["UK", "DE", "FR"])

    # then everything matches, down to the JSON
    assert a.selling_partner_id == b.selling_partner_id
    assert first.orders_for(a.selling_partner_id) == second.orders_for(b.selling_partner_id)
    assert first.generate_orders(a.selling_partner_id, 50) == second.generate_orders(b.selling_partner_id, 50)


def test_another_seed_gives_another_world() -> None:
    first, second = _world(1), _world(2)
    a, b = first.add_seller("NA"), second.add_seller("NA")
    assert a.selling_partner_id != b.selling_partner_id
    assert [o["orderId"] for o in first.orders_for(a.selling_partner_id)] != [
        o["orderId"] for o in second.orders_for(b.selling_partner_id)
    ]


def test_a_new_seller_has_sixty_days_of_history(world: World) -> None:
    seller = world.add_seller("NA", ["US"], orders_per_day=10)
    orders = world.orders_for(seller.selling_partner_id)
    created = [datetime.fromisoformat(order["createdTime"]) for order in orders]
    assert 450 <= len(orders) <= 750
    assert min(created) >= START - timedelta(days=60)
    assert max(created) <= START
    statuses = Counter(order["fulfillment"]["fulfillmentStatus"] for order in orders)
    assert statuses["SHIPPED"] > statuses["CANCELLED"] > 0
    fulfilled_by = Counter(order["fulfillment"]["fulfilledBy"] for order in orders)
    assert fulfilled_by["AMAZON"] > 0
    assert fulfilled_by["MERCHANT"] > 0


def test_a_few_thousand_orders_are_generated_fast(world: World) -> None:
    seller = world.add_seller("EU", ["UK", "DE", "FR", "IT", "ES"])
    started = time.perf_counter()
    ids = world.generate_orders(seller.selling_partner_id, 3000)
    elapsed = time.perf_counter() - started
    assert len(set(ids)) == 3000
    assert elapsed < 2.0
    assert len(world.seller_orders(seller.selling_partner_id)) >= 3000


@pytest.mark.parametrize(
    ("region", "marketplaces"), [("NA", ["US", "CA", "MX"]), ("EU", ["UK", "DE"]), ("FE", ["JP", "AU"])]
)
def test_totals_add_up(world: World, region: str, marketplaces: list[str]) -> None:
    seller = world.add_seller(region, marketplaces)
    world.generate_orders(seller.selling_partner_id, 300)
    for order in world.orders_for(seller.selling_partner_id):
        proceeds = order["proceeds"]
        currency = proceeds["grandTotal"]["currencyCode"]
        by_type = {b["type"]: Decimal(b["subtotal"]["amount"]) for b in proceeds["breakdowns"]}
        assert Decimal(proceeds["grandTotal"]["amount"]) == sum(by_type.values())
        item_by_type: Counter[str] = Counter()
        item_total = Decimal(0)
        for item in order["orderItems"]:
            breakdowns = {b["type"]: Decimal(b["subtotal"]["amount"]) for b in item["proceeds"]["breakdowns"]}
            assert Decimal(item["proceeds"]["proceedsTotal"]["amount"]) == sum(breakdowns.values())
            unit = Decimal(item["product"]["price"]["unitPrice"]["amount"])
            assert breakdowns["ITEM"] == unit * item["quantityOrdered"]
            assert breakdowns.get("DISCOUNT", Decimal(0)) <= 0
            item_by_type.update(breakdowns)
            item_total += sum(breakdowns.values())
            assert {m["currencyCode"] for m in _money(item)} == {currency}
        assert by_type == dict(item_by_type)
        assert item_total == Decimal(proceeds["grandTotal"]["amount"])


def _money(node: object) -> list[dict[str, str]]:
    if isinstance(node, dict):
        found = [node] if "currencyCode" in node else []
        return found + [m for value in node.values() for m in _money(value)]
    if isinstance(node, list):
        return [m for value in node for m in _money(value)]
    return []


def test_currencies_follow_the_marketplace_and_jpy_has_no_decimals(world: World) -> None:
    seller = world.add_seller("FE", ["JP", "AU"])
    world.generate_orders(seller.selling_partner_id, 200)
    expected = {"A1VC38T7YXB528": "JPY", "A39IBJ37TRP1C6": "AUD"}
    seen = set()
    for order in world.orders_for(seller.selling_partner_id):
        currency = expected[order["salesChannel"]["marketplaceId"]]
        seen.add(currency)
        for money in _money(order):
            assert money["currencyCode"] == currency
            if currency == "JPY":
                assert money["amount"].lstrip("-").isdigit(), money
            else:
                assert len(money["amount"].split(".")[1]) == 2, money
    assert seen == {"JPY", "AUD"}


def test_time_moves_orders_along_and_brings_new_ones(world: World, clock: ManualClock) -> None:
    # given a seller whose newest orders are still pending or unshipped
    seller = world.add_seller("NA", ["US"])
    spid = seller.selling_partner_id
    world.generate_orders(spid, 40, start=START - timedelta(hours=1), end=START)
    before = {o["orderId"]: o for o in world.orders_for(spid)}
    open_before = [i for i, o in before.items() if o["fulfillment"]["fulfillmentStatus"] in ("PENDING", "UNSHIPPED")]
    assert open_before

    # when four days pass
    clock.advance(timedelta(days=4))
    after = {o["orderId"]: o for o in world.orders_for(spid)}

    # then new orders arrived and the open ones moved on, with a later lastUpdatedTime
    assert len(after) > len(before)
    for order_id in open_before:
        assert after[order_id]["fulfillment"]["fulfillmentStatus"] in ("SHIPPED", "CANCELLED")
        assert after[order_id]["lastUpdatedTime"] > before[order_id]["lastUpdatedTime"]


def test_advance_moves_the_world_without_a_manual_clock() -> None:
    world = World(seed=3, orders_per_day=2, live_orders_per_hour=12)
    seller = world.add_seller("NA")
    count = len(world.seller_orders(seller.selling_partner_id))
    now = world.now()
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5
    assert world.advance(timedelta(days=1)) >= now + timedelta(days=1)
    assert len(world.seller_orders(seller.selling_partner_id)) > count


def test_malformed_orders_are_a_fixed_seeded_subset(world: World) -> None:
    seller = world.add_seller("NA")
    world.generate_orders(seller.selling_partner_id, 1000)
    malformed = world.malformed_order_ids(seller.selling_partner_id)
    assert 5 <= len(malformed) <= 60
    assert malformed == world.malformed_order_ids(seller.selling_partner_id)
    kinds = {world.order(order_id).malformed for order_id in malformed}
    assert kinds <= set(MALFORMED_KINDS)
    # the truth itself is always well-formed
    truth = {order["orderId"] for order in world.orders_for(seller.selling_partner_id)}
    assert malformed <= truth


def test_sellers_must_stay_within_their_region(world: World) -> None:
    with pytest.raises(ValueError, match="not in region"):
        world.add_seller("EU", ["UK", "JP"])
    with pytest.raises(ValueError, match="Unknown region"):
        world.add_seller("SA", ["BR"])


def test_recipients_carry_no_personal_data(world: World) -> None:
    seller = world.add_seller("EU", ["UK", "DE", "FR"])
    countries = set()
    for order in world.orders_for(seller.selling_partner_id):
        address = order["recipient"]["deliveryAddress"]
        assert set(address) == {"city", "stateOrRegion", "postalCode", "countryCode"}
        countries.add(address["countryCode"])
        assert "buyerName" not in order.get("buyer", {})
    assert len(countries) >= 4  # buyers in several countries, some across borders

"""The simulated shops over time: deterministic from the seed, orders arriving and moving on as the clock
moves, stock following the orders, and a client that syncs by modified time getting everything even
when the hostile profile breaks records, fails calls and moves orders between pages."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from simulator import FaultProfile, ManualClock, SimulatorServer, World
from simulator.woocommerce.demo import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, install_demo_woo_site
from tests.simulator.conftest import START
from tests.simulator.woo_support import SLUG, client

GMT = "%Y-%m-%dT%H:%M:%S"


def _shop_state(seed: int) -> tuple[Any, ...]:
    world = World(seed=seed, clock=ManualClock(START))
    with SimulatorServer(seed=seed, world=world) as sim:
        site = sim.woo.add_site(SLUG, orders_per_day=5)
        world.advance(timedelta(hours=30))
        api = client(sim)
        products = [(p["id"], p["sku"], p["price"], p["stock_quantity"]) for p in api.get("products").json()]
        return (
            sim.woo.visible_orders(SLUG),
            sim.woo.refunds(SLUG),
            sim.woo.stock(SLUG),
            products,
            sorted(site.keys),
        )


def test_the_same_seed_makes_the_same_shop() -> None:
    first, second, other = _shop_state(4), _shop_state(4), _shop_state(5)

    assert first == second
    assert first[0] != other[0]
    assert first[4] != other[4]


def test_orders_arrive_and_move_on_as_the_clock_moves(sim: SimulatorServer, clock: ManualClock) -> None:
    # given a shop synced up to now
    sim.woo.add_site(SLUG, orders_per_day=5, live_orders_per_hour=3)
    api = client(sim)
    synced_at = sim.world.now()
    before = {order["id"]: order for order in sim.woo.visible_orders(SLUG)}

    # when five days pass
    clock.advance(timedelta(days=5))
    after = {order["id"]: order for order in sim.woo.visible_orders(SLUG)}
    changed = api.get(
        "orders",
        params={"modified_after": synced_at.strftime(GMT), "dates_are_gmt": "true", "per_page": 100, "page": 1},
    )

    # then new orders came in, open ones moved on, and the client finds exactly what changed
    new = set(after) - set(before)
    assert len(new) > 100
    trashed = set(before) - set(after)  # failed and cancelled orders the shop owner binned
    moved = [order_id for order_id in set(before) - trashed if before[order_id]["status"] != after[order_id]["status"]]
    assert moved
    assert {before[order_id]["status"] for order_id in moved} <= {"pending", "processing", "on-hold", "completed"}
    assert {before[order_id]["status"] for order_id in trashed} <= {"failed", "cancelled"}
    expected = {order_id for order_id, order in after.items() if order["date_modified_gmt"] > synced_at.strftime(GMT)}
    assert int(changed.headers["X-WP-Total"]) == len(expected)
    assert set(moved) <= expected


def test_stock_follows_the_orders(sim: SimulatorServer, clock: ManualClock) -> None:
    # given a new shop without history
    sim.woo.add_site(SLUG, history_days=0, live_orders_per_hour=4, multi_currency=False)
    stock_before = sim.woo.stock(SLUG)

    # when a day of orders comes in
    clock.advance(timedelta(days=1))

    # then every unit of an order that was paid or put on hold left the shelf (refunded ones came back)
    taken: Counter[str] = Counter()
    for order in sim.woo.visible_orders(SLUG):
        if order["status"] in ("processing", "on-hold", "completed"):
            for line in order["lines"]:
                taken[line["sku"]] += line["quantity"]
    stock_after = sim.woo.stock(SLUG)
    changes = {sku: stock_before[sku] - stock_after[sku] for sku in stock_before}
    assert sum(taken.values()) > 20
    assert {sku: units for sku, units in changes.items() if units} == {
        sku: units for sku, units in taken.items() if sku in stock_before
    }


def _retrying(api: Any, params: dict[str, Any]) -> requests.Response:
    for _ in range(10):
        try:
            response = api.get("orders", params=params)
        except requests.exceptions.RequestException:
            continue
        if response.status_code < 429:
            return response
    raise AssertionError("the simulator failed the same call ten times")


def _sync_by_modified(api: Any) -> dict[int, dict[str, Any]]:
    """Keyset sync: sorted by modified time, restarting a second before the newest change seen."""
    after, page, seen = datetime(2000, 1, 1, tzinfo=UTC), 1, {}
    for _ in range(500):
        params = {
            "modified_after": after.strftime(GMT),
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "asc",
            "per_page": 100,
            "page": page,
        }
        batch = _retrying(api, params).json()
        for raw in batch:
            seen[raw["id"]] = raw
        if len(batch) < 100:
            return seen
        newest = max(datetime.fromisoformat(raw["date_modified_gmt"]) for raw in batch if raw.get("date_modified_gmt"))
        start = newest.replace(tzinfo=UTC) - timedelta(seconds=1)
        after, page = (after, page + 1) if start <= after else (start, 1)
    raise AssertionError("the sync did not end")


def test_a_keyset_sync_gets_every_order_under_the_hostile_profile(world: World) -> None:
    # given a hostile simulator (5xx, dropped connections, broken records, page drift)
    profile = FaultProfile.named("hostile", slow_seconds=0, timeout_seconds=0.05)
    with SimulatorServer(seed=13, world=world, faults=profile) as sim:
        sim.woo.add_site(SLUG, orders_per_day=15, malformed_rate=0.03)
        api = client(sim)
        started = time.monotonic()

        # when a client syncs by modified time with retries
        seen = _sync_by_modified(api)

        # then it holds every well-formed order as it is now, and the broken ones are visibly broken
        truth = {order["id"]: order for order in sim.woo.visible_orders(SLUG)}
        broken = sim.woo.malformed_order_ids(SLUG)
        assert broken
        assert set(truth) - broken <= set(seen)
        for order_id in set(truth) - broken:
            assert seen[order_id]["status"] == truth[order_id]["status"]
            assert seen[order_id]["total"] == truth[order_id]["total"]
        for order_id in broken & set(seen):
            raw = seen[order_id]
            assert raw["total"] == "abc" or "line_items" not in raw or raw["date_modified_gmt"] is None
        assert sim.faults.injected
        assert broken & set(seen)
        assert time.monotonic() - started < 30


def test_page_numbers_alone_lose_orders_that_drift_between_pages(world: World) -> None:
    # given a shop where an order on an earlier page changes whenever a later page is read
    profile = FaultProfile.named("none", duplicate_page_rate=1.0)
    with SimulatorServer(seed=3, world=world, faults=profile) as sim:
        sim.woo.add_site(SLUG, orders_per_day=6)
        api = client(sim)
        truth = {order["id"] for order in sim.woo.visible_orders(SLUG)}

        # when a client walks the pages sorted by modified time, by page number only
        walked: list[int] = []
        page = 1
        while True:
            response = api.get("orders", params={"orderby": "modified", "order": "asc", "per_page": 100, "page": page})
            walked.extend(order["id"] for order in response.json())
            if page >= int(response.headers["X-WP-TotalPages"]):
                break
            page += 1

        # then it read some orders twice and missed others; restarting from modified time finds them all
        assert len(walked) == len(truth)
        assert set(walked) < truth
        assert set(_sync_by_modified(api)) == truth


def test_the_demo_shop_has_fixed_keys(sim: SimulatorServer) -> None:
    site = install_demo_woo_site(sim.woo)

    orders = client(sim, site.slug, consumer_key=DEMO_CONSUMER_KEY, consumer_secret=DEMO_CONSUMER_SECRET).get("orders")

    assert site.slug == "acorn-demo"
    assert site.currency == "EUR"
    assert orders.status_code == 200
    assert orders.json()[0]["currency"] in ("EUR", "GBP", "USD")


@pytest.mark.parametrize("slug", ["Demo Shop", "shop/1", ""])
def test_site_slugs_are_validated(sim: SimulatorServer, slug: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        sim.woo.add_site(slug)

"""Orders API 2026-01-01 over real HTTP: windows, pagination, filters, datasets, shapes, getOrder."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from simulator import ManualClock, SimulatorServer, World
from simulator.model import Seller
from tests.simulator.conftest import START
from tests.simulator.support import (
    ORDERS_PATH,
    Api,
    iso,
    merge_shapes,
    shape_errors,
    sync_orders,
    vendor_bodies,
)

US, CA, MX = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"
EVERYTHING = (
    "BUYER,RECIPIENT,PROCEEDS,EXPENSE,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,TAX,PAYMENT,FULFILLMENT_ORDERS"
)
LONG_AGO = iso(START - timedelta(days=90))


def _pages(api: Api, params: dict[str, Any], page_size: int) -> list[dict[str, Any]]:
    bodies = []
    response = api.get(ORDERS_PATH, {**params, "maxResultsPerPage": page_size})
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        bodies.append(body)
        token = (body.get("pagination") or {}).get("nextToken")
        if not token:
            return bodies
        next_page = {"paginationToken": token, "maxResultsPerPage": page_size}
        response = api.get(ORDERS_PATH, {**next_page, "includedData": params.get("includedData", [])})


def _visible_truth(world: World, seller: Seller) -> dict[str, dict[str, Any]]:
    return {order["orderId"]: order for order in world.visible_orders_for(seller.selling_partner_id)}


def test_every_visible_order_arrives_exactly_once_in_order(api: Api, world: World, seller: Seller) -> None:
    # when a client pages through everything updated since long ago, 37 at a time
    bodies = _pages(api, {"lastUpdatedAfter": LONG_AGO, "includedData": "FULFILLMENT,PROCEEDS"}, 37)

    # then it sees each visible order once, sorted by lastUpdatedTime then orderId
    orders = [order for body in bodies for order in body["orders"]]
    ids = [order["orderId"] for order in orders]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(_visible_truth(world, seller))
    keys = [(order["lastUpdatedTime"], order["orderId"]) for order in orders]
    assert keys == sorted(keys)
    assert all(len(body["orders"]) == 37 for body in bodies[:-1])
    assert "pagination" not in bodies[-1]
    assert {body["lastUpdatedBefore"] for body in bodies} == {iso(START - timedelta(minutes=2))}


def test_pagination_is_stable_while_the_world_changes(
    api: Api, world: World, clock: ManualClock, seller: Seller
) -> None:
    # given a first page of a window
    first = api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "maxResultsPerPage": 50}).json()
    window_end = first["lastUpdatedBefore"]
    seen = [order["orderId"] for order in first["orders"]]

    # when an hour passes (new orders, status changes) before the rest is fetched
    clock.advance(timedelta(hours=1))
    token = first["pagination"]["nextToken"]
    while token:
        body = api.get(ORDERS_PATH, {"paginationToken": token, "maxResultsPerPage": 50}).json()
        assert body["lastUpdatedBefore"] == window_end
        seen.extend(order["orderId"] for order in body["orders"])
        assert all(order["lastUpdatedTime"] <= window_end for order in body["orders"])
        token = (body.get("pagination") or {}).get("nextToken")

    # then no order came twice, and the next window brings the rest of the truth
    assert len(seen) == len(set(seen))
    rest = sync_orders(api, {"lastUpdatedAfter": window_end})
    assert set(seen) | set(rest.orders) == set(_visible_truth(world, seller))


def test_created_window_pages_by_creation_time(api: Api, world: World, seller: Seller) -> None:
    after = START - timedelta(days=10)
    bodies = _pages(api, {"createdAfter": iso(after), "createdBefore": iso(START - timedelta(days=2))}, 20)
    orders = [order for body in bodies for order in body["orders"]]
    expected = {
        order["orderId"]
        for order in world.visible_orders_for(seller.selling_partner_id)
        if iso(after) <= order["createdTime"] <= iso(START - timedelta(days=2))
    }
    assert {order["orderId"] for order in orders} == expected
    assert [o["createdTime"] for o in orders] == sorted(o["createdTime"] for o in orders)
    assert bodies[0]["createdBefore"] == iso(START - timedelta(days=2))
    assert "lastUpdatedBefore" not in bodies[0]


def test_the_two_minute_rule(api: Api, world: World, seller: Seller) -> None:
    # an upper bound less than two minutes old is refused
    too_recent = api.get(
        ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "lastUpdatedBefore": iso(START - timedelta(seconds=60))}
    )
    assert too_recent.status_code == 400
    assert too_recent.json()["errors"][0]["code"] == "InvalidInput"
    assert (
        api.get(
            ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "lastUpdatedBefore": iso(START - timedelta(minutes=2))}
        ).status_code
        == 200
    )

    # an order placed a minute ago is not visible yet, but is two minutes later
    fresh = world.generate_orders(
        seller.selling_partner_id, 1, start=START - timedelta(minutes=1), end=START - timedelta(minutes=1)
    )[0]
    recent = {"lastUpdatedAfter": iso(START - timedelta(minutes=5))}
    assert fresh not in sync_orders(api, recent).orders
    world.advance(timedelta(minutes=2))
    assert fresh in sync_orders(api, recent).orders


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"createdAfter": LONG_AGO, "lastUpdatedAfter": LONG_AGO},
        {"createdAfter": LONG_AGO, "lastUpdatedBefore": LONG_AGO},
        {"lastUpdatedAfter": LONG_AGO, "createdBefore": LONG_AGO},
        {"lastUpdatedAfter": "yesterday"},
        {"lastUpdatedAfter": iso(START), "lastUpdatedBefore": LONG_AGO},
        {"lastUpdatedAfter": iso(START + timedelta(days=1))},
        {"lastUpdatedAfter": LONG_AGO, "maxResultsPerPage": 101},
        {"lastUpdatedAfter": LONG_AGO, "maxResultsPerPage": 0},
        {"lastUpdatedAfter": LONG_AGO, "includedData": "EVERYTHING"},
        {"lastUpdatedAfter": LONG_AGO, "fulfillmentStatuses": "LOST"},
        {"lastUpdatedAfter": LONG_AGO, "fulfilledBy": "SELLER"},
        {"lastUpdatedAfter": LONG_AGO, "marketplaceIds": "A1F83G8C2ARO7P"},
        {"paginationToken": "not-a-token"},
    ],
)
def test_invalid_searches_answer_400(api: Api, params: dict[str, Any]) -> None:
    response = api.get(ORDERS_PATH, params)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["code"] == "InvalidInput"
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0056"


def test_included_data_decides_the_datasets(api: Api) -> None:
    bare = api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "maxResultsPerPage": 100}).json()["orders"]
    for order in bare:
        assert not {"buyer", "recipient", "proceeds", "fulfillment", "packages"} & set(order)
        for item in order["orderItems"]:
            assert set(item) == {"orderItemId", "quantityOrdered", "product"}
    some = api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "includedData": ["RECIPIENT", "FULFILLMENT"]}).json()
    for order in some["orders"]:
        assert {"recipient", "fulfillment"} <= set(order)
        assert "proceeds" not in order
        assert all("fulfillment" in item and "proceeds" not in item for item in order["orderItems"])


def test_marketplace_filter_accepts_repeated_and_comma_separated_ids(api: Api, world: World, seller: Seller) -> None:
    truth = _visible_truth(world, seller)
    north = {i for i, o in truth.items() if o["salesChannel"]["marketplaceId"] in (CA, MX)}
    assert north
    for value in ([CA, MX], f"{CA},{MX}"):
        got = sync_orders(api, {"lastUpdatedAfter": LONG_AGO, "marketplaceIds": value})
        assert set(got.orders) == north
    only_us = sync_orders(api, {"lastUpdatedAfter": LONG_AGO, "marketplaceIds": US})
    assert {o["salesChannel"]["marketplaceId"] for o in only_us.orders.values()} == {US}


def test_status_and_fulfilment_filters(api: Api, world: World, seller: Seller) -> None:
    world.generate_orders(
        seller.selling_partner_id, 30, start=START - timedelta(hours=2), end=START - timedelta(minutes=30)
    )
    truth = _visible_truth(world, seller)
    params = {"lastUpdatedAfter": LONG_AGO, "fulfillmentStatuses": "PENDING,UNSHIPPED", "includedData": "FULFILLMENT"}
    open_orders = sync_orders(api, params).orders
    assert open_orders
    assert set(open_orders) == {
        i for i, o in truth.items() if o["fulfillment"]["fulfillmentStatus"] in ("PENDING", "UNSHIPPED")
    }
    fba = sync_orders(api, {"lastUpdatedAfter": LONG_AGO, "fulfilledBy": "AMAZON", "includedData": "FULFILLMENT"})
    assert {o["fulfillment"]["fulfilledBy"] for o in fba.orders.values()} == {"AMAZON"}
    assert len(fba.orders) == sum(1 for o in truth.values() if o["fulfillment"]["fulfilledBy"] == "AMAZON")


def test_a_new_window_brings_new_and_updated_orders(api: Api, world: World, clock: ManualClock, seller: Seller) -> None:
    # given a client that synced everything up to now, with some orders still open
    world.generate_orders(
        seller.selling_partner_id, 20, start=START - timedelta(hours=1), end=START - timedelta(minutes=10)
    )
    first = sync_orders(api, {"lastUpdatedAfter": LONG_AGO, "includedData": "FULFILLMENT"})
    open_ids = {i for i, o in first.orders.items() if o["fulfillment"]["fulfillmentStatus"] in ("PENDING", "UNSHIPPED")}
    assert open_ids

    # when three days pass and it asks for what changed since the end of its last window
    clock.advance(timedelta(days=3))
    second = sync_orders(api, {"lastUpdatedAfter": first.window_end, "includedData": "FULFILLMENT"})

    # then it gets the new orders and the changed ones, and together they are the truth
    assert open_ids <= set(second.orders)
    assert set(second.orders) - set(first.orders)
    merged = {**first.orders, **second.orders}
    truth = _visible_truth(world, seller)
    assert set(merged) == set(truth)
    assert {i: o["fulfillment"] for i, o in merged.items()} == {i: o["fulfillment"] for i, o in truth.items()}


def test_get_order(api: Api, world: World, seller: Seller) -> None:
    order_id = world.seller_orders(seller.selling_partner_id)[0].order_id
    response = api.get(f"{ORDERS_PATH}/{order_id}", {"includedData": "PROCEEDS,BUYER"})
    assert response.status_code == 200
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.5"
    order = response.json()["order"]
    assert order["orderId"] == order_id
    assert "proceeds" in order
    assert "fulfillment" not in order


def test_get_order_of_another_seller_or_unknown_is_404(api: Api, world: World) -> None:
    other = world.add_seller("EU", ["UK"])
    foreign = world.seller_orders(other.selling_partner_id)[0].order_id
    for order_id in (foreign, "111-0000000-0000000"):
        response = api.get(f"{ORDERS_PATH}/{order_id}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "NotFound"


def test_headers_on_every_answer(api: Api) -> None:
    response = api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO})
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert len(response.headers["x-amzn-RequestId"]) == 36
    assert response.headers["content-type"].startswith("application/json")


def test_requests_are_recorded(api: Api) -> None:
    api.sim.clear_requests()
    api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "marketplaceIds": [US, CA]})
    recorded = [r for r in api.sim.requests if r.path == ORDERS_PATH]
    assert recorded[-1].method == "GET"
    assert recorded[-1].query["marketplaceIds"] == [US, CA]
    assert recorded[-1].headers["x-amz-access-token"] == api.access_token
    assert recorded[-1].status == 200


def test_usage_plan_throttles_bursts(world: World, seller: Seller) -> None:
    # at the published rate (scale 1) searchOrders allows a burst of 20, then 429 with Retry-After
    with SimulatorServer(world=world, rate_scale=1) as sim:
        api = Api(sim, seller.refresh_token)
        statuses = [api.get(ORDERS_PATH, {"createdAfter": iso(START - timedelta(hours=1))}) for _ in range(21)]
    assert [r.status_code for r in statuses[:20]] == [200] * 20
    throttled = statuses[20]
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 60
    assert throttled.json()["errors"][0]["code"] == "QuotaExceeded"


def test_orders_have_the_shape_of_amazons_examples(world: World) -> None:
    # given sellers in every region, with every dataset requested
    examples = vendor_bodies("orders-2026-01-01", "*Order*.200.*.json")
    shape = merge_shapes(
        [*[b for b in examples if "orders" in b], *[{"orders": [b["order"]]} for b in examples if "order" in b]]
    )
    order_shape = merge_shapes([{"order": b["order"]} for b in examples if "order" in b])
    with SimulatorServer(world=world) as sim:
        bodies = []
        for region, marketplaces in (
            ("NA", ["US", "CA", "MX"]),
            ("EU", ["UK", "DE", "FR", "IT", "ES"]),
            ("FE", ["JP", "AU"]),
        ):
            seller = world.add_seller(region, marketplaces)
            world.generate_orders(seller.selling_partner_id, 150)
            api = Api(sim, seller.refresh_token)
            bodies.extend(_pages(api, {"lastUpdatedAfter": LONG_AGO, "includedData": EVERYTHING}, 100))
            one = world.seller_orders(seller.selling_partner_id)[-1].order_id
            single = api.get(f"{ORDERS_PATH}/{one}", {"includedData": EVERYTHING}).json()
            assert shape_errors(single, order_shape) == []

    # then every key exists in Amazon's examples with the same JSON type
    errors = sorted({error for body in bodies for error in shape_errors(body, shape)})
    assert errors == []
    # and the variety is there: packages, promotions, points, cancellations, partial shipments
    orders = [o for body in bodies for o in body["orders"]]
    assert any("packages" in o for o in orders)
    assert any("promotion" in i for o in orders for i in o["orderItems"])
    assert any("expense" in i for o in orders for i in o["orderItems"])
    assert any("cancellation" in i for o in orders for i in o["orderItems"])
    assert any(len(o.get("packages", [])) == 2 for o in orders)  # shipped in two parts


def test_through_python_amazon_sp_api(sim: SimulatorServer, seller: Seller) -> None:
    sp_api = pytest.importorskip("sp_api")
    from sp_api.api import Orders
    from sp_api.auth import AccessTokenClient
    from sp_api.base import Marketplaces

    token_client = type("SimulatorAccessTokenClient", (AccessTokenClient,), {"scheme": "http://", "host": sim.url[7:]})
    client = Orders(
        Marketplaces.US,
        version="2026-01-01",
        refresh_token=seller.refresh_token,
        credentials={"lwa_app_id": sim.world.client_id, "lwa_client_secret": sim.world.client_secret},
        auth_token_client_class=token_client,
    )
    client.endpoint = sim.url
    first = client.search_orders(
        lastUpdatedAfter=LONG_AGO, marketplaceIds=[US, CA], includedData=["PROCEEDS"], maxResultsPerPage=10
    )
    assert len(first.payload["orders"]) == 10
    assert first.next_token  # the library moves `pagination` out of the payload
    second = client.search_orders(paginationToken=first.next_token, maxResultsPerPage=10)
    assert not {o["orderId"] for o in first.payload["orders"]} & {o["orderId"] for o in second.payload["orders"]}
    order = client.get_order(first.payload["orders"][0]["orderId"], includedData=["FULFILLMENT"])
    assert order.payload["order"]["fulfillment"]["fulfillmentStatus"]
    assert sp_api.__name__ == "sp_api"

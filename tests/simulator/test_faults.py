"""Fault profiles: what goes wrong, that it is reproducible, and that a careful client still gets the truth."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from simulator import FaultProfile, ManualClock, SimulatorServer, World
from simulator.model import Seller
from tests.simulator.conftest import START
from tests.simulator.support import DROPPED, ORDERS_PATH, Api, iso, sync_orders

LONG_AGO = iso(START - timedelta(days=90))
StartSim = Callable[..., SimulatorServer]


def _visible_ids(world: World, seller: Seller) -> set[str]:
    return {order["orderId"] for order in world.visible_orders_for(seller.selling_partner_id)}


def _statuses(api: Api, order_ids: list[str]) -> list[int]:
    return [api.get(f"{ORDERS_PATH}/{order_id}").status_code for order_id in order_ids]


def test_flaky_throttles_and_fails_some_calls(faulty_sim: StartSim, world: World, seller: Seller) -> None:
    # given the flaky profile
    sim = faulty_sim("flaky")
    api = Api(sim, seller.refresh_token)
    order_ids = [order.order_id for order in world.seller_orders(seller.selling_partner_id)][:200]

    # when a client makes a couple of hundred calls
    responses = [api.get(f"{ORDERS_PATH}/{order_id}") for order_id in order_ids]

    # then about 10 % are throttled with Retry-After: 1, about 5 % are unavailable and a few never answer
    counts = Counter(response.status_code for response in responses)
    assert {200, 429, 503} <= set(counts) <= {200, 429, 503, DROPPED}
    assert counts[DROPPED] <= 15
    assert 8 <= counts[429] <= 40
    assert 3 <= counts[503] <= 25
    throttled = next(response for response in responses if response.status_code == 429)
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json() == {
        "errors": [
            {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}
        ]
    }
    unavailable = next(response for response in responses if response.status_code == 503)
    assert unavailable.json()["errors"][0]["code"] == "ServiceUnavailable"
    assert all(response.headers["x-amzn-RequestId"] for response in responses if response.status_code != DROPPED)


def test_faults_are_reproducible_from_the_seed(world: World, seller: Seller) -> None:
    order_ids = [order.order_id for order in world.seller_orders(seller.selling_partner_id)][:60]
    runs = []
    for _ in range(2):
        profile = FaultProfile.named("flaky", slow_seconds=0, timeout_seconds=0)
        with SimulatorServer(seed=5, faults=profile, world=world) as sim:
            runs.append(_statuses(Api(sim, seller.refresh_token), order_ids))
    assert runs[0] == runs[1]
    assert set(runs[0]) != {200}


def test_a_request_never_fails_more_than_twice_in_a_row(faulty_sim: StartSim, seller: Seller) -> None:
    sim = faulty_sim("none", throttle_rate=1.0)
    api = Api(sim, seller.refresh_token)
    params = {"createdAfter": LONG_AGO}
    assert [api.get(ORDERS_PATH, params).status_code for _ in range(3)] == [429, 429, 200]


def test_faults_never_touch_lwa_or_the_consent_page(faulty_sim: StartSim, seller: Seller) -> None:
    sim = faulty_sim("hostile", throttle_rate=0.5, unavailable_rate=0.5)
    api = Api(sim, seller.refresh_token)
    answers = [api.lwa(grant_type="refresh_token", refresh_token=seller.refresh_token) for _ in range(20)]
    assert {answer.status_code for answer in answers} == {200}
    page = api.http.get(
        "/apps/authorize/consent",
        params={"application_id": sim.world.application_id, "state": "s", "redirect_uri": "https://x.example/cb"},
    )
    assert page.status_code == 200


def test_slow_responses(faulty_sim: StartSim, seller: Seller) -> None:
    sim = faulty_sim("none", slow_rate=1.0, slow_seconds=0.2)
    api = Api(sim, seller.refresh_token)
    api.access_token  # noqa: B018 - fetch the token first: LWA is never slowed down
    started = time.perf_counter()
    assert api.get(ORDERS_PATH, {"createdAfter": LONG_AGO}).status_code == 200
    assert time.perf_counter() - started >= 0.2


def test_a_retrying_client_gets_the_truth_from_flaky(faulty_sim: StartSim, world: World, seller: Seller) -> None:
    sim = faulty_sim("flaky")
    result = sync_orders(Api(sim, seller.refresh_token), {"lastUpdatedAfter": LONG_AGO}, page_size=20)
    assert result.retries > 0
    assert set(result.orders) == _visible_ids(world, seller)
    assert result.rejected == []


def test_hostile_pages_are_messy_but_the_truth_is_reachable(faulty_sim: StartSim, world: World, seller: Seller) -> None:
    # given the hostile profile and a seller with a fixed set of broken orders
    world.generate_orders(seller.selling_partner_id, 700)
    malformed = world.malformed_order_ids(seller.selling_partner_id)
    assert malformed
    sim = faulty_sim("hostile", random_token_expiry_rate=0.2)

    # when a careful client syncs everything, 25 per page
    result = sync_orders(Api(sim, seller.refresh_token), {"lastUpdatedAfter": LONG_AGO}, page_size=25)

    # then it holds every well-formed order, and only the known ones were broken
    visible = _visible_ids(world, seller)
    assert set(result.orders) == visible - malformed
    assert len(result.rejected) >= len(malformed & visible)
    broken_ids = {order["orderId"] for order in result.rejected if "orderId" in order}
    assert broken_ids <= malformed
    assert any("orderId" not in order for order in result.rejected)
    # pages repeated records, a token expired at random, and faults were retried
    assert result.deliveries > len(result.orders) + len(malformed & visible)
    assert result.restarts >= 1
    assert result.retries >= 1


def test_hostile_shuffles_records_within_a_page(faulty_sim: StartSim, seller: Seller) -> None:
    sim = faulty_sim("hostile", throttle_rate=0, unavailable_rate=0)
    api = Api(sim, seller.refresh_token)
    body = api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "maxResultsPerPage": 50}).json()
    keys = [(order["lastUpdatedTime"], order.get("orderId", "")) for order in body["orders"]]
    assert keys != sorted(keys)


def test_hostile_pagination_tokens_expire_after_thirty_seconds(
    faulty_sim: StartSim, clock: ManualClock, seller: Seller
) -> None:
    sim = faulty_sim("hostile", throttle_rate=0, unavailable_rate=0, random_token_expiry_rate=0)
    api = Api(sim, seller.refresh_token)
    first = api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "maxResultsPerPage": 10}).json()
    token = first["pagination"]["nextToken"]
    assert api.get(ORDERS_PATH, {"paginationToken": token}).status_code == 200

    clock.advance(timedelta(seconds=31))
    expired = api.get(ORDERS_PATH, {"paginationToken": token})

    assert expired.status_code == 400
    error = expired.json()["errors"][0]
    assert error["code"] == "InvalidInput"
    assert "paginationToken" in error["message"]


def test_tokens_without_faults_live_a_day(sim: SimulatorServer, clock: ManualClock, api: Api) -> None:
    first = api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "maxResultsPerPage": 10}).json()
    token = first["pagination"]["nextToken"]
    clock.advance(timedelta(hours=23))
    assert api.get(ORDERS_PATH, {"paginationToken": token}).status_code == 200
    clock.advance(timedelta(hours=2))
    assert api.get(ORDERS_PATH, {"paginationToken": token}).status_code == 400


def test_a_token_of_another_seller_is_refused(sim: SimulatorServer, api: Api, world: World) -> None:
    other = world.add_seller("NA", ["US"])
    token = api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "maxResultsPerPage": 1}).json()["pagination"][
        "nextToken"
    ]
    other_api = Api(sim, other.refresh_token)
    assert other_api.get(ORDERS_PATH, {"paginationToken": token}).status_code == 400
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert api.get(ORDERS_PATH, {"paginationToken": tampered}).status_code == 400


def test_get_order_serves_each_permanent_defect() -> None:
    # given a world where half the orders are broken, behind the hostile profile
    world = World(seed=5, clock=ManualClock(START), orders_per_day=2, malformed_rate=0.5)
    seller = world.add_seller("NA", ["US"])
    profile = FaultProfile.named("hostile", throttle_rate=0, unavailable_rate=0, slow_rate=0)
    with SimulatorServer(seed=5, faults=profile, world=world) as sim:
        api = Api(sim, seller.refresh_token)
        broken: dict[str, dict[str, Any]] = {}
        for order in world.seller_orders(seller.selling_partner_id):
            if order.malformed and order.malformed not in broken:
                path = f"{ORDERS_PATH}/{order.order_id}"
                broken[order.malformed] = api.get(path, {"includedData": "PROCEEDS"}).json()["order"]

    # then getOrder shows each kind of defect
    assert set(broken) == {"missing_order_id", "non_numeric_amount", "quantity_not_integer", "bad_created_time"}
    assert "orderId" not in broken["missing_order_id"]
    assert broken["non_numeric_amount"]["orderItems"][0]["product"]["price"]["unitPrice"]["amount"] == "N/A"
    assert broken["non_numeric_amount"]["proceeds"]["grandTotal"]["amount"] == "12,34.5"
    assert broken["quantity_not_integer"]["orderItems"][0]["quantityOrdered"] == "two"
    assert broken["bad_created_time"]["createdTime"] == "25/12/2024 10:30"


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown fault profile"):
        SimulatorServer(faults="chaotic")


def test_hostile_next_page_can_repeat_records_already_sent(faulty_sim: StartSim, seller: Seller) -> None:
    sim = faulty_sim("hostile", throttle_rate=0, unavailable_rate=0, duplicate_page_rate=1.0, shuffle_pages=False)
    api = Api(sim, seller.refresh_token)
    first = api.get(ORDERS_PATH, {"lastUpdatedAfter": LONG_AGO, "maxResultsPerPage": 10}).json()
    second = api.get(ORDERS_PATH, {"paginationToken": first["pagination"]["nextToken"], "maxResultsPerPage": 10}).json()
    first_keys = [(o["lastUpdatedTime"], o.get("orderId")) for o in first["orders"]]
    second_keys = [(o["lastUpdatedTime"], o.get("orderId")) for o in second["orders"]]
    repeated = [key for key in second_keys if key in first_keys]
    assert 1 <= len(repeated) <= 3
    assert second_keys[: len(repeated)] == first_keys[-len(repeated) :]
    assert len(second["orders"]) == 10  # still a full page, and it still moves forward
    assert second_keys[-1] > first_keys[-1]

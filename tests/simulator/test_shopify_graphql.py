"""The GraphQL Admin API through the real ShopifyAPI client: pagination, search, versions, tokens, cost,
throttling and the hostile profile's broken and repeated records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from urllib.error import HTTPError

import httpx
import pytest

from simulator import FaultProfile, SimulatorServer
from tests.simulator.shopify_support import SHOP, graphql, library_session, make_sim, sync_all


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    server = make_sim()
    server.shopify.add_shop(SHOP, currency="USD", presentment_currencies=["CAD", "EUR", "GBP"])
    yield server
    server.stop()


@pytest.fixture
def token(sim: SimulatorServer) -> str:
    return sim.shopify.issue_access_token(SHOP)


def test_shop_query_through_the_library(sim: SimulatorServer, token: str) -> None:
    # when the app asks for the shop through the real client library
    answer = graphql(
        sim, token, "{ shop { name myshopifyDomain currencyCode enabledPresentmentCurrencies ianaTimezone } }"
    )

    # then the shop and a cost extension come back
    assert answer["data"]["shop"] == {
        "name": "Acme Demo",
        "myshopifyDomain": SHOP,
        "currencyCode": "USD",
        "enabledPresentmentCurrencies": ["USD", "CAD", "EUR", "GBP"],
        "ianaTimezone": "America/New_York",
    }
    cost = answer["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 and cost["actualQueryCost"] == 1
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}


def test_paging_to_the_end_returns_every_order_once(sim: SimulatorServer, token: str) -> None:
    # given the truth
    truth = {order["id"]: order for order in sim.shopify.visible_orders(SHOP)}
    assert len(truth) > 300

    # when the client pages through every order sorted by updatedAt
    nodes, pages = sync_all(sim, token)

    # then it saw each order once, in updatedAt order, with the truth's statuses and totals
    assert pages > 10
    assert [node["id"] for node in nodes] == sorted(
        truth, key=lambda gid: (truth[gid]["updated_at"], truth[gid]["legacy_id"])
    )
    for node in nodes:
        expected = truth[node["id"]]
        assert node["updatedAt"] == expected["updated_at"]
        assert node["displayFinancialStatus"] == expected["financial_status"]
        assert node["displayFulfillmentStatus"] == expected["fulfillment_status"]
        assert Decimal(node["totalPriceSet"]["shopMoney"]["amount"]) == Decimal(expected["total_price"])
        assert [(line["sku"], line["quantity"]) for line in node["lineItems"]["nodes"]] == [
            (line["sku"], line["quantity"]) for line in expected["lines"]
        ][:5]
    assert {node["presentmentCurrencyCode"] for node in nodes} > {"USD"}


def test_updated_at_filter_returns_only_what_changed(sim: SimulatorServer, token: str) -> None:
    # given a full sync, then six hours pass
    nodes, _ = sync_all(sim, token)
    mark = max(node["updatedAt"] for node in nodes)
    sim.world.advance(timedelta(hours=6))

    # when the client asks for orders updated since its mark
    changed, _ = sync_all(sim, token, search=f"updated_at:>'{mark}'")

    # then it gets exactly the orders whose last change came later
    expected = {order["id"] for order in sim.shopify.visible_orders(SHOP) if order["updated_at"] > mark}
    assert expected
    assert {node["id"] for node in changed} == expected


def test_invalid_query_gets_a_validation_error(sim: SimulatorServer, token: str) -> None:
    answer = graphql(sim, token, "{ orders(first: 1) { nodes { id customerEmail } } }")
    assert "data" not in answer
    assert "customerEmail" in answer["errors"][0]["message"]


def test_bad_token_answers_401_like_shopify(sim: SimulatorServer, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(HTTPError) as raised:
        graphql(sim, "shpat_wrong", "{ shop { name } }")
    assert raised.value.code == 401
    # ShopifyAPI prints the error body before re-raising
    expected = '{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}'
    assert expected in capsys.readouterr().out


def test_versions(sim: SimulatorServer, token: str) -> None:
    url = f"{sim.url}/shopify/{SHOP}/admin/api/%s/graphql.json"
    headers = {"X-Shopify-Access-Token": token}
    body = {"query": "{ shop { name } }"}
    assert httpx.post(url % "2026-13", json=body, headers=headers).status_code == 404
    retired = httpx.post(url % "2024-10", json=body, headers=headers)
    assert retired.status_code == 200
    assert retired.headers["X-Shopify-API-Version"] == "2026-01"


def test_single_query_cost_limit(sim: SimulatorServer, token: str) -> None:
    query = "{ orders(first: 250) { nodes { lineItems(first: 10) { nodes { sku } } } } }"
    answer = graphql(sim, token, query)
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 2 + 250 * (1 + 2 + 10) and error["extensions"]["maxCost"] == 1000


def test_throttled_when_the_bucket_is_empty() -> None:
    # given Shopify's own bucket (rate_scale 1: 2000 points, 100 per second)
    sim = make_sim(rate_scale=1.0)
    try:
        sim.shopify.add_shop(SHOP)
        token = sim.shopify.issue_access_token(SHOP)
        query = "{ orders(first: 190) { nodes { id lineItems(first: 2) { nodes { sku } } } } }"

        # when the client spends faster than the bucket refills
        answers = [graphql(sim, token, query) for _ in range(4)]

        # then Shopify's THROTTLED error comes back with HTTP 200 and the cost extension
        throttled = [answer for answer in answers if "errors" in answer]
        assert throttled
        assert throttled[0]["errors"][0] == {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
        status = throttled[0]["extensions"]["cost"]["throttleStatus"]
        assert status["maximumAvailable"] == 2000.0 and status["restoreRate"] == 100.0
        assert status["currentlyAvailable"] < throttled[0]["extensions"]["cost"]["requestedQueryCost"]
        # and the actual cost of a short page is refunded
        first = answers[0]["extensions"]["cost"]
        assert (
            first["actualQueryCost"] < first["requestedQueryCost"] or len(answers[0]["data"]["orders"]["nodes"]) == 190
        )
    finally:
        sim.stop()


def test_hostile_profile_breaks_a_fixed_subset_and_repeats_records() -> None:
    profile = FaultProfile.named(
        "hostile",
        throttle_rate=0,
        unavailable_rate=0,
        reset_rate=0,
        timeout_rate=0,
        slow_rate=0,
        duplicate_page_rate=0.5,
    )
    sim = make_sim(faults=profile)
    try:
        sim.shopify.add_shop(SHOP, malformed_rate=0.05)
        token = sim.shopify.issue_access_token(SHOP)
        nodes, _ = sync_all(sim, token, first=20)
        ids = [node["id"] for node in nodes]
        broken = {node["id"] for node in nodes if not _decimal(node["totalPriceSet"]["shopMoney"]["amount"])}
        assert len(ids) > len(set(ids))  # records repeated across pages
        assert set(ids) == {order["id"] for order in sim.shopify.visible_orders(SHOP)}
        malformed = sim.shopify.malformed_order_ids(SHOP)
        assert broken and broken <= malformed
    finally:
        sim.stop()


def _decimal(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return bool(text)


def test_revoked_token_stops_working(sim: SimulatorServer, token: str) -> None:
    assert "data" in graphql(sim, token, "{ shop { name } }")
    sim.shopify.revoke(SHOP)
    with pytest.raises(HTTPError) as raised, library_session(sim, token):
        import shopify

        shopify.GraphQL().execute("{ shop { name } }")
    assert raised.value.code == 401

"""Helpers for the Shopify simulator tests: a running simulator with one shop, and GraphQL calls made
through the real client library (ShopifyAPI's `shopify.GraphQL`) pointed at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import shopify

from simulator import FaultProfile, ManualClock, SimulatorServer, World

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SHOP = "acme-demo.myshopify.com"
VERSION = "2026-10"


def make_sim(seed: int = 5, faults: str | FaultProfile = "none", **server: Any) -> SimulatorServer:
    world = World(seed=seed, clock=ManualClock(START), orders_per_day=8, live_orders_per_hour=4)
    return SimulatorServer(seed=seed, world=world, faults=faults, **server).start()


@contextmanager
def library_session(sim: SimulatorServer, token: str, shop: str = SHOP, version: str = VERSION) -> Iterator[None]:
    """Activate a ShopifyAPI session whose site is the simulator's /shopify/{shop} prefix."""
    session = shopify.Session(shop, version, token)
    session.url = f"127.0.0.1:{sim.port}/shopify/{shop}"
    session.protocol = "http"
    shopify.ShopifyResource.activate_session(session)
    try:
        yield
    finally:
        shopify.ShopifyResource.clear_session()


def graphql(
    sim: SimulatorServer, token: str, query: str, variables: dict[str, Any] | None = None, shop: str = SHOP
) -> dict[str, Any]:
    """One GraphQL call through the real library; the parsed JSON answer."""
    with library_session(sim, token, shop):
        raw = shopify.GraphQL().execute(query, variables=variables)
    return json.loads(raw)


ORDERS_QUERY = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id name updatedAt displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode
      totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
      lineItems(first: 5) { nodes { id sku quantity currentQuantity } }
    } }
  }
}
"""


def sync_all(
    sim: SimulatorServer, token: str, search: str | None = None, first: int = 25
) -> tuple[list[dict[str, Any]], int]:
    """Page through every order like a client (retrying THROTTLED); (nodes in page order, page count)."""
    nodes: list[dict[str, Any]] = []
    after = None
    pages = 0
    for _ in range(500):
        answer = graphql(sim, token, ORDERS_QUERY, {"first": first, "after": after, "query": search})
        if "errors" in answer:
            assert answer["errors"][0]["extensions"]["code"] == "THROTTLED", answer["errors"]
            continue
        connection = answer["data"]["orders"]
        pages += 1
        nodes.extend(edge["node"] for edge in connection["edges"])
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes, pages
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError("pagination did not end")

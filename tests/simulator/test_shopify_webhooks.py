"""Webhooks: subscriptions made through GraphQL, signed deliveries of REST JSON as time passes, retries,
duplicates with the same event id, late and dropped deliveries, uninstall and compliance topics."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from simulator import FaultProfile, SimulatorServer
from simulator.shopify import DEFAULT_CLIENT_SECRET
from tests.simulator.shopify_support import SHOP, graphql, make_sim

HOOK = "https://acorn.example/webhooks/shopify"
SUBSCRIBE = """mutation S($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri } userErrors { field message } } }"""


class Receiver:
    """Stands in for ACORN's webhook view: checks the HMAC, answers with a chosen status."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int:
        self.received.append((headers, body))
        return self.statuses.pop(0) if self.statuses else 200


def _subscribe(sim: SimulatorServer, token: str, *topics: str) -> None:
    for topic in topics:
        payload = graphql(sim, token, SUBSCRIBE, {"topic": topic, "uri": HOOK})["data"]["webhookSubscriptionCreate"]
        assert payload["userErrors"] == [], payload


def _setup(faults: str | FaultProfile = "none") -> tuple[SimulatorServer, str, Receiver]:
    sim = make_sim(seed=4, faults=faults)
    sim.shopify.add_shop(SHOP, currency="EUR", presentment_currencies=["GBP", "CHF"])
    token = sim.shopify.issue_access_token(SHOP)
    receiver = Receiver()
    sim.shopify.set_deliver(receiver)
    return sim, token, receiver


@pytest.fixture
def setup() -> Iterator[tuple[SimulatorServer, str, Receiver]]:
    sim, token, receiver = _setup()
    yield sim, token, receiver
    sim.stop()


def test_order_webhooks_are_signed_rest_json(setup: tuple[SimulatorServer, str, Receiver]) -> None:
    sim, token, receiver = setup
    _subscribe(sim, token, "ORDERS_CREATE", "ORDERS_UPDATED", "REFUNDS_CREATE")
    assert graphql(sim, token, "{ webhookSubscriptions(first: 5) { nodes { topic } } }")["data"][
        "webhookSubscriptions"
    ]["nodes"] == [{"topic": "ORDERS_CREATE"}, {"topic": "ORDERS_UPDATED"}, {"topic": "REFUNDS_CREATE"}]

    sim.world.advance(timedelta(hours=12))
    records = sim.shopify.deliver_pending()

    assert records and all(record.ok for record in records)
    topics = {headers["X-Shopify-Topic"] for headers, _ in receiver.received}
    assert {"orders/create", "orders/updated"} <= topics
    for headers, body in receiver.received:
        digest = base64.b64encode(hmac.new(DEFAULT_CLIENT_SECRET.encode(), body, hashlib.sha256).digest()).decode()
        assert hmac.compare_digest(headers["X-Shopify-Hmac-Sha256"], digest)
        assert headers["X-Shopify-Shop-Domain"] == SHOP and headers["X-Shopify-API-Version"] == "2026-10"
        assert headers["X-Shopify-Event-Id"] and headers["X-Shopify-Webhook-Id"] and headers["X-Shopify-Triggered-At"]
        payload = json.loads(body)
        if headers["X-Shopify-Topic"].startswith("orders/"):
            assert payload["admin_graphql_api_id"] == f"gid://shopify/Order/{payload['id']}"
            assert payload["currency"] == "EUR" and payload["line_items"]
    updated = [
        json.loads(body) for headers, body in receiver.received if headers["X-Shopify-Topic"] == "orders/updated"
    ]
    truth = {order["legacy_id"]: order for order in sim.shopify.visible_orders(SHOP)}
    assert all(payload["id"] in truth for payload in updated)


def test_failed_deliveries_are_retried(setup: tuple[SimulatorServer, str, Receiver]) -> None:
    sim, token, receiver = setup
    _subscribe(sim, token, "ORDERS_CREATE")
    sim.world.advance(timedelta(hours=3))
    receiver.statuses = [500, 503]
    first = sim.shopify.deliver_pending()
    assert [record.status for record in first[:2]] == [500, 503]
    sim.world.advance(timedelta(minutes=1))
    retried = sim.shopify.deliver_pending()
    assert {record.webhook_id for record in retried} >= {record.webhook_id for record in first[:2]}
    assert all(record.ok for record in retried)
    assert [record.attempt for record in retried if record.webhook_id == first[0].webhook_id] == [2]


def test_duplicates_share_the_event_id_and_late_ones_come_last() -> None:
    profile = FaultProfile.named("none", webhook_duplicate_rate=0.5, webhook_late_rate=0.3, webhook_drop_rate=0.1)
    sim, token, receiver = _setup(profile)
    try:
        _subscribe(sim, token, "ORDERS_UPDATED")
        sim.world.advance(timedelta(hours=24))
        records = sim.shopify.deliver_pending()
        events = [headers["X-Shopify-Event-Id"] for headers, _ in receiver.received]
        assert len(events) > len(set(events))  # some events came twice
        duplicate = next(record for record in records if record.duplicate)
        twins = [record for record in records if record.event_id == duplicate.event_id]
        assert len({record.webhook_id for record in twins}) == 2
        lates = [index for index, record in enumerate(records) if record.late]
        assert lates and min(lates) > max(index for index, record in enumerate(records) if not record.late)
        assert any(record.dropped for record in sim.shopify.webhook_log)
    finally:
        sim.stop()


def test_uninstall_and_compliance_webhooks(setup: tuple[SimulatorServer, str, Receiver]) -> None:
    sim, token, receiver = setup
    _subscribe(sim, token, "APP_UNINSTALLED")
    sim.shopify.send_compliance(SHOP, "customers/redact", url="https://acorn.example/webhooks/shopify/compliance")
    sim.shopify.revoke(SHOP)
    sim.shopify.deliver_pending()
    topics = [headers["X-Shopify-Topic"] for headers, _ in receiver.received]
    assert topics == ["customers/redact", "app/uninstalled"]
    redact = json.loads(receiver.received[0][1])
    assert redact["shop_domain"] == SHOP and "orders_to_redact" in redact
    assert json.loads(receiver.received[1][1])["myshopify_domain"] == SHOP
    with pytest.raises(ValueError):
        sim.shopify.send_compliance(SHOP, "orders/create", url=HOOK)


def test_http_callback_must_be_https_unless_local(setup: tuple[SimulatorServer, str, Receiver]) -> None:
    sim, token, _ = setup
    answer = graphql(sim, token, SUBSCRIBE, {"topic": "ORDERS_CREATE", "uri": "http://acorn.example/hook"})
    assert (
        answer["data"]["webhookSubscriptionCreate"]["userErrors"][0]["message"]
        == "Address protocol http:// is not supported"
    )
    local = graphql(sim, token, SUBSCRIBE, {"topic": "ORDERS_CREATE", "uri": "http://127.0.0.1:9/hook"})
    assert local["data"]["webhookSubscriptionCreate"]["userErrors"] == []

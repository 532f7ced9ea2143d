"""Webhooks as WooCommerce sends them: the unsigned ping on creation, signed JSON deliveries with the
X-WC-Webhook-* headers, the webhook disabled after more than five failures in a row, and the fault
profile's duplicate, late and dropped deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from simulator import FaultProfile, ManualClock, SimulatorServer, World
from simulator.woocommerce.site import WooSite
from tests.simulator.woo_support import SLUG, Receiver, client

HOOK_URL = "https://acorn.example/hooks/woocommerce/42"
SECRET = "s3cr3t &amp; more"  # WooCommerce decodes HTML entities in the secret before signing


@pytest.fixture
def receiver(sim: SimulatorServer) -> Receiver:
    receiver = Receiver()
    sim.woo.deliver = receiver
    return receiver


@pytest.fixture
def shop(sim: SimulatorServer) -> WooSite:
    return sim.woo.add_site(SLUG, orders_per_day=4, live_orders_per_hour=6)


def _create(sim: SimulatorServer, topic: str = "order.updated", slug: str = SLUG, **extra: str) -> dict:
    body = {"name": "ACORN", "topic": topic, "delivery_url": HOOK_URL, **extra}
    response = client(sim, slug).post("webhooks", body)
    assert response.status_code == 201, response.text
    return response.json()


def _processing_order(sim: SimulatorServer) -> int:
    return next(order["id"] for order in sim.woo.visible_orders(SLUG) if order["status"] == "processing")


def test_creating_a_webhook_pings_it_unsigned(sim: SimulatorServer, shop: WooSite, receiver: Receiver) -> None:
    # given a receiver that refuses the ping
    receiver.answers = [500]

    # when the client creates a webhook
    webhook = _create(sim, secret=SECRET)

    # then the webhook exists all the same, and the ping was a form post without signature
    assert webhook["status"] == "active"
    assert webhook["topic"] == "order.updated"
    assert webhook["resource"] == "order"
    assert webhook["event"] == "updated"
    assert "secret" not in webhook
    url, headers, body = receiver.received[0]
    assert url == HOOK_URL
    assert body == f"webhook_id={webhook['id']}".encode()
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["User-Agent"].startswith("WooCommerce/9.")
    assert "X-WC-Webhook-Signature" not in headers
    log = sim.woo.webhook_log
    assert log[0].ping and log[0].status == 500 and not log[0].ok
    assert [hook["id"] for hook in client(sim).get("webhooks").json()] == [webhook["id"]]


def test_order_changes_are_delivered_signed(
    sim: SimulatorServer, shop: WooSite, receiver: Receiver, clock: ManualClock
) -> None:
    # given an order.updated webhook
    webhook = _create(sim, secret=SECRET)
    order_id = _processing_order(sim)

    # when the client completes an order and the simulator delivers
    client(sim).put(f"orders/{order_id}", {"status": "completed"})
    sent = sim.woo.deliver_pending()

    # then one signed delivery of the order's JSON went out with WooCommerce's headers
    mine = [delivery for delivery in sent if delivery.resource_id == order_id]
    assert len(mine) == 1
    _url, headers, body = receiver.received[-1]
    expected = base64.b64encode(hmac.new(b"s3cr3t & more", body, hashlib.sha256).digest()).decode()
    assert headers["X-WC-Webhook-Signature"] == expected
    assert headers["X-WC-Webhook-Topic"] == "order.updated"
    assert headers["X-WC-Webhook-Resource"] == "order"
    assert headers["X-WC-Webhook-Event"] == "updated"
    assert headers["X-WC-Webhook-ID"] == str(webhook["id"])
    assert headers["X-WC-Webhook-Source"] == f"{sim.woo.site_url(SLUG)}/"
    assert len(headers["X-WC-Webhook-Delivery-ID"]) == 32
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["id"] == order_id
    assert payload["status"] == "completed"
    assert b"\\/" in body or b"/" not in body  # PHP's json_encode escapes slashes


def test_orders_created_as_the_clock_moves_are_delivered(
    sim: SimulatorServer, shop: WooSite, receiver: Receiver, clock: ManualClock
) -> None:
    _create(sim, topic="order.created")
    before = {order["id"] for order in sim.woo.visible_orders(SLUG)}

    clock.advance(timedelta(hours=3))
    sim.woo.deliver_pending()

    new = {order["id"] for order in sim.woo.visible_orders(SLUG)} - before
    delivered = {payload["id"] for payload in receiver.json_bodies()}
    assert new
    assert delivered == new
    assert {headers["X-WC-Webhook-Topic"] for _, headers, _ in receiver.received[1:]} == {"order.created"}


def test_more_than_five_failures_in_a_row_disable_the_webhook(
    sim: SimulatorServer, shop: WooSite, receiver: Receiver
) -> None:
    # given a webhook whose endpoint keeps failing after the ping
    webhook = _create(sim)
    receiver.default = 503
    api = client(sim)
    orders = [order["id"] for order in sim.woo.visible_orders(SLUG)][:8]

    # when eight orders change, one delivery round each
    for order_id in orders:
        api.put(f"orders/{order_id}", {"meta_data": [{"key": "_acorn_sync", "value": str(order_id)}]})
        sim.woo.deliver_pending()

    # then the seventh failure disabled it, and nothing more was sent
    attempts = [delivery for delivery in sim.woo.webhook_log if not delivery.ping]
    assert len(attempts) == 7
    assert api.get(f"webhooks/{webhook['id']}").json()["status"] == "disabled"


def test_a_success_resets_the_failure_count(sim: SimulatorServer, shop: WooSite, receiver: Receiver) -> None:
    webhook = _create(sim)
    receiver.answers = [200, 500, 500, 500, 500, 500, 302, 500, 500]
    api = client(sim)

    for order_id in [order["id"] for order in sim.woo.visible_orders(SLUG)][:9]:
        api.put(f"orders/{order_id}", {"meta_data": [{"key": "_acorn_sync", "value": "1"}]})
        sim.woo.deliver_pending()

    assert api.get(f"webhooks/{webhook['id']}").json()["status"] == "active"


def test_paused_and_deleted_webhooks_deliver_nothing(sim: SimulatorServer, shop: WooSite, receiver: Receiver) -> None:
    api = client(sim)
    webhook = _create(sim)
    order_id = _processing_order(sim)

    paused = api.put(f"webhooks/{webhook['id']}", {"status": "paused"}).json()
    api.put(f"orders/{order_id}", {"status": "completed"})
    sim.woo.deliver_pending()
    not_forced = api.delete(f"webhooks/{webhook['id']}")
    deleted = api.delete(f"webhooks/{webhook['id']}", params={"force": "true"})

    assert paused["status"] == "paused"
    assert receiver.json_bodies() == []
    assert not_forced.status_code == 501
    assert deleted.status_code == 200
    assert api.get("webhooks").json() == []


def test_invalid_topics_and_urls_are_refused(sim: SimulatorServer, shop: WooSite) -> None:
    api = client(sim)

    topic = api.post("webhooks", {"topic": "order.shipped", "delivery_url": HOOK_URL})
    url = api.post("webhooks", {"topic": "order.updated", "delivery_url": "ftp://acorn.example/"})

    assert topic.status_code == 400
    assert topic.json()["code"] == "woocommerce_rest_shop_webhook_invalid_topic"
    assert url.status_code == 400
    assert url.json()["code"] == "woocommerce_rest_shop_webhook_invalid_delivery_url"


def _faulty(world: World, **rates: float) -> SimulatorServer:
    return SimulatorServer(seed=5, world=world, faults=FaultProfile.named("none", **rates)).start()


def test_duplicates_repeat_the_delivery_id(world: World) -> None:
    sim = _faulty(world, webhook_duplicate_rate=1.0)
    try:
        sim.woo.add_site(SLUG, orders_per_day=2)
        sim.woo.deliver = receiver = Receiver()
        _create(sim)
        client(sim).put(f"orders/{_processing_order(sim)}", {"status": "completed"})

        sim.woo.deliver_pending()

        deliveries = [headers["X-WC-Webhook-Delivery-ID"] for _, headers, _ in receiver.received[1:]]
        assert len(deliveries) == 2
        assert deliveries[0] == deliveries[1]
        assert [delivery.duplicate for delivery in sim.woo.webhook_log[1:]] == [False, True]
    finally:
        sim.stop()


def test_late_deliveries_wait_and_dropped_ones_never_come(world: World, clock: ManualClock) -> None:
    late = _faulty(world, webhook_late_rate=1.0)
    try:
        late.woo.add_site(SLUG, orders_per_day=2)
        late.woo.deliver = receiver = Receiver()
        _create(late)
        client(late).put(f"orders/{_processing_order(late)}", {"status": "completed"})

        assert late.woo.deliver_pending() == []
        clock.advance(timedelta(minutes=16))
        assert [delivery.late for delivery in late.woo.deliver_pending()][:1] == [True]
        assert len(receiver.received) >= 2
    finally:
        late.stop()

    dropped = _faulty(world, webhook_drop_rate=1.0)
    try:
        dropped.woo.add_site("other-shop", orders_per_day=2)
        dropped.woo.deliver = receiver = Receiver()
        _create(dropped, slug="other-shop")
        order_id = next(o["id"] for o in dropped.woo.visible_orders("other-shop") if o["status"] == "completed")
        client(dropped, "other-shop").put(f"orders/{order_id}", {"meta_data": [{"key": "x", "value": "y"}]})

        sent = dropped.woo.deliver_pending()

        assert [delivery.dropped for delivery in sent] == [True]
        assert len(receiver.received) == 1  # the ping only
    finally:
        dropped.stop()


def test_product_updates_and_trashed_orders_are_delivered(
    sim: SimulatorServer, shop: WooSite, receiver: Receiver, clock: ManualClock
) -> None:
    # given webhooks for product updates and deleted orders
    _create(sim, topic="product.updated")
    _create(sim, topic="order.deleted")
    product = next(p for p in shop.products.values() if p.type == "simple" and p.manage_stock)

    # when the client sets a stock level, and then a month passes (failed orders get binned)
    client(sim).put(f"products/{product.id}", {"stock_quantity": 11})
    sim.woo.deliver_pending()
    clock.advance(timedelta(days=30))
    sim.woo.deliver_pending()

    # then the product came with its new stock, and each binned order as just its id
    by_topic: dict[str, list[dict]] = {}
    for _, headers, body in receiver.received:
        if "X-WC-Webhook-Topic" in headers:
            by_topic.setdefault(headers["X-WC-Webhook-Topic"], []).append(json.loads(body))
    assert [(payload["id"], payload["stock_quantity"]) for payload in by_topic["product.updated"]] == [(product.id, 11)]
    trashed = {payload["id"] for payload in by_topic["order.deleted"]}
    assert trashed
    assert all(set(payload) == {"id"} for payload in by_topic["order.deleted"])
    assert not trashed & {order["id"] for order in sim.woo.visible_orders(SLUG)}
    assert {client(sim).get(f"orders/{order_id}").json()["status"] for order_id in trashed} == {"trash"}

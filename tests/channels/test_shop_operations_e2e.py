"""The independent shops' write side against the simulator: stock read and pushed (Shopify compare-and-set),
fulfilments with tracking, refunds executed once per idempotency key and read back."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ChannelStock, RefundRequest
from channels.adapters.shopify import ShopifyAdapter
from channels.adapters.woocommerce import WooCommerceAdapter
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels import test_shopify_e2e as shop_e2e
from tests.channels import test_woocommerce_e2e as woo_e2e
from tests.channels.test_amazon_e2e import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(settings: Any) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=9, world=World(seed=9, clock=ManualClock(NOW))) as server:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(server.tls_cert_path)
        server.shopify.add_shop(shop_e2e.SHOP, currency="EUR", orders_per_day=6, history_days=20)
        server.woo.add_site(woo_e2e.SLUG, currency="EUR", orders_per_day=6, history_days=20)
        yield server


def _all_stock(adapter: Any) -> list[ChannelStock]:
    items: list[ChannelStock] = []
    token = None
    while True:
        page = adapter.fetch_stock(page_token=token)
        items.extend(page.items)
        token = page.next_token
        if not token:
            return items


def test_shopify_stock_read_and_compare_and_set(tenant: Tenant, sim: SimulatorServer) -> None:
    store = shop_e2e._connect(tenant, sim)
    with tenant_scope(tenant):
        adapter = ShopifyAdapter(store=store, secrets=store.credential.secrets)
    stock = _all_stock(adapter)
    truth = {
        (row["inventory_item_id"], row["location_id"]): row["available"] for row in sim.shopify.inventory(shop_e2e.SHOP)
    }
    assert {(s.inventory_item_id, s.location_id): s.available for s in stock} == truth
    level = next(s for s in stock if s.available is not None)
    assert level.available is not None
    pushed = adapter.set_available(
        inventory_item_id=level.inventory_item_id,
        location_id=level.location_id,
        quantity=level.available + 5,
        expected=level.available,
        key="push-1",
    )
    assert pushed.applied
    # someone changed it in Shopify meanwhile: a push that expects the old number is refused, nothing changes
    stale = adapter.set_available(
        inventory_item_id=level.inventory_item_id,
        location_id=level.location_id,
        quantity=1,
        expected=level.available,
        key="push-2",
    )
    assert stale.conflict and not stale.applied
    now = {
        (row["inventory_item_id"], row["location_id"]): row["available"] for row in sim.shopify.inventory(shop_e2e.SHOP)
    }
    assert now[(level.inventory_item_id, level.location_id)] == level.available + 5
    # a retry of the first push (same key) is a replay, not a second change
    again = adapter.set_available(
        inventory_item_id=level.inventory_item_id,
        location_id=level.location_id,
        quantity=level.available + 5,
        expected=level.available,
        key="push-1",
    )
    assert again.applied and len(sim.shopify.inventory_changes(shop_e2e.SHOP)) == 1


def test_shopify_fulfilment_and_refund_once(tenant: Tenant, sim: SimulatorServer) -> None:
    store = shop_e2e._connect(tenant, sim)
    with tenant_scope(tenant):
        adapter = ShopifyAdapter(store=store, secrets=store.credential.secrets)
    orders = sim.shopify.visible_orders(shop_e2e.SHOP)
    waiting = next(o for o in orders if o["financial_status"] == "PAID" and o["fulfillment_status"] == "UNFULFILLED")
    fulfilment = adapter.create_fulfillment(
        order_id=str(waiting["legacy_id"]), tracking_number="YT2611270001", carrier="YunExpress"
    )
    made = [f for f in sim.shopify.fulfillments(shop_e2e.SHOP) if f["id"] == fulfilment]
    assert made and made[0]["tracking"]["number"] == "YT2611270001"

    line = waiting["lines"][0]
    request = RefundRequest(
        order_id=str(waiting["legacy_id"]),
        adjustment_id="acorn-refund-1",
        currency=waiting["presentment_currency"],
        reason="Damaged in transit",
        items=((line["id"].rsplit("/", 1)[-1], 1, (("principal", Decimal(line["unit_price"])),)),),
    )
    before = len(sim.shopify.refunds(shop_e2e.SHOP))
    result = adapter.create_refund(request)
    assert result.amount == Decimal(line["unit_price"])
    adapter.create_refund(request)  # a retry after a lost answer
    assert len(sim.shopify.refunds(shop_e2e.SHOP)) == before + 1
    read_back = adapter.fetch_order_refunds(str(waiting["legacy_id"]))
    assert any(r.external_id == result.external_id for r in read_back)


def test_woocommerce_stock_refund_once_and_completion(tenant: Tenant, sim: SimulatorServer) -> None:
    store = woo_e2e._connect(tenant, sim)
    with tenant_scope(tenant):
        adapter = WooCommerceAdapter(store=store, secrets=store.credential.secrets)
    stock = _all_stock(adapter)
    tracked = {s.sku: s.available for s in stock if s.available is not None and s.sku}
    assert tracked and tracked.items() <= sim.woo.stock(woo_e2e.SLUG).items() | tracked.items()
    for sku, quantity in sim.woo.stock(woo_e2e.SLUG).items():
        assert tracked.get(sku) == quantity
    item = next(s for s in stock if s.available is not None and s.sku)
    assert adapter.set_stock(channel_product_id=item.channel_product_id, quantity=42).applied
    assert sim.woo.stock(woo_e2e.SLUG)[item.sku] == 42

    order = next(o for o in sim.woo.visible_orders(woo_e2e.SLUG) if o["status"] == "processing")
    raw_order, _ = adapter.request("GET", f"orders/{order['id']}")
    line = raw_order["line_items"][0]
    request = RefundRequest(
        order_id=str(order["id"]),
        adjustment_id="acorn-refund-2",
        currency=order["currency"],
        reason="Wrong size",
        items=((str(line["id"]), 1, (("principal", Decimal("5.00")),)),),
    )
    first = adapter.create_refund(request, api_refund=False)
    second = adapter.create_refund(request, api_refund=False)
    assert not first.replayed and second.replayed and second.external_id == first.external_id
    refunds = adapter.fetch_order_refunds(str(order["id"]))
    assert [r.external_id for r in refunds] == [first.external_id]
    assert refunds[0].total_amount == Decimal("-5.00")

    adapter.complete_order(order_id=str(order["id"]), tracking_number="JJD0001", carrier="DHL")
    after = next(o for o in sim.woo.visible_orders(woo_e2e.SLUG) if o["id"] == order["id"])
    assert after["status"] == "completed"
    assert any("JJD0001" in note["note"] for note in sim.woo.notes(woo_e2e.SLUG, order["id"]))

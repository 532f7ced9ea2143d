"""Shipment confirmation end to end: orders synced from the simulator over real HTTP with the real client
libraries, shipments recorded the way staff record them, and the queued tasks confirming them back —
a Shopify fulfilment with the tracking, a completed WooCommerce order with a tracking note, Amazon MFN
shipments in one confirmation feed settled by its processing report. Stock moves reserved → shipped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory import services as stock
from inventory.allocation import line_ref, mapping_reresolve
from inventory.catalogue import product_save, warehouse_save
from inventory.models import AllocationState, LineAllocation, Product, StockLevel
from orders.models import ConfirmationState, Order, OrderLine, Shipment
from orders.shipments import shipment_record
from orders.tasks import confirm_shipment_task, poll_shipment_feeds_task, submit_shipment_feed_task
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels import test_amazon_e2e as amazon_e2e
from tests.channels import test_shopify_e2e as shop_e2e
from tests.channels import test_woocommerce_e2e as woo_e2e
from tests.channels.test_amazon_e2e import NOW, _sync_until_done
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000  # the simulator's pace, not the vendors'
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()


@pytest.fixture
def sim(settings: Any) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=21, world=World(seed=21, clock=ManualClock(NOW))) as server:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(server.tls_cert_path)
        server.shopify.add_shop(shop_e2e.SHOP, currency="EUR", orders_per_day=6, history_days=20)
        server.woo.add_site(woo_e2e.SLUG, currency="EUR", orders_per_day=6, history_days=20)
        yield server


def _open_order(store: Store) -> Order:
    """A paid, unshipped order of the store whose every line has a SKU."""
    for order in Order.objects.filter(store=store, status="paid_unshipped").order_by("purchased_at", "pk"):
        lines = list(order.lines.all())
        if lines and all(line.sku and line.quantity for line in lines):
            return order
    raise AssertionError("the simulated store has no open order")


def _stock_for(order: Order, store: Store) -> list[Product]:
    """Master products for the order's SKUs with stock, and its lines reserved."""
    tenant = store.tenant
    warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own")
    products = []
    for sku in sorted({line.sku for line in order.lines.all()}):
        product = product_save(tenant=tenant, sku=sku, name=sku)
        stock.stock_receive(product=product, warehouse=warehouse, quantity=50, reference="PO-1")
        products.append(product)
    mapping_reresolve(store=store)
    for line in order.lines.all():
        assert LineAllocation.objects.get(line_ref=line_ref(line)).state == AllocationState.RESERVED
    return products


def _levels(products: list[Product]) -> dict[str, tuple[int, int]]:
    return {
        level.product.sku: (level.on_hand, level.reserved)
        for level in StockLevel.objects.filter(product__in=products).select_related("product")
    }


def test_a_manual_shipment_on_a_shopify_order_becomes_a_fulfilment_with_its_tracking(
    tenant: Tenant,
    owner_client: Client,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    # given: the shop's orders synced, and stock reserved for an open order
    store = shop_e2e._connect(tenant, sim)
    _sync_until_done(store)
    with tenant_scope(tenant):
        order = _open_order(store)
        products = _stock_for(order, store)
        before = _levels(products)
        units = {line.sku: 0 for line in order.lines.all()}
        for line in order.lines.all():
            units[line.sku] += line.quantity
        form = {f"line_{line.pk}": str(line.quantity) for line in order.lines.all()}

    # when: staff record the parcel on the order's shipment page (shipped minutes ago, in UTC as the form
    # says), and the queued task runs
    shipped_at = f"{timezone.now() - timedelta(minutes=5):%Y-%m-%dT%H:%M}"
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            f"/app/orders/{order.pk}/shipments/new/",
            {"carrier": "YunExpress", "tracking_number": "YT2611270042", "shipped_at": shipped_at, **form},
        )
    assert response.status_code == 302
    assert [task.name for task, _ in enqueued] == ["orders.confirm_shipment"]
    assert enqueued.run_all() == ["confirmed"]

    # then: Shopify has the fulfilment with the tracking number, once, even if the task runs again
    made = [f for f in sim.shopify.fulfillments(shop_e2e.SHOP) if f["tracking"]["number"] == "YT2611270042"]
    assert len(made) == 1 and made[0]["order_id"] == f"gid://shopify/Order/{order.external_id}"
    assert made[0]["tracking"]["company"] == "YunExpress"
    with tenant_scope(tenant):
        shipment = Shipment.objects.get(order=order)
        assert f"{shipment.shipped_at:%Y-%m-%dT%H:%M}" == shipped_at
        assert confirm_shipment_task(tenant_id=tenant.pk, shipment_id=shipment.pk) == "not_due"
        shipment.refresh_from_db()
        assert shipment.confirmation == ConfirmationState.CONFIRMED
        assert shipment.confirmation_reference == made[0]["id"]
        # stock left the warehouse: reserved → shipped, and the ledger sums to the levels
        after = _levels(products)
        for sku, (on_hand, reserved) in before.items():
            assert after[sku] == (on_hand - units[sku], reserved - units[sku])
        assert stock.levels_match_ledger(tenant_id=tenant.pk) == []
    assert len([f for f in sim.shopify.fulfillments(shop_e2e.SHOP) if f["tracking"]["number"] == "YT2611270042"]) == 1


def test_a_woocommerce_order_ends_completed_with_a_tracking_note(
    tenant: Tenant, sim: SimulatorServer, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    store = woo_e2e._connect(tenant, sim)
    _sync_until_done(store)
    with tenant_scope(tenant):
        order = _open_order(store)
        with django_capture_on_commit_callbacks(execute=True):
            shipment, created = shipment_record(
                order=order,
                carrier="DHL",
                tracking_number="JJD000390007",
                shipped_at=NOW - timedelta(hours=2),
                source="manual",
            )
    assert created and enqueued.run_all() == ["confirmed"]
    woo_order = next(o for o in sim.woo.visible_orders(woo_e2e.SLUG) if str(o["id"]) == order.external_id)
    assert woo_order["status"] == "completed"
    notes = [note["note"] for note in sim.woo.notes(woo_e2e.SLUG, woo_order["id"])]
    assert any("JJD000390007" in note and "DHL" in note for note in notes)
    with tenant_scope(tenant):
        shipment.refresh_from_db()
        assert shipment.confirmation == ConfirmationState.CONFIRMED


def _feed_settled(tenant: Tenant, store: Store, sim: SimulatorServer) -> None:
    for _ in range(20):
        sim.world.advance(timedelta(minutes=3))
        poll_shipment_feeds_task(tenant_id=tenant.pk, store_id=store.pk)
        with tenant_scope(tenant):
            if not Shipment.objects.filter(order__store=store, confirmation=ConfirmationState.SUBMITTED).exists():
                return
    raise AssertionError("the feed never finished")


def test_amazon_mfn_shipments_go_out_as_one_feed_and_its_report_settles_each(
    tenant: Tenant, sim: SimulatorServer, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    # given: a seller whose merchant-fulfilled orders wait for ACORN's confirmation, synced
    seller = sim.world.add_seller("NA", ["US", "CA"], mfn_auto_ship=False)
    store = amazon_e2e._connect(tenant, sim, seller.selling_partner_id)
    _sync_until_done(store)
    with tenant_scope(tenant):
        waiting = list(
            Order.objects.filter(store=store, fulfillment_channel="merchant", status="paid_unshipped").order_by("pk")[
                :3
            ]
        )
        assert len(waiting) == 3
        fba = Order.objects.filter(store=store, fulfillment_channel="fba").first()
    # the third is shipped in Seller Central behind ACORN's back: Amazon will refuse its message
    sim.world.confirm_shipment(
        seller.selling_partner_id, waiting[2].external_id, fulfillment_date=sim.world.now(), carrier="USPS"
    )

    # when: the three parcels are recorded, and the queued feed task runs (twice, as a redelivery would)
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        for index, order in enumerate(waiting):
            shipment_record(
                order=order,
                carrier="UPS",
                tracking_number=f"1ZACORN{index:04d}",
                shipped_at=NOW - timedelta(hours=1),
                source="csv",
                ship_method="Ground",
            )
    assert [task.name for task, _ in enqueued] == ["orders.submit_shipment_feed"] * 3
    # one feed for the three; the other two runs find nothing due; the follow-up read finds it unfinished
    assert enqueued.run_all() == ["submitted", "nothing_due", "nothing_due", 0]
    assert submit_shipment_feed_task(tenant_id=tenant.pk, store_id=store.pk) == "nothing_due"
    with tenant_scope(tenant):
        sent = list(Shipment.objects.filter(order__store=store).order_by("pk"))
    assert {s.confirmation for s in sent} == {ConfirmationState.SUBMITTED}
    feed_ids = {s.confirmation_reference for s in sent}
    assert len(feed_ids) == 1 and all(feed_ids)

    # then: the processing report confirms two and fails the third with Amazon's message
    _feed_settled(tenant, store, sim)
    with tenant_scope(tenant):
        settled = {s.tracking_number: s for s in Shipment.objects.filter(order__store=store)}
    assert settled["1ZACORN0000"].confirmation == ConfirmationState.CONFIRMED
    assert settled["1ZACORN0001"].confirmation == ConfirmationState.CONFIRMED
    refused = settled["1ZACORN0002"]
    assert refused.confirmation == ConfirmationState.FAILED and "left to ship" in refused.last_error
    confirmations = sim.world.shipment_confirmations(seller.selling_partner_id)
    ours = [c for c in confirmations if c["tracking_number"].startswith("1ZACORN")]
    assert sorted(c["tracking_number"] for c in ours) == ["1ZACORN0000", "1ZACORN0001"]
    assert {c["feed_id"] for c in ours} == feed_ids
    for confirmation in ours:
        order = next(o for o in waiting if o.external_id == confirmation["order_id"])
        with tenant_scope(tenant):
            expected = {(line.external_id, line.quantity) for line in OrderLine.objects.filter(order=order)}
        assert {(item["order_item_id"], item["quantity"]) for item in confirmation["items"]} == expected
    # and an FBA order of the same store needs nothing of this
    if fba is not None:
        with tenant_scope(tenant):
            assert not Shipment.objects.filter(order=fba).exists()

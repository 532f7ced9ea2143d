"""Order operations end to end, everything over real HTTP to the simulator with the real client libraries:
a paid Shopify order is synced and reserved, pushed once to the overseas warehouse's API, the warehouse calls
back signed with tracking, Shopify receives the fulfilment, and the stock moves from reserved to shipped —
while a pending-payment order of the same shop is never pushed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import services as stock
from inventory.allocation import line_ref
from inventory.catalogue import product_save, warehouse_save
from inventory.models import AllocationState, LineAllocation, StockLevel
from orders.fulfilment import services as fulfilment
from orders.models import ConfirmationState, FulfillmentRequest, FulfillmentState, Order, Shipment
from orders.tasks import send_fulfilment_request_task
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels import test_shopify_e2e as shop_e2e
from tests.channels.test_amazon_e2e import NOW, _sync_until_done
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db
WAREHOUSE = "la-3pl"


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=27, world=World(seed=27, clock=ManualClock(NOW)), tls_port=None) as server:
        server.shopify.add_shop(shop_e2e.SHOP, currency="USD", orders_per_day=8, history_days=20)
        server.warehouse.delay_seconds = 0
        yield server


def _run(enqueued: EnqueuedTasks, name: str) -> list[Any]:
    """Run the recorded tasks called `name` (in order) and forget them; leave the others."""
    chosen = [(task, kwargs) for task, kwargs in enqueued if task.name == name]
    enqueued[:] = [(task, kwargs) for task, kwargs in enqueued if task.name != name]
    return [task(**kwargs) for task, kwargs in chosen]


def test_a_paid_shopify_order_goes_to_the_warehouse_once_ships_and_is_confirmed_on_shopify(
    tenant: Tenant, sim: SimulatorServer, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    # given: a Shopify shop, every one of its SKUs stocked in the overseas warehouse, and a routing rule
    # sending the shop's orders to that warehouse's API
    store = shop_e2e._connect(tenant, sim)
    with tenant_scope(tenant):
        overseas = warehouse_save(tenant=tenant, name="Los Angeles 3PL", kind="third_party", country="US")
        for sku in sorted({variant.sku for variant in sim.shopify.shop(shop_e2e.SHOP).variants if variant.sku}):
            stock.stock_receive(
                product=product_save(tenant=tenant, sku=sku, name=sku), warehouse=overseas, quantity=500
            )
        target, secret = fulfilment.fulfilment_target_create(
            tenant=tenant,
            name="LA 3PL API",
            kind="https",
            warehouse=overseas,
            endpoint_url=sim.warehouse.url(WAREHOUSE),
        )
        fulfilment.fulfilment_route_create(tenant=tenant, target=target, store=store)
    sim.warehouse.add_warehouse(WAREHOUSE, secret)

    # when: the shop is synced (orders stored, paid lines reserved, ready orders queued for the warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        _sync_until_done(store)
    with tenant_scope(tenant):
        paid = Order.objects.filter(store=store, status="paid_unshipped", stock_problem="").order_by("pk").first()
        pending = Order.objects.filter(store=store, status="pending_payment").order_by("pk").first()
        assert paid is not None and pending is not None, "the simulated shop has a paid and a pending order"
        for line in paid.lines.all():
            assert LineAllocation.objects.get(line_ref=line_ref(line)).state == AllocationState.RESERVED
        request = FulfillmentRequest.objects.get(order=paid)
        assert not FulfillmentRequest.objects.filter(order__status="pending_payment").exists()
        units = sum(line.quantity for line in paid.lines.all())
        held = sum(level.reserved for level in StockLevel.objects.filter(warehouse=overseas))

    # the push runs (and, as a redelivered task would, a second time): the warehouse has the order once
    sends = _run(enqueued, "orders.send_fulfilment_request")
    assert sends  # the queued pushes went out
    send_fulfilment_request_task(tenant_id=tenant.pk, request_id=request.pk)
    received = [o for o in sim.warehouse.orders(WAREHOUSE) if o["request_key"] == request.key]
    assert len(received) == 1 and received[0]["order"]["order_id"] == paid.external_id
    assert not [o for o in sim.warehouse.orders(WAREHOUSE) if o["order"]["order_id"] == pending.external_id]
    with tenant_scope(tenant):
        request.refresh_from_db()
        assert request.state == FulfillmentState.SENT

    # the warehouse ships and calls back, signed, into this process's Django
    def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        extra.pop("HTTP_CONTENT_TYPE", None)
        with django_capture_on_commit_callbacks(execute=True):
            return Client().post(urlsplit(url).path, data=body, content_type="application/json", **extra).status_code

    sim.warehouse.set_deliver(deliver)
    callbacks = sim.warehouse.deliver_due()  # every order the shop had paid went there; each ships
    assert {record.status for record in callbacks} == {200} and len(callbacks) == len(sends)
    delivered = [record for record in callbacks if json.loads(record.body)["request_key"] == request.key]
    tracking = json.loads(delivered[0].body)["shipments"][0]["tracking_number"]

    # then: each shipment is recorded and confirmed on Shopify with its tracking, once
    assert set(_run(enqueued, "orders.confirm_shipment")) == {"confirmed"}
    made = [f for f in sim.shopify.fulfillments(shop_e2e.SHOP) if f["tracking"]["number"] == tracking]
    assert len(made) == 1 and made[0]["order_id"] == f"gid://shopify/Order/{paid.external_id}"
    with tenant_scope(tenant):
        shipment = Shipment.objects.get(order=paid)
        assert shipment.confirmation == ConfirmationState.CONFIRMED and shipment.tracking_number == tracking
        request.refresh_from_db()
        assert request.state == FulfillmentState.SHIPPED
        # the stock left: reserved → shipped, with the ledger still summing to the levels
        for line in paid.lines.all():
            assert LineAllocation.objects.get(line_ref=line_ref(line)).state == AllocationState.SHIPPED
        shipped_units = sum(
            line.quantity
            for request_shipped in FulfillmentRequest.objects.filter(state=FulfillmentState.SHIPPED)
            for line in request_shipped.order.lines.all()
        )
        assert units <= shipped_units
        levels = StockLevel.objects.filter(warehouse=overseas)
        assert sum(level.reserved for level in levels) == held - shipped_units
        assert sum(level.on_hand for level in levels) == 500 * levels.count() - shipped_units
        assert stock.levels_match_ledger(tenant_id=tenant.pk) == []
        # and the pending-payment order was never pushed
        assert not FulfillmentRequest.objects.filter(order=pending).exists()

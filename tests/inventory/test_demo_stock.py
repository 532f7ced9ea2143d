"""The demo, as a new user meets it: it opens with no low-stock alert, and once Amazon NA's orders are in, a
routed order reserves in the warehouse its route ships from, the simulator's Los Angeles warehouse ships only
what Los Angeles holds, and every low-stock alert that appears is true. Over real HTTP to the simulator
(Amazon, the third-party warehouse), through the real client libraries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from acorn.console.management.commands.demo import PUBLISH_FLAG
from acorn.notifications.models import Notification
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from channels.sync import sync_run_execute
from inventory.allocation import LINE_REF_PREFIX
from inventory.models import LineAllocation, Product, Reservation, StockLevel, StockMovement
from inventory.services import levels_match_ledger
from inventory.sharing import available_units
from orders.models import FulfillmentRequest, OrderLine
from simulator.server import SimulatorServer
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_sim(settings: Any) -> Iterator[SimulatorServer]:
    from simulator.demo import install_demo_sellers, install_demo_warehouse
    from simulator.shopify.demo import install_demo_shops
    from simulator.woocommerce.demo import install_demo_woo_site

    with SimulatorServer(seed=1) as sim:
        install_demo_sellers(sim.world)
        install_demo_shops(sim.shopify, deliver_webhooks=False)
        install_demo_woo_site(sim.woo)
        install_demo_warehouse(sim.warehouse)
        sim.warehouse.delay_seconds = 0
        settings.ACORN_SIMULATOR_URL, settings.ACORN_SIMULATOR_TLS_URL = sim.url, sim.tls_url
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(sim.tls_cert_path)
        yield sim


def _true_alerts(tenant: Tenant) -> None:
    """Every product flagged low is at or under its threshold now, and has exactly one alert per recipient."""
    products = list(Product.objects.filter(tenant=tenant, low_stock_alerted_at__isnull=False))
    warehouses = StockLevel.objects.filter(tenant=tenant, warehouse__active=True).exclude(warehouse__kind="fba")
    free = available_units(
        tenant_id=tenant.pk, products=products, warehouse_ids=set(warehouses.values_list("warehouse_id", flat=True))
    )
    for product in products:
        assert free[product.pk] <= (product.low_stock_threshold or 0), product.sku
    titles = Counter(Notification.objects.filter(tenant=tenant, kind="stock_low").values_list("title", flat=True))
    assert set(titles) == {f"{product.sku} is low on stock" for product in products}


def test_the_demo_opens_without_false_alerts_and_routed_orders_reserve_and_ship_from_their_warehouse(
    demo_sim: SimulatorServer, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    # given: the demo, as `make run` seeds it
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--json", PUBLISH_FLAG, stdout=open("/dev/null", "w"))  # noqa: SIM115
    tenant = Tenant.objects.get(slug="demo-trading-co")
    with tenant_scope(tenant):
        # then: no low-stock alert: everything was received above its threshold
        assert not Notification.objects.filter(kind="stock_low").exists()
        store = Store.objects.get(name="Amazon NA")
        # when: Amazon NA's orders arrive (US buyers go to the Los Angeles 3PL, Canada and Mexico to Shenzhen)
        for _run in range(10):
            with django_capture_on_commit_callbacks(execute=True):
                run = sync_run_execute(store=store, resource="orders", trigger="command", sleep=lambda seconds: None)
            if run.status == "succeeded":
                break
        assert run.status == "succeeded"
        # then: every queued order holds its stock in its target's warehouse, nowhere else
        requests = list(FulfillmentRequest.objects.select_related("target__warehouse", "order"))
        assert {request.target.warehouse.name for request in requests} == {"Los Angeles 3PL", "Shenzhen"}
        for request in requests:
            refs = [
                f"{LINE_REF_PREFIX}{pk}"
                for pk in OrderLine.objects.filter(order=request.order).values_list("pk", flat=True)
            ]
            held = set(Reservation.objects.filter(allocation__line_ref__in=refs).values_list("warehouse_id", flat=True))
            assert held == {request.target.warehouse_id}, request.order.external_id
            expected = "Los Angeles 3PL" if request.order.buyer_country == "US" else "Shenzhen"
            assert request.target.warehouse.name == expected
        # and every waiting line waits for the warehouse its route names
        for allocation in LineAllocation.objects.filter(state="backordered").select_related("warehouse"):
            assert allocation.warehouse is not None
        los_angeles = [request for request in requests if request.target.warehouse.name == "Los Angeles 3PL"]
        assert los_angeles
        la_before = dict(
            StockLevel.objects.filter(warehouse__name="Los Angeles 3PL").values_list("product_id", "on_hand")
        )
        shenzhen_before = dict(
            StockLevel.objects.filter(warehouse__name="Shenzhen").values_list("product_id", "on_hand")
        )
        la_reserved = sum(
            StockLevel.objects.filter(warehouse__name="Los Angeles 3PL").values_list("reserved", flat=True)
        )

    # when: the orders go to the Los Angeles warehouse's API, which ships them and calls back
    sends = [(task, kwargs) for task, kwargs in enqueued if task.name == "orders.send_fulfilment_request"]
    assert {task(**kwargs) for task, kwargs in sends} == {"sent"}

    def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        extra.pop("HTTP_CONTENT_TYPE", None)
        with django_capture_on_commit_callbacks(execute=True):
            return Client().post(urlsplit(url).path, data=body, content_type="application/json", **extra).status_code

    demo_sim.warehouse.set_deliver(deliver)
    delivered = demo_sim.warehouse.deliver_due(include_waiting_retries=True)
    assert delivered and {record.status for record in delivered} == {200}

    with tenant_scope(tenant):
        # then: Los Angeles' shelf gave exactly what it held for them; Shenzhen's shelf did not move
        la_after = dict(
            StockLevel.objects.filter(warehouse__name="Los Angeles 3PL").values_list("product_id", "on_hand")
        )
        shipped = sum(la_before.values()) - sum(la_after.values())
        assert shipped == la_reserved > 0
        assert dict(StockLevel.objects.filter(warehouse__name="Shenzhen").values_list("product_id", "on_hand")) == (
            shenzhen_before
        )
        assert not StockMovement.objects.filter(kind="shipment", warehouse__name="Shenzhen").exists()
        assert levels_match_ledger(tenant_id=tenant.pk) == []
        # and every low-stock alert that appeared on the way is true
        _true_alerts(tenant)

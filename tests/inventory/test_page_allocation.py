"""A sync page is allocated set-based (inventory.allocation._advance_batch): a bounded number of statements
whatever the page's size, and the same outcome as line by line — page order decides who gets short stock,
bundles all or nothing, one backorder alert per product, the ledger equal to the levels. When the plan
cannot be applied (a level no longer holds what was read), the page is decided line by line instead."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acorn.notifications.models import Notification
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ExternalOrder
from inventory import allocation, services
from inventory.models import AllocationState, BundleComponent, LineAllocation, Product, StockLevel, Warehouse
from orders.models import Order, OrderLine, StockProblem
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.factories import MembershipFactory, StoreFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _order(n: int, *lines: tuple[str, int], status: str = "paid_unshipped") -> ExternalOrder:
    order = make_order(n, status=status)
    made = tuple(
        replace(order.lines[0], sku=sku, quantity=quantity, external_id=f"L{n}-{i}")
        for i, (sku, quantity) in enumerate(lines)
    )
    return replace(order, lines=made)


def _shop(tenant: Tenant, **on_hand: int) -> tuple[Any, Warehouse]:
    store = StoreFactory(tenant=tenant)
    warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
    for sku, units in on_hand.items():
        product = Product.objects.create(tenant=tenant, sku=sku, name=sku)
        if units:
            services.stock_receive(product=product, warehouse=warehouse, quantity=units, reference="PO-1")
    return store, warehouse


def _states() -> dict[str, str]:
    return dict(OrderLine.objects.values_list("external_id", "stock_state"))


def _reserved(sku: str) -> int:
    return sum(StockLevel.objects.filter(product__sku=sku).values_list("reserved", flat=True))


def _page(first: int, size: int) -> list[ExternalOrder]:
    """Paid orders: mapped and in stock, short, unmapped, pending and a bundle, in turn."""
    shapes: list[tuple[tuple[str, int], ...]] = [
        (("MUG", 1),),
        (("LAMP", 2),),
        (("NOT-MAPPED", 1),),
        (("MUG", 1), ("LAMP", 1)),
        (("KIT", 1),),
    ]
    return [
        _order(n, *shapes[n % len(shapes)], status="pending_payment" if n % 7 == 0 else "paid_unshipped")
        for n in range(first, first + size)
    ]


def _statements(tenant: Tenant, page: list[ExternalOrder]) -> tuple[int, int]:
    """(statements other than INSERTs, all statements) of storing the page. SQLite splits a bulk INSERT by its
    limit on parameters, so only the INSERTs may grow with the page there (PostgreSQL sends one each)."""
    store, _warehouse = _shop(tenant, MUG=1000, LAMP=3, KIT=0, CUP=1000)
    kit = Product.objects.get(sku="KIT")
    kit.is_bundle = True
    kit.save()
    BundleComponent.objects.create(tenant=tenant, bundle=kit, component=Product.objects.get(sku="CUP"), quantity=2)
    with CaptureQueriesContext(connection) as queries:
        order_upsert_page(store=store, orders=page)
    assert services.levels_match_ledger(tenant_id=tenant.pk) == []
    inserts = sum(query["sql"].startswith("INSERT") for query in queries.captured_queries)
    return len(queries) - inserts, len(queries)


def test_a_page_costs_the_same_statements_whatever_its_size() -> None:
    small, large = TenantFactory(), TenantFactory()
    with tenant_scope(small):
        few = _statements(small, _page(1, 10))
    with tenant_scope(large):
        many = _statements(large, _page(1, 100))
    # The same kinds of line in both pages: ten times the orders, not one statement more.
    assert many[0] == few[0], (few, many)
    if connection.vendor == "postgresql":
        assert many[1] == few[1], (few, many)
    assert many[1] < 100  # under one statement per order


def test_page_order_decides_who_gets_short_stock_and_one_alert_per_product(tenant: Tenant) -> None:
    MembershipFactory(tenant=tenant)
    with tenant_scope(tenant):
        store, _warehouse = _shop(tenant, MUG=3)
        order_upsert_page(store=store, orders=[_order(n, ("MUG", 1)) for n in range(1, 6)])
        states = _states()
        assert [states[f"L{n}-0"] for n in range(1, 6)] == [AllocationState.RESERVED] * 3 + [
            AllocationState.BACKORDERED
        ] * 2
        assert _reserved("MUG") == 3
        assert Notification.objects.filter(kind="backorder").count() == 1
        short = Order.objects.filter(stock_problem=StockProblem.BACKORDERED).count()
        assert short == 2
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_a_bundle_in_a_page_is_served_all_or_nothing(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, _warehouse = _shop(tenant, KIT=0, CUP=4, SAUCER=1)
        kit = Product.objects.get(sku="KIT")
        kit.is_bundle = True
        kit.save()
        for sku in ("CUP", "SAUCER"):
            BundleComponent.objects.create(tenant=tenant, bundle=kit, component=Product.objects.get(sku=sku))
        order_upsert_page(store=store, orders=[_order(1, ("KIT", 1)), _order(2, ("KIT", 1)), _order(3, ("CUP", 3))])
        states = _states()
        assert states["L1-0"] == AllocationState.RESERVED
        assert states["L2-0"] == AllocationState.BACKORDERED  # saucers ran out: it takes no cup either
        assert states["L3-0"] == AllocationState.RESERVED  # so the three cups are still there for order 3
        assert (_reserved("CUP"), _reserved("SAUCER")) == (4, 1)
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_a_stale_plan_falls_back_to_line_by_line(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    def stale(*_args: Any) -> None:
        raise allocation._Stale

    monkeypatch.setattr(allocation, "_take_levels", stale)
    with tenant_scope(tenant):
        store, _warehouse = _shop(tenant, MUG=2)
        order_upsert_page(store=store, orders=[_order(n, ("MUG", 1)) for n in range(1, 4)])
        states = _states()
        assert [states[f"L{n}-0"] for n in range(1, 4)] == [
            AllocationState.RESERVED,
            AllocationState.RESERVED,
            AllocationState.BACKORDERED,
        ]
        assert _reserved("MUG") == 2
        assert LineAllocation.objects.count() == 3
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_replaying_a_page_moves_nothing_and_another_tenant_is_untouched(tenant: Tenant) -> None:
    other = TenantFactory()
    with tenant_scope(other):
        _other_store, _w = _shop(other, MUG=5)
    with tenant_scope(tenant):
        store, _warehouse = _shop(tenant, MUG=5)
        page = [_order(n, ("MUG", 2)) for n in range(1, 4)]
        order_upsert_page(store=store, orders=page)
        order_upsert_page(store=store, orders=page)
        assert _reserved("MUG") == 4
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []
    with tenant_scope(other):
        assert _reserved("MUG") == 0
        assert LineAllocation.objects.count() == 0


def test_page_order_decides_between_a_new_line_and_an_edit_that_grows(tenant: Tenant) -> None:
    """A line that already holds stock is decided in its place in the page, not before the new lines ahead
    of it: the new order 1 comes first in the page, so it takes the last two mugs and the edit waits."""
    with tenant_scope(tenant):
        store, _warehouse = _shop(tenant, MUG=3)
        order_upsert_page(store=store, orders=[_order(2, ("MUG", 1))])
        edited = replace(_order(2, ("MUG", 3)), updated_at=_order(2, ("MUG", 3)).updated_at + timedelta(hours=1))
        order_upsert_page(store=store, orders=[_order(1, ("MUG", 2)), edited])
        states = _states()
        assert states["L1-0"] == AllocationState.RESERVED
        assert states["L2-0"] == AllocationState.BACKORDERED
        assert _reserved("MUG") == 3
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []

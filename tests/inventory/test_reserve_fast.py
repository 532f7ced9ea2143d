"""A paid line that holds nothing yet is reserved in one statement on PostgreSQL (inventory.reserve_fast), with
exactly the outcome of the general state machine: the same product (mapping precedence and pack multiplier),
warehouse, reservation, movement, level and order-line state. Whatever is not that common case — short stock,
a bundle, a line that already holds stock, an order not paid — writes nothing there and is decided by the
general path (backorders, alerts, bundles all or nothing). On SQLite the general path decides everything."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from acorn.notifications.models import Notification
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import OrderStatus
from channels.models import Store
from inventory import allocation, reserve_fast, services
from inventory.ledger import stock_move
from inventory.models import (
    AllocationState,
    BundleComponent,
    LineAllocation,
    MovementKind,
    Product,
    Reservation,
    SkuMapping,
    StockLevel,
    StockMovement,
    Warehouse,
    WarehouseKind,
)
from inventory.selectors import mapping_resolve
from orders.models import Order, OrderLine
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.factories import MembershipFactory, StoreFactory

pytestmark = pytest.mark.django_db

POSTGRESQL = pytest.mark.skipif("connection.vendor != 'postgresql'")


def _pending(store: Store, n: int, sku: str, quantity: int = 1, product_id: str = "") -> tuple[Order, OrderLine]:
    """A merchant order stored waiting for payment, then paid (in memory, as ingest holds it when it allocates)."""
    order = make_order(n, status=OrderStatus.PENDING_PAYMENT)
    order = replace(order, lines=(replace(order.lines[0], sku=sku, quantity=quantity, channel_product_id=product_id),))
    order_upsert_page(store=store, orders=[order])
    line = OrderLine.objects.select_related("order").get(order__store=store, order__external_id=order.external_id)
    paid = line.order
    paid.status = OrderStatus.PAID_UNSHIPPED
    return paid, line


def _stock(tenant: Tenant, warehouse: Warehouse, sku: str, units: int) -> Product:
    product = Product.objects.filter(tenant=tenant, sku=sku).first() or Product.objects.create(
        tenant=tenant, sku=sku, name=sku
    )
    if units and warehouse.read_only:  # Amazon's stock, as the FBA sync records it
        stock_move(product=product, warehouse=warehouse, kind=MovementKind.RECEIPT, on_hand_delta=units)
    elif units:
        services.stock_receive(product=product, warehouse=warehouse, quantity=units, reference="PO-1")
    return product


def _reserve_mug(store: Store, order: Order, line: OrderLine, quantity: int) -> LineAllocation | None:
    """The one statement alone, for a paid MUG line of `quantity` units whose warehouse orders left undecided."""
    return reserve_fast.reserve_paid_line(
        store=store,
        order_status=OrderStatus.PAID_UNSHIPPED,
        purchased_at=order.purchased_at,
        reference=f"order {order.external_id} line {line.external_id}",
        ref=allocation.line_ref(line),
        sku="MUG",
        channel_product_id="",
        quantity=quantity,
        warehouse=None,
        keep_warehouse=True,
    )


def _outcome(tenant: Tenant) -> dict[str, Any]:
    """What a reservation leaves behind, without ids or times: compared between the two paths."""
    return {
        "allocations": sorted(
            LineAllocation.objects.filter(tenant=tenant).values_list(
                "reference", "channel_sku", "quantity", "state", "product__sku", "units", "multiplier", "warehouse"
            )
        ),
        "reservations": sorted(
            Reservation.objects.filter(tenant=tenant).values_list("product__sku", "warehouse__name", "quantity")
        ),
        "movements": sorted(
            StockMovement.objects.filter(tenant=tenant, kind=MovementKind.RESERVATION).values_list(
                "product__sku", "warehouse__name", "reserved_delta", "reference"
            )
        ),
        "levels": sorted(
            StockLevel.objects.filter(tenant=tenant).values_list(
                "product__sku", "warehouse__name", "on_hand", "reserved"
            )
        ),
        "lines": sorted(OrderLine.objects.filter(tenant=tenant).values_list("external_id", "stock_state")),
        "ledger": services.levels_match_ledger(tenant_id=tenant.pk),
    }


def _scenario(tenant: Tenant) -> None:
    """Own and third-party warehouses, an inactive one, Amazon's; mappings by product id, SKU and pack size."""
    store = StoreFactory(tenant=tenant)
    inactive = Warehouse.objects.create(tenant=tenant, name="Closed", active=False)
    third = Warehouse.objects.create(tenant=tenant, name="LA 3PL", kind=WarehouseKind.THIRD_PARTY)
    own = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
    fba = Warehouse.objects.create(tenant=tenant, name="FBA", kind=WarehouseKind.FBA)
    mug = _stock(tenant, inactive, "MUG", 50)
    _stock(tenant, third, "MUG", 50)
    _stock(tenant, own, "MUG", 3)
    lamp = _stock(tenant, third, "LAMP", 10)
    _stock(tenant, fba, "LAMP", 100)
    SkuMapping.objects.create(tenant=tenant, store=store, channel_sku="MUG-3PACK", product=mug, quantity_multiplier=3)
    SkuMapping.objects.create(tenant=tenant, store=store, channel_product_id="P-LAMP", product=lamp)
    lines = [
        _pending(store, 1, "MUG"),  # own warehouse first (3 free)
        _pending(store, 2, "MUG", quantity=2),  # own has 2 left: still own
        _pending(store, 3, "MUG"),  # own is empty now: the third-party one
        _pending(store, 4, "MUG-3PACK", quantity=2),  # six mugs, from the third-party warehouse
        _pending(store, 5, "ANYTHING", product_id="P-LAMP"),  # the channel's product id wins
        _pending(store, 6, "LAMP", quantity=20),  # more than any sellable warehouse holds: backordered
    ]
    for order, line in lines:
        allocation.allocate_line(store=store, order=order, line=line)


@POSTGRESQL
def test_the_one_statement_path_leaves_what_the_general_path_leaves(
    tenant: Tenant, other_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant_scope(tenant):
        _scenario(tenant)
        fast = _outcome(tenant)
    monkeypatch.setattr(allocation, "reserve_paid_line", lambda **kwargs: None)
    with tenant_scope(other_tenant):
        _scenario(other_tenant)
        general = _outcome(other_tenant)
    assert fast == general
    assert fast["ledger"] == []
    states = dict(fast["lines"])
    assert [states[f"L{n}"] for n in range(1, 7)] == [AllocationState.RESERVED] * 5 + [AllocationState.BACKORDERED]
    assert ("MUG", "Shenzhen", 3, 3) in fast["levels"] and ("MUG", "LA 3PL", 50, 7) in fast["levels"]
    assert ("LAMP", "LA 3PL", 10, 1) in fast["levels"]


@POSTGRESQL
def test_a_paid_line_with_free_stock_costs_one_statement_of_inventory_and_four_in_all(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        _stock(tenant, warehouse, "MUG", 5)
        order, line = _pending(store, 1, "MUG", quantity=2)
        with CaptureQueriesContext(connection) as queries:
            reserved = allocation.allocate_line(store=store, order=order, line=line)
        assert reserved is not None and reserved.state == AllocationState.RESERVED and reserved.units == 2
        inventory = [query for query in queries.captured_queries if "inventory_" in query["sql"]]
        assert len(inventory) == 1, [query["sql"][:80] for query in queries.captured_queries]
        assert len(queries) <= 4  # its savepoint, and orders keeping the line's stock state (2)
        line.refresh_from_db()
        assert line.stock_state == AllocationState.RESERVED
        level = StockLevel.objects.get(product__sku="MUG")
        assert (level.on_hand, level.reserved) == (5, 2)
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_short_stock_is_backordered_by_the_general_path_with_its_alert(tenant: Tenant) -> None:
    MembershipFactory(tenant=tenant)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        _stock(tenant, warehouse, "MUG", 1)
        order, line = _pending(store, 1, "MUG", quantity=2)
        untouched = _reserve_mug(store, order, line, 2)
        assert untouched is None
        assert StockLevel.objects.get(product__sku="MUG").reserved == 0
        held = allocation.allocate_line(store=store, order=order, line=line)
        assert held is not None and held.state == AllocationState.BACKORDERED
        assert Notification.objects.filter(kind="backorder").count() == 1
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_a_bundle_is_served_whole_by_the_general_path(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        kit = Product.objects.create(tenant=tenant, sku="KIT", name="Kit", is_bundle=True)
        cup = _stock(tenant, warehouse, "CUP", 4)
        BundleComponent.objects.create(tenant=tenant, bundle=kit, component=cup, quantity=2)
        order, line = _pending(store, 1, "KIT", quantity=2)
        held = allocation.allocate_line(store=store, order=order, line=line)
        assert held is not None and held.state == AllocationState.RESERVED
        assert list(Reservation.objects.values_list("product__sku", "quantity")) == [("CUP", 4)]
        assert not StockLevel.objects.filter(product=kit, reserved__gt=0).exists()
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_a_decided_warehouse_that_is_inactive_backorders_instead_of_reserving_elsewhere(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        closed = Warehouse.objects.create(tenant=tenant, name="Closed")
        open_ = Warehouse.objects.create(tenant=tenant, name="Open")
        _stock(tenant, closed, "MUG", 5)
        _stock(tenant, open_, "MUG", 5)
        Warehouse.objects.filter(pk=closed.pk).update(active=False)
        closed.refresh_from_db()
        order, line = _pending(store, 1, "MUG")
        held = allocation.allocate_line(store=store, order=order, line=line, warehouse=closed)
        assert held is not None and held.state == AllocationState.BACKORDERED
        assert StockLevel.objects.filter(reserved__gt=0).count() == 0
        served = allocation.allocate_line(store=store, order=order, line=line, warehouse=open_)
        assert served is not None and served.state == AllocationState.RESERVED and served.warehouse_id == open_.pk
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_only_a_paid_line_that_holds_nothing_takes_the_short_path(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        _stock(tenant, warehouse, "MUG", 10)
        order, line = _pending(store, 1, "MUG")
        kwargs: dict[str, Any] = {
            "store": store,
            "purchased_at": order.purchased_at,
            "reference": "order 1 line 1",
            "ref": allocation.line_ref(line),
            "sku": "MUG",
            "channel_product_id": "",
            "quantity": 1,
            "warehouse": None,
            "keep_warehouse": True,
        }
        for status in (OrderStatus.PENDING_PAYMENT, OrderStatus.SHIPPED, OrderStatus.CANCELLED):
            assert reserve_fast.reserve_paid_line(order_status=status, **kwargs) is None
        allocation.allocate_line(store=store, order=order, line=line)  # now RESERVED: holds stock
        assert reserve_fast.reserve_paid_line(order_status=OrderStatus.PAID_UNSHIPPED, **kwargs) is None
        assert StockLevel.objects.get(product__sku="MUG").reserved == 1
        # An edit of the quantity goes through the general path: only the difference moves.
        line.quantity = 3
        allocation.allocate_line(store=store, order=order, line=line)
        assert StockLevel.objects.get(product__sku="MUG").reserved == 3
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


@POSTGRESQL
def test_the_statement_resolves_skus_as_mapping_resolve_does(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        mug = _stock(tenant, warehouse, "MUG", 100)
        lamp = _stock(tenant, warehouse, "LAMP", 100)
        _stock(tenant, warehouse, "OLD", 100)
        Product.objects.filter(sku="OLD").update(active=False)
        SkuMapping.objects.create(tenant=tenant, store=store, channel_sku="PACK2", product=mug, quantity_multiplier=2)
        SkuMapping.objects.create(tenant=tenant, store=store, channel_product_id="P-LAMP", product=lamp)
        SkuMapping.objects.create(
            tenant=tenant,
            store=store,
            channel_sku="LAMP",
            channel_product_id="P-MUG",
            product=mug,
            quantity_multiplier=3,
        )
        cases = [("MUG", ""), ("OLD", ""), ("PACK2", ""), ("PACK2", "P-LAMP"), ("MUG", "P-NONE"), ("LAMP", "P-MUG")]
        for n, (sku, product_id) in enumerate(cases, start=1):
            order, line = _pending(store, n, sku, product_id=product_id)
            held = allocation.allocate_line(store=store, order=order, line=line)
            expected = mapping_resolve(store=store, sku=sku, channel_product_id=product_id)
            assert held is not None
            if expected is None:
                assert (held.state, held.product_id) == (AllocationState.UNMAPPED, None), (sku, product_id)
            else:
                assert (held.state, held.product_id, held.multiplier) == (
                    AllocationState.RESERVED,
                    expected.product.pk,
                    expected.multiplier,
                ), (sku, product_id)
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_another_companys_stock_and_mappings_are_never_used(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(other_tenant):
        theirs = Warehouse.objects.create(tenant=other_tenant, name="Theirs")
        _stock(other_tenant, theirs, "MUG", 100)
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        Warehouse.objects.create(tenant=tenant, name="Ours")
        Product.objects.create(tenant=tenant, sku="MUG", name="Mug")  # no stock of ours
        order, line = _pending(store, 1, "MUG")
        held = allocation.allocate_line(store=store, order=order, line=line)
        assert held is not None and held.state == AllocationState.BACKORDERED
    with tenant_scope(other_tenant):
        assert StockLevel.objects.get(product__sku="MUG").reserved == 0
        assert not StockMovement.objects.filter(kind=MovementKind.RESERVATION).exists()


@POSTGRESQL
def test_a_payment_webhook_for_a_waiting_order_takes_the_short_path(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        _stock(tenant, warehouse, "MUG", 5)
        pending = make_order(1, status=OrderStatus.PENDING_PAYMENT)
        pending = replace(pending, lines=(replace(pending.lines[0], sku="MUG", quantity=2),))
        order_upsert_page(store=store, orders=[pending])
        paid = replace(
            pending,
            status=OrderStatus.PAID_UNSHIPPED,
            raw_status="UNSHIPPED",
            updated_at=pending.updated_at.replace(minute=59),
        )
        with CaptureQueriesContext(connection) as queries:
            order_upsert_page(store=store, orders=[paid])
        sql = [query["sql"] for query in queries.captured_queries]
        assert any(statement.lstrip().startswith("WITH alloc AS") for statement in sql)
        assert not any(statement.startswith('INSERT INTO "inventory_reservation"') for statement in sql)
        line = OrderLine.objects.get(order__external_id=paid.external_id)
        assert line.stock_state == AllocationState.RESERVED
        level = StockLevel.objects.get(product__sku="MUG")
        assert (level.on_hand, level.reserved) == (5, 2)
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def _paid_one_by_one(store: Store, first: int, count: int, sku: str) -> None:
    """Single-order pages, as webhooks arrive: stored pending, then paid."""
    for n in range(first, first + count):
        pending = make_order(n, status=OrderStatus.PENDING_PAYMENT)
        pending = replace(pending, lines=(replace(pending.lines[0], sku=sku, external_id=f"L{n}"),))
        order_upsert_page(store=store, orders=[pending])
        paid = replace(
            pending,
            status=OrderStatus.PAID_UNSHIPPED,
            raw_status="UNSHIPPED",
            updated_at=pending.updated_at.replace(second=59),
        )
        order_upsert_page(store=store, orders=[paid])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@POSTGRESQL
def test_eight_workers_paying_single_orders_reserve_exactly_what_is_there(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        _stock(tenant, warehouse, "MUG", 30)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(index: int) -> None:
        try:
            start.wait()
            with tenant_scope(tenant):
                _paid_one_by_one(store, index * 6 + 1, 6, "MUG")  # 48 units wanted, 30 there
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[:3]
    with tenant_scope(tenant):
        level = StockLevel.objects.get(product__sku="MUG")
        states = list(LineAllocation.objects.values_list("state", flat=True))
        assert (level.on_hand, level.reserved) == (30, 30)
        assert states.count(AllocationState.RESERVED) == 30
        assert states.count(AllocationState.BACKORDERED) == 18
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@POSTGRESQL
@pytest.mark.parametrize(
    "change",
    [{"state": AllocationState.RELEASED}, {"shipped_quantity": 1}],
    ids=["released", "a-unit-shipped-still-waiting"],
)
def test_an_allocation_changed_by_another_worker_meanwhile_puts_the_level_back(
    tenant: Tenant, change: dict[str, Any]
) -> None:
    """The one race the statement cannot rule out: its level UPDATE went through, but another worker had the
    allocation locked and changed it (released it, or shipped a unit while it still waits) before the statement
    could take it: nothing is kept, whatever field changed."""
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        _stock(tenant, warehouse, "MUG", 5)
        order, line = _pending(store, 1, "MUG", quantity=2)
        ref = allocation.line_ref(line)
    holding, go = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def other_worker() -> None:
        try:
            with tenant_scope(tenant), transaction.atomic():
                LineAllocation.objects.select_for_update().filter(line_ref=ref).update(**change)
                holding.set()
                go.wait(30)
        finally:
            connection.close()

    def reserving() -> None:
        try:
            with tenant_scope(tenant), transaction.atomic():
                outcome["reserved"] = _reserve_mug(store, order, line, 2)
        except BaseException as error:
            outcome["error"] = error
        finally:
            connection.close()

    other = threading.Thread(target=other_worker)
    other.start()
    assert holding.wait(30)
    reserver = threading.Thread(target=reserving)
    reserver.start()
    time.sleep(1)  # the statement has moved the level and now waits for the allocation's lock
    go.set()
    other.join(30)
    reserver.join(30)
    assert "error" not in outcome, outcome
    assert outcome["reserved"] is None
    with tenant_scope(tenant):
        assert StockLevel.objects.get(product__sku="MUG").reserved == 0
        assert not Reservation.objects.exists()
        assert not StockMovement.objects.filter(kind=MovementKind.RESERVATION).exists()
        changed = LineAllocation.objects.get(line_ref=ref)
        assert {field: getattr(changed, field) for field in change} == change
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@POSTGRESQL
def test_a_level_waited_for_and_found_short_is_not_kept_locked(tenant: Tenant) -> None:
    """The statement waited for a level another worker held, then found it short: the general path must not
    run holding that level, or it would lock levels out of key order (a deadlock with a worker that locked a
    lower one first). Whoever asks for the level next gets it at once."""
    from django.db.models import F

    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        _stock(tenant, warehouse, "MUG", 1)
        order, line = _pending(store, 1, "MUG")
        level_pk = StockLevel.objects.get(product__sku="MUG").pk
    holding, go, decided, checked = threading.Event(), threading.Event(), threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def taking_the_last_unit() -> None:
        try:
            with tenant_scope(tenant), transaction.atomic():
                StockLevel.objects.filter(pk=level_pk).update(reserved=F("reserved") + 1)
                holding.set()
                go.wait(30)
        finally:
            connection.close()

    def reserving() -> None:
        try:
            with tenant_scope(tenant), transaction.atomic():
                outcome["reserved"] = _reserve_mug(store, order, line, 1)
                decided.set()
                checked.wait(30)
        except BaseException as error:
            outcome["error"] = error
        finally:
            connection.close()

    taker = threading.Thread(target=taking_the_last_unit)
    taker.start()
    assert holding.wait(30)
    reserver = threading.Thread(target=reserving)
    reserver.start()
    time.sleep(1)  # the statement waits for the level
    go.set()
    taker.join(30)
    decided.wait(30)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM inventory_stocklevel WHERE id = %s FOR UPDATE NOWAIT", [level_pk])
            assert cursor.fetchone() == (level_pk,)
    finally:
        checked.set()
        reserver.join(30)
    assert "error" not in outcome, outcome
    assert outcome["reserved"] is None


def test_a_page_whose_first_order_has_no_lines_still_reserves_its_one_line(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        _stock(tenant, warehouse, "MUG", 5)
        empty = replace(make_order(1), lines=())
        paid = make_order(2)
        paid = replace(paid, lines=(replace(paid.lines[0], sku="MUG"),))
        order_upsert_page(store=store, orders=[empty, paid])
        assert OrderLine.objects.get(order__external_id=paid.external_id).stock_state == AllocationState.RESERVED
        assert StockLevel.objects.get(product__sku="MUG").reserved == 1
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []

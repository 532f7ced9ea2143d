"""One stock pool: paid merchant lines reserve in the same transaction that stores them, cancellations
release, shipments consume, unmapped lines wait and reserve the moment a mapping exists, bundles consume
their components, the ledger always sums to the levels — and 16 concurrent workers never oversell."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ExternalOrder
from inventory import selectors, services
from inventory.models import AllocationState, BundleComponent, LineAllocation, Product, StockLevel, Warehouse
from orders.models import OrderLine
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.factories import StoreFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _order(
    n: int, *, sku: str = "SKU-1", quantity: int = 1, status: str = "paid_unshipped", **changes: Any
) -> ExternalOrder:
    order = make_order(n, status=status)
    line = replace(order.lines[0], sku=sku, quantity=quantity, external_id=f"L{n}")
    return replace(order, lines=(line,), **changes)


def _setup(tenant: Tenant, on_hand: int = 10) -> tuple[Any, Product, Warehouse]:
    store = StoreFactory(tenant=tenant)
    product = Product.objects.create(tenant=tenant, sku="SKU-1", name="Mug")
    warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
    if on_hand:
        services.stock_receive(product=product, warehouse=warehouse, quantity=on_hand, reference="PO-1")
    return store, product, warehouse


def _level(product: Product) -> tuple[int, int]:
    level = StockLevel.objects.get(product=product)
    return level.on_hand, level.reserved


def _state(n: int) -> str:
    return OrderLine.objects.get(external_id=f"L{n}").stock_state


def test_paid_line_reserves_cancel_releases_ship_consumes_and_the_ledger_sums(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, product, _ = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, quantity=3), _order(2, status="pending_payment")])
        assert _level(product) == (10, 3)
        assert (_state(1), _state(2)) == (AllocationState.RESERVED, AllocationState.WAITING_PAYMENT)
        order_upsert_page(store=store, orders=[_order(1, quantity=3)])  # the same page again: nothing moves
        assert _level(product) == (10, 3)

        later = make_order(1).updated_at + timedelta(hours=1)
        order_upsert_page(store=store, orders=[_order(1, quantity=3, status="shipped", updated_at=later)])
        assert _level(product) == (7, 0) and _state(1) == AllocationState.SHIPPED
        order_upsert_page(store=store, orders=[_order(2, status="paid_unshipped", updated_at=later)])
        assert _level(product) == (7, 1)
        order_upsert_page(store=store, orders=[_order(2, status="cancelled", updated_at=later + timedelta(hours=1))])
        assert _level(product) == (7, 0) and _state(2) == AllocationState.RELEASED
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_short_stock_backorders_never_negative_and_a_receipt_fills_the_backorder(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, product, warehouse = _setup(tenant, on_hand=2)
        order_upsert_page(store=store, orders=[_order(1, quantity=2), _order(2, quantity=1)])
        assert (_state(1), _state(2)) == (AllocationState.RESERVED, AllocationState.BACKORDERED)
        assert _level(product) == (2, 2)
        services.stock_receive(product=product, warehouse=warehouse, quantity=1, reference="PO-2")
        assert _state(2) == AllocationState.RESERVED and _level(product) == (3, 3)
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_unmapped_line_waits_and_reserves_when_a_mapping_is_added(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, product, _ = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, sku="AMZ-MUG-2PK", quantity=2)])
        assert _state(1) == AllocationState.UNMAPPED and _level(product) == (10, 0)
        services.mapping_create(store=store, product=product, channel_sku="AMZ-MUG-2PK", quantity_multiplier=2)
        assert _state(1) == AllocationState.RESERVED
        assert _level(product) == (10, 4)  # 2 two-packs = 4 mugs


def test_bundle_consumes_its_components_all_or_nothing(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store, mug, warehouse = _setup(tenant, on_hand=5)
        lid = Product.objects.create(tenant=tenant, sku="LID-1", name="Lid")
        services.stock_receive(product=lid, warehouse=warehouse, quantity=1)
        kit = Product.objects.create(tenant=tenant, sku="KIT-1", name="Mug + lid", is_bundle=True)
        BundleComponent.objects.create(tenant=tenant, bundle=kit, component=mug, quantity=1)
        BundleComponent.objects.create(tenant=tenant, bundle=kit, component=lid, quantity=1)
        order_upsert_page(store=store, orders=[_order(1, sku="KIT-1"), _order(2, sku="KIT-1")])
        assert (_state(1), _state(2)) == (AllocationState.RESERVED, AllocationState.BACKORDERED)
        assert _level(mug) == (5, 1) and _level(lid) == (1, 1)  # the second kit took no mug either
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_fba_lines_hold_no_stock_of_ours_and_other_tenants_stock_is_untouched(tenant: Tenant) -> None:
    other = TenantFactory()
    with tenant_scope(other):
        _other_store, other_product, _ = _setup(other, on_hand=10)
    with tenant_scope(tenant):
        store, product, _ = _setup(tenant)
        order_upsert_page(store=store, orders=[_order(1, fulfillment_channel="fba")])
        assert _level(product) == (10, 0) and not LineAllocation.objects.exists()
        order_upsert_page(store=store, orders=[_order(2)])
        assert selectors.mapping_resolve(store=store, sku="SKU-1").product == product
    with tenant_scope(other):
        assert _level(other_product) == (10, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_sixteen_concurrent_workers_from_three_channels_reserve_exactly_what_is_there(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        product = Product.objects.create(tenant=tenant, sku="SKU-1", name="Mug")
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        services.stock_receive(product=product, warehouse=warehouse, quantity=100)
        stores = [
            StoreFactory(tenant=tenant, platform=platform, name=f"{platform} store", seller_id=f"S-{platform}")
            for platform in ("amazon", "shopify", "woocommerce")
        ]
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def worker(index: int) -> None:
        try:
            start.wait()
            with tenant_scope(tenant):
                for batch in range(4):  # 16 workers x 4 pages x 3 orders = 192 units wanted, 100 there
                    first = (index * 4 + batch) * 3
                    orders = [_order(first + k) for k in range(3)]
                    orders = [
                        replace(o, lines=(replace(o.lines[0], external_id=f"L{first}-{k}"),))
                        for k, o in enumerate(orders)
                    ]
                    order_upsert_page(store=stores[index % 3], orders=orders)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[:3]
    with tenant_scope(tenant):
        level = StockLevel.objects.get(product=product)
        states = list(LineAllocation.objects.values_list("state", flat=True))
        assert (level.on_hand, level.reserved) == (100, 100)
        assert states.count(AllocationState.RESERVED) == 100
        assert states.count(AllocationState.BACKORDERED) == 92
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []

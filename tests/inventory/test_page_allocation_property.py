"""Property: a sync page allocated set-based (`allocate_orders` → `_advance_batch`) ends exactly where the same
page allocated line by line in page order ends (every line through `_advance`, the path the batch replaced):
the same allocations, reservations, movements, levels, orders' stock states and backorder alerts. Two fresh
tenants get the same catalogue, stock and pages; one of them runs with the batch switched off."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from acorn.notifications.models import Notification
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ExternalOrder
from inventory import allocation, services
from inventory.models import (
    BundleComponent,
    LineAllocation,
    Product,
    Reservation,
    SkuMapping,
    StockLevel,
    StockMovement,
    Warehouse,
    WarehouseKind,
)
from orders.models import Order, OrderLine
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.factories import MembershipFactory, StoreFactory, TenantFactory

pytestmark = pytest.mark.django_db

SKUS = ["MUG", "LAMP", "KIT", "CUP", "PACK2", "NOT-MAPPED"]
STATUSES = ["paid_unshipped", "paid_unshipped", "paid_unshipped", "pending_payment", "cancelled", "shipped"]


def _world(tenant: Tenant, stock: dict[tuple[str, str], int]) -> Any:
    MembershipFactory(tenant=tenant)
    store = StoreFactory(tenant=tenant)
    warehouses = {
        "A": Warehouse.objects.create(tenant=tenant, name="A"),
        "B": Warehouse.objects.create(tenant=tenant, name="B", kind=WarehouseKind.THIRD_PARTY),
    }
    products = {sku: Product.objects.create(tenant=tenant, sku=sku, name=sku) for sku in ("MUG", "LAMP", "CUP")}
    kit = Product.objects.create(tenant=tenant, sku="KIT", name="KIT", is_bundle=True)
    BundleComponent.objects.create(tenant=tenant, bundle=kit, component=products["CUP"], quantity=2)
    BundleComponent.objects.create(tenant=tenant, bundle=kit, component=products["MUG"], quantity=1)
    SkuMapping.objects.create(
        tenant=tenant, store=store, channel_sku="PACK2", product=products["MUG"], quantity_multiplier=2
    )
    for (sku, where), units in sorted(stock.items()):
        if units:
            services.stock_receive(product=products[sku], warehouse=warehouses[where], quantity=units, reference="PO")
    return store


def _order(n: int, version: int, status: str, lines: list[tuple[int, str, int]]) -> ExternalOrder:
    order = make_order(n, status=status)
    made = tuple(
        replace(order.lines[0], sku=sku, quantity=quantity, external_id=f"L{n}-{slot}") for slot, sku, quantity in lines
    )
    return replace(order, lines=made, updated_at=order.updated_at + timedelta(hours=version))


def _snapshot(tenant: Tenant) -> dict[str, Any]:
    names = {
        pk: f"{order}/{line}"
        for pk, order, line in OrderLine.objects.values_list("pk", "order__external_id", "external_id")
    }
    ref = lambda line_ref: names.get(int(line_ref.removeprefix("order-line:")), line_ref)  # noqa: E731
    return {
        "lines": sorted(
            (f"{o}/{e}", s)
            for o, e, s in OrderLine.objects.values_list("order__external_id", "external_id", "stock_state")
        ),
        "orders": sorted(Order.objects.values_list("external_id", "stock_problem")),
        "allocations": sorted(
            (ref(r), state, sku, q, sq, w)
            for r, state, sku, q, sq, w in LineAllocation.objects.values_list(
                "line_ref", "state", "product__sku", "quantity", "shipped_quantity", "warehouse__name"
            )
        ),
        "reservations": sorted(
            (ref(r), sku, w, q)
            for r, sku, w, q in Reservation.objects.values_list(
                "allocation__line_ref", "product__sku", "warehouse__name", "quantity"
            )
        ),
        "levels": sorted(StockLevel.objects.values_list("product__sku", "warehouse__name", "on_hand", "reserved")),
        "movements": sorted(
            StockMovement.objects.values_list(
                "product__sku", "warehouse__name", "kind", "on_hand_delta", "reserved_delta", "reference"
            )
        ),
        "alerts": sorted(
            str(title) for title in Notification.objects.filter(kind="backorder").values_list("title", flat=True)
        ),
    }


lines_strategy = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(SKUS), st.integers(1, 3)),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
)


# No shrinking: each example stores a few pages twice, and shrinking one takes minutes; the failing example is
# printed whole.
@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stock=st.dictionaries(
        st.tuples(st.sampled_from(["MUG", "LAMP", "CUP"]), st.sampled_from(["A", "B"])), st.integers(0, 6)
    ),
    pages=st.lists(
        st.lists(st.tuples(st.integers(1, 5), st.sampled_from(STATUSES), lines_strategy), min_size=1, max_size=5),
        min_size=1,
        max_size=3,
    ),
)
def test_a_page_set_based_ends_where_line_by_line_ends(stock: Any, pages: Any) -> None:
    batch, one_by_one = TenantFactory(), TenantFactory()
    with tenant_scope(batch):
        batch_store = _world(batch, stock)
    with tenant_scope(one_by_one):
        single_store = _world(one_by_one, stock)
    for version, page in enumerate(pages, start=1):
        incoming = [_order(n, version, status, lines) for n, status, lines in page]
        with tenant_scope(batch):
            order_upsert_page(store=batch_store, orders=incoming)
            got = _snapshot(batch)
            assert services.levels_match_ledger(tenant_id=batch.pk) == []
        with tenant_scope(one_by_one), mock.patch.object(allocation, "_holds_nothing", lambda _allocation: False):
            order_upsert_page(store=single_store, orders=incoming)
            want = _snapshot(one_by_one)
        assert got == want, (version, page)

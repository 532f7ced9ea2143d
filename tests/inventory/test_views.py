"""The inventory page: levels per warehouse, waiting lines, search, roles, and no other tenant's stock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import services
from inventory.models import Product, Warehouse
from orders.services import order_upsert_page
from tests.factories import StoreFactory
from tests.inventory.test_stock_pool import _order

pytestmark = pytest.mark.django_db
URL = "/app/inventory/"


def test_empty_state_then_levels_per_warehouse(owner_client: Client, tenant: Tenant) -> None:
    assert reverse("inventory:product-list") == URL
    page = owner_client.get(URL).content.decode()
    assert "No products yet" in page
    assert reverse("inventory:sharing-list") in page  # stock sharing is reached from the inventory pages
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        mug = Product.objects.create(tenant=tenant, sku="MUG-BLUE", name="Blue mug", low_stock_threshold=5)
        shenzhen = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        Warehouse.objects.create(tenant=tenant, name="LA 3PL", kind="third_party")
        services.stock_receive(product=mug, warehouse=shenzhen, quantity=6)
        order_upsert_page(store=store, orders=[_order(1, sku="MUG-BLUE", quantity=2), _order(2, sku="UNKNOWN-SKU")])
    page = owner_client.get(URL).content.decode()
    assert "MUG-BLUE" in page and "Shenzhen" in page and "LA 3PL" in page
    assert "1 order line waits for a SKU mapping." in page
    assert owner_client.get(URL, {"q": "nothing-like-it"}).content.decode().count("No product matches.") == 1


def test_roles_and_other_tenants(
    tenant: Tenant, other_tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable[..., Client]
) -> None:
    with tenant_scope(other_tenant):
        Product.objects.create(tenant=other_tenant, sku="THEIR-SKU", name="Theirs")
    support = client_for(make_member(tenant, Role.SUPPORT))
    assert support.get(URL).status_code == 403
    finance = client_for(make_member(tenant, Role.FINANCE))
    page = finance.get(URL)
    assert page.status_code == 200 and "THEIR-SKU" not in page.content.decode()


def test_a_product_running_out_alerts_once_not_once_per_order(tenant: Tenant, owner: Any) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        mug = Product.objects.create(tenant=tenant, sku="SKU-1", name="Mug")
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        services.stock_receive(product=mug, warehouse=warehouse, quantity=1)
        order_upsert_page(store=store, orders=[_order(n) for n in range(1, 6)])
        alerts = Notification.objects.filter(kind="backorder", recipient=owner.user)
        assert alerts.count() == 1 and "SKU-1" in alerts.get().title


def _mug(tenant: Tenant) -> tuple[Product, Warehouse]:
    with tenant_scope(tenant):
        mug = Product.objects.create(tenant=tenant, sku="MUG-1", name="Mug")
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
    return mug, warehouse


def test_receive_and_adjust_from_the_product_page_are_audited_and_validated(
    owner_client: Client, tenant: Tenant
) -> None:
    mug, warehouse = _mug(tenant)
    url = reverse("inventory:product-detail", args=[mug.pk])
    assert "No movement yet." in owner_client.get(url).content.decode()
    received = owner_client.post(
        url,
        {"action": "receive", "receive-warehouse": warehouse.pk, "receive-quantity": 12, "receive-reference": "PO-7"},
    )
    assert received.status_code == 302
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        order_upsert_page(store=store, orders=[_order(1, sku="MUG-1", quantity=10)])
    too_much = owner_client.post(
        url,
        {
            "action": "adjust",
            "adjust-warehouse": warehouse.pk,
            "adjust-kind": "damaged",
            "adjust-delta": -3,
            "adjust-reason": "Dropped pallet",
        },
    )
    assert too_much.status_code == 400
    assert "Only 2 units are free in Shenzhen (10 are reserved for orders)." in too_much.content.decode()
    no_reason = owner_client.post(
        url, {"action": "adjust", "adjust-warehouse": warehouse.pk, "adjust-kind": "adjustment", "adjust-delta": 1}
    )
    assert no_reason.status_code == 400
    ok = owner_client.post(
        url,
        {
            "action": "adjust",
            "adjust-warehouse": warehouse.pk,
            "adjust-kind": "damaged",
            "adjust-delta": -2,
            "adjust-reason": "Dropped pallet",
        },
    )
    assert ok.status_code == 302
    page = owner_client.get(url).content.decode()
    assert "PO-7" in page and "Dropped pallet" in page
    from acorn.audit.models import AuditEvent

    with tenant_scope(tenant):
        level = mug.levels.get()
        assert (level.on_hand, level.reserved) == (10, 10)
        actions = set(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
        assert {"inventory.stock_received", "inventory.stock_adjusted"} <= actions
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_product_page_roles_and_other_tenants(
    tenant: Tenant,
    other_tenant: Tenant,
    owner_client: Client,
    make_member: Callable[..., Membership],
    client_for: Callable[..., Client],
) -> None:
    mug, warehouse = _mug(tenant)
    url = reverse("inventory:product-detail", args=[mug.pk])
    finance = client_for(make_member(tenant, Role.FINANCE))
    assert finance.get(url).status_code == 200
    post = {"action": "receive", "receive-warehouse": warehouse.pk, "receive-quantity": 5}
    assert finance.post(url, post).status_code == 403  # may look, may not move stock
    theirs, _ = _mug(other_tenant)
    assert owner_client.get(reverse("inventory:product-detail", args=[theirs.pk])).status_code == 404
    with tenant_scope(tenant):
        assert not mug.levels.exists()

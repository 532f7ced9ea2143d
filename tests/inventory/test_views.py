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

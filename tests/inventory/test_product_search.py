"""The product list's search box: a SKU in any case or its start, any part of a name (Chinese too); never
another tenant's products."""

from __future__ import annotations

import pytest
from django.test import Client

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory.catalogue import product_save
from inventory.selectors import product_stock_list

pytestmark = pytest.mark.django_db
URL = "/app/inventory/"


def _products(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        product_save(tenant=tenant, sku="EARBUDS-PRO-BLK", name="无线蓝牙耳机 Pro 黑色")
        product_save(tenant=tenant, sku="MUG-RED", name="Ceramic mug, red")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("earbuds-pro-blk", ["EARBUDS-PRO-BLK"]),  # the SKU in another case
        ("EARB", ["EARBUDS-PRO-BLK"]),  # its start
        ("mug-", ["MUG-RED"]),
        ("蓝牙耳机", ["EARBUDS-PRO-BLK"]),  # part of a Chinese name
        ("CERAMIC", ["MUG-RED"]),  # part of a name, any case
        ("  mug-red ", ["MUG-RED"]),
        ("nothing-like-it", []),
    ],
)
def test_product_search(tenant: Tenant, other_tenant: Tenant, typed: str, expected: list[str]) -> None:
    _products(tenant)
    _products(other_tenant)
    with tenant_scope(tenant):
        found = list(product_stock_list(tenant=tenant, query=typed))
    assert [product.sku for product in found] == expected
    assert {product.tenant_id for product in found} <= {tenant.pk}


def test_the_product_page_searches_this_tenant_only(owner_client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    _products(other_tenant)  # only they have these
    with tenant_scope(tenant):
        product_save(tenant=tenant, sku="LAMP-01", name="台灯")
    assert "LAMP-01" in owner_client.get(URL, {"q": "lamp"}).content.decode()
    assert "LAMP-01" in owner_client.get(URL, {"q": "台灯"}).content.decode()
    page = owner_client.get(URL, {"q": "earbuds"}).content.decode()
    assert "EARBUDS-PRO-BLK" not in page

"""The refund list's search box: an order number with or without "#" (or its start), a SKU in any case
(channel or master); never another tenant's refunds."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.test import Client

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory.models import Product
from orders.models import Order
from orders.services import order_upsert_page
from refunds.models import RefundLine
from tests.channels.test_sync_engine import make_order
from tests.factories import StoreFactory
from tests.refunds.test_console import _refund_ids, make_refund

pytestmark = pytest.mark.django_db
URL = "/app/refunds/"


def _refunds(tenant: Tenant) -> None:
    """R-00001 of Shopify order "#1001", R-00002 of Amazon order 114-3982… (not imported yet), R-00003 of
    a cable; R-00001's line maps to the master SKU EARBUDS-MASTER."""
    with tenant_scope(tenant):
        shop = StoreFactory(tenant=tenant, name="Shop", platform="shopify")
        amazon = StoreFactory(tenant=tenant, name="Amazon")
        order_upsert_page(
            store=shop, orders=[replace(make_order(1), external_id="5123456789012", merchant_order_id="#1001")]
        )
        order = Order.objects.get(tenant=tenant, external_id="5123456789012")
        make_refund(shop, 1, order=order, lines=[("earbuds-pro-blk", 1)])
        make_refund(amazon, 2, order_external_id="114-3982716-5551234", lines=[("MUG-RED", 1)])
        make_refund(amazon, 3, lines=[("CABLE-USB", 1)])
        master = Product.objects.create(tenant=tenant, sku="EARBUDS-MASTER", name="Earbuds")
        RefundLine.objects.filter(refund__external_id="R-00001", tenant=tenant).update(product=master)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("#1001", {"R-00001"}),
        ("1001", {"R-00001"}),
        ("5123456789012", {"R-00001"}),  # the channel's own order id
        ("114-3982716-5551234", {"R-00002"}),
        ("114-39", {"R-00002"}),  # the start of an order number
        ("#10", {"R-00001"}),
        ("EARBUDS-PRO-BLK", {"R-00001"}),  # channel SKU in another case
        ("mug", {"R-00002"}),  # part of a SKU
        ("earbuds-master", {"R-00001"}),  # master SKU in another case
        ("nothing-like-it", set()),
    ],
)
def test_the_refund_search_finds_this_tenants_refunds(
    owner_client: Client, tenant: Tenant, other_tenant: Tenant, typed: str, expected: set[str]
) -> None:
    _refunds(tenant)
    _refunds(other_tenant)
    response = owner_client.get(URL, {"q": typed})
    assert response.status_code == 200
    assert set(_refund_ids(response.content.decode())) == expected


def test_another_tenants_refunds_are_never_found(
    tenant: Tenant, other_tenant: Tenant, client_for: Any, make_member: Any
) -> None:
    _refunds(other_tenant)  # only they have these refunds
    ours = client_for(make_member(tenant))
    for typed in ("#1001", "114-39", "mug", "EARBUDS-MASTER"):
        assert _refund_ids(ours.get(URL, {"q": typed}).content.decode()) == []

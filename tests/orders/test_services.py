"""Orders ingest: idempotent upsert, lines follow the channel, amounts quantised to the currency."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.scoping import tenant_scope
from orders.models import Order, OrderLine
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_upsert_twice_writes_once(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        page = [make_order(1), make_order(2)]
        first = order_upsert_page(store=store, orders=page)
        second = order_upsert_page(store=store, orders=page)
        assert (first.created, second.created, second.skipped) == (2, 0, 2)
        assert Order.objects.count() == 2 and OrderLine.objects.count() == 2


def test_lines_follow_the_channel(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        original = make_order(1)
        order_upsert_page(store=store, orders=[original])
        extra = replace(original.lines[0], external_id="L-extra", sku="SKU-2")
        changed = replace(original, updated_at=original.updated_at + timedelta(hours=1), lines=(extra,))
        order_upsert_page(store=store, orders=[changed])
        assert list(OrderLine.objects.values_list("external_id", "sku")) == [("L-extra", "SKU-2")]


def test_amounts_are_quantised_to_the_currency_minor_unit(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, marketplaces=["JP"], region="FE")
        jpy = replace(
            make_order(1),
            currency="JPY",
            total_amount=Decimal("19940.4"),
            item_amount=Decimal("19940"),
            lines=(replace(make_order(1).lines[0], currency="JPY", unit_price=Decimal("9970.5")),),
        )
        order_upsert_page(store=store, orders=[jpy])
        order = Order.objects.get()
        assert (order.total_amount, order.currency, str(order.total)) == (Decimal(19940), "JPY", "19940 JPY")
        assert OrderLine.objects.get().unit_price_amount == Decimal(9971)


def test_the_same_order_id_in_two_stores_is_two_orders(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        for _ in range(2):
            order_upsert_page(store=StoreFactory(tenant=tenant), orders=[make_order(1)])
        assert Order.objects.count() == 2


def test_order_list_shows_only_my_tenants_orders(
    tenant: Tenant, other_tenant: Tenant, owner_client: Client, other_owner: Membership
) -> None:
    with tenant_scope(tenant):
        order_upsert_page(store=StoreFactory(tenant=tenant), orders=[make_order(1)])
    with tenant_scope(other_tenant):
        order_upsert_page(store=StoreFactory(tenant=other_tenant), orders=[make_order(999)])
    page = owner_client.get(reverse("orders:order-list")).content.decode()
    assert "111-0000001" in page and "111-0000999" not in page
    filtered = owner_client.get(reverse("orders:order-list"), {"status": "shipped"}).content.decode()
    assert "111-0000001" not in filtered and "No orders match" in filtered


def test_order_list_empty_state_without_stores(owner_client: Client) -> None:
    assert "Connect a store" in owner_client.get(reverse("orders:order-list")).content.decode()

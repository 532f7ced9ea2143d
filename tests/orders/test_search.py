"""The order search box finds what a seller types: order numbers with or without "#", their start, SKUs in
any case (channel and master), words of a line's title; never another tenant's orders."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ExternalOrderLine
from inventory.models import Product, SkuMapping
from orders.models import Order, OrderLine
from orders.selectors import order_search_ids
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
URL = "/app/orders/"


def _line(sku: str, title: str) -> ExternalOrderLine:
    return replace(make_order(0).lines[0], external_id=f"L-{sku}", sku=sku, title=title)


def _orders(tenant: Tenant) -> dict[str, Order]:
    """A Shopify order "#1001", an Amazon order 114-3982…, and an unrelated order, in `tenant`."""
    with tenant_scope(tenant):
        shop = StoreFactory(tenant=tenant, name=f"Shop {tenant.slug}")
        order_upsert_page(
            store=shop,
            orders=[
                replace(
                    make_order(1),
                    external_id="5123456789012",  # Shopify's id; the number sellers see is the name
                    merchant_order_id="#1001",
                    lines=(_line("earbuds-pro-blk", "无线蓝牙耳机 Pro 黑色"),),
                ),
                replace(
                    make_order(2),
                    external_id="114-3982716-5551234",
                    lines=(_line("MUG-RED", "Ceramic mug, red"),),
                ),
                replace(make_order(3), external_id="999-0000003", lines=(_line("CABLE-USB", "USB cable"),)),
            ],
        )
        product = Product.objects.create(tenant=tenant, sku="EARBUDS-MASTER", name="Earbuds")
        SkuMapping.objects.create(tenant=tenant, store=shop, channel_sku="earbuds-pro-blk", product=product)
        return {order.external_id: order for order in Order.objects.filter(tenant=tenant)}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("#1001", "5123456789012"),  # as Shopify shows it
        ("1001", "5123456789012"),  # without the "#"
        (" #1001 ", "5123456789012"),
        ("114-3982716-5551234", "114-3982716-5551234"),  # exactly
        ("114-39", "114-3982716-5551234"),  # the start of an order number
        ("#10", "5123456789012"),  # the start of a Shopify number, with "#"
        ("EARBUDS-PRO-BLK", "5123456789012"),  # channel SKU, other case
        ("mug-red", "114-3982716-5551234"),
        ("earbuds-master", "5123456789012"),  # the master SKU the channel SKU is mapped to
        ("蓝牙耳机", "5123456789012"),  # a fragment of a Chinese title
        ("ceramic MUG", "114-3982716-5551234"),  # a fragment of a title, any case
    ],
)
def test_each_spelling_finds_the_order(tenant: Tenant, other_tenant: Tenant, typed: str, expected: str) -> None:
    ours = _orders(tenant)
    theirs = _orders(other_tenant)  # the same orders in another tenant: never found
    with tenant_scope(tenant):
        found = order_search_ids(tenant=tenant, query=typed)
    assert found == [ours[expected].pk]
    assert not set(found) & {order.pk for order in theirs.values()}


def test_nothing_found_and_blank(tenant: Tenant) -> None:
    _orders(tenant)
    with tenant_scope(tenant):
        assert order_search_ids(tenant=tenant, query="no-such-thing") == []
        assert order_search_ids(tenant=tenant, query="  ") == []


def test_the_list_page_searches_this_tenant_only(
    owner_client: Client, tenant: Tenant, other_tenant: Tenant, client_for: Any, make_member: Any
) -> None:
    _orders(tenant)
    _orders(other_tenant)

    def numbers(client: Client, typed: str) -> list[str]:
        response = client.get(URL, {"q": typed})
        assert response.status_code == 200
        return re.findall(r"<code>([\d-]{7,})</code>", response.content.decode())

    assert numbers(owner_client, "#1001") == ["5123456789012"]
    assert numbers(owner_client, "蓝牙耳机") == ["5123456789012"]
    assert numbers(owner_client, "114-39") == ["114-3982716-5551234"]
    # their owner's search finds their own copy, which is a different order
    theirs = client_for(make_member(other_tenant))
    with tenant_scope(other_tenant):
        their_pk = Order.objects.get(tenant=other_tenant, merchant_order_id="#1001").pk
    page = theirs.get(URL, {"q": "1001"}).content.decode()
    assert f"/app/orders/{their_pk}/" in page
    with tenant_scope(tenant):
        our_pk = Order.objects.get(tenant=tenant, merchant_order_id="#1001").pk
    assert f"/app/orders/{our_pk}/" not in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only")
def test_trigram_indexes_exist_on_postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() is not None
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s", ["%_trgm"])
        indexes = dict(cursor.fetchall())
    for name in ("orderline_sku_trgm", "orderline_title_trgm", "order_external_id_trgm", "order_merchant_id_trgm"):
        assert "gin_trgm_ops" in indexes[name] and "upper(" in indexes[name]


def test_a_whole_sku_finds_that_sku_and_a_part_of_one_finds_every_sku_holding_it(tenant: Tenant) -> None:
    # given orders of "MUG-RED" and of "MUG-RED-XL", whose title also names the first
    ours = _orders(tenant)
    with tenant_scope(tenant):
        order_upsert_page(
            store=ours["114-3982716-5551234"].store,
            orders=[replace(make_order(4), external_id="999-0000004", lines=(_line("MUG-RED-XL", "Mug-red, XL"),))],
        )
        xl = Order.objects.get(tenant=tenant, external_id="999-0000004")
        # when / then: a whole SKU, in any case, answers with its own orders only
        assert order_search_ids(tenant=tenant, query="mug-red") == [ours["114-3982716-5551234"].pk]
        assert order_search_ids(tenant=tenant, query="MUG-RED-XL") == [xl.pk]
        # a part of a SKU finds every SKU holding it, newest order first
        assert order_search_ids(tenant=tenant, query="mug-r") == [xl.pk, ours["114-3982716-5551234"].pk]
        assert order_search_ids(tenant=tenant, query="red-x") == [xl.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the index exists on PostgreSQL only")
def test_a_whole_sku_is_read_from_its_index_alone_on_postgresql(tenant: Tenant) -> None:
    # given
    _orders(tenant)
    with tenant_scope(tenant), connection.cursor() as cursor:
        sql, params = (
            OrderLine.objects.filter(tenant=tenant, sku__iexact="mug-red")
            .order_by("-order_id")
            .values_list("order_id", flat=True)[:5000]
            .query.sql_with_params()
        )
        # when the planner may not read the table itself
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then it reads the lines' upper-cased SKU index, in order, with no sort
    assert "orderline_tenant_upper_sku" in plan
    assert "Sort" not in plan

"""The order workspace: filters, keyset pages, exports, the order page; roles and other tenants."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acorn.pagination import keyset_paginate
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import services
from inventory.catalogue import product_save, warehouse_save
from orders.models import Order
from orders.services import order_upsert_page
from tests.channels.test_sync_engine import make_order
from tests.factories import StoreFactory
from tests.inventory.test_stock_pool import _order

pytestmark = pytest.mark.django_db
URL = "/app/orders/"


def _ids(page: str) -> list[str]:
    return re.findall(r"<code>(111-\d{7})</code>", page)


def _next(page: str) -> str | None:
    found = re.search(r'href="(\?[^"]*cursor=[^"]+)">Next', page)
    return found.group(1).replace("&amp;", "&") if found else None


def _previous(page: str) -> str | None:
    found = re.search(r'href="(\?[^"]*cursor=[^"]+)">Previous', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_keyset_pages_walk_forward_and_back_without_gaps(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        base = make_order(1).purchased_at
        # 120 orders, some sharing a purchase time, so the primary key must break ties
        order_upsert_page(
            store=store,
            orders=[replace(make_order(n), purchased_at=base + timedelta(minutes=n // 3)) for n in range(120)],
        )
    seen: list[str] = []
    pages = []
    url: str | None = URL
    while url:
        page = owner_client.get(url if url.startswith("/") else URL + url).content.decode()
        pages.append(page)
        seen += _ids(page)
        url = _next(page)
    assert len(pages) == 3 and len(seen) == 120 == len(set(seen))
    assert "120 orders" in pages[0]
    # back from the last page gives the middle page again, exactly
    back = owner_client.get(URL + (_previous(pages[2]) or "")).content.decode()
    assert _ids(back) == _ids(pages[1])
    # a cursor someone mangled is the first page, not an error
    assert _ids(owner_client.get(URL, {"cursor": "garbage!!"}).content.decode()) == _ids(pages[0])


def test_the_page_costs_the_same_queries_whatever_it_shows(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        order_upsert_page(store=store, orders=[make_order(n) for n in range(3)])
    with CaptureQueriesContext(connection) as few:
        owner_client.get(URL)
    with tenant_scope(tenant):
        order_upsert_page(store=store, orders=[make_order(n) for n in range(3, 60)])
    with CaptureQueriesContext(connection) as many:
        owner_client.get(URL)
    assert len(many) == len(few)


def test_filters_and_search(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        amazon = StoreFactory(tenant=tenant, name="Amazon NA")
        order_upsert_page(
            store=amazon,
            orders=[
                replace(make_order(1), buyer_country="DE", marketplace="DE"),
                replace(make_order(2), status="cancelled", raw_status="Canceled"),
                replace(make_order(3), fulfillment_channel="fba"),
            ],
        )
        other = StoreFactory(tenant=tenant, name="Second store")
        order_upsert_page(store=other, orders=[make_order(4)])
        first_sku = Order.objects.get(external_id="111-0000001").lines.first().sku

    def ids(**params: Any) -> set[str]:
        response = owner_client.get(URL, params)
        assert response.status_code == 200
        return set(_ids(response.content.decode()))

    assert ids(country="de") == {"111-0000001"}
    assert ids(status="cancelled") == {"111-0000002"}
    assert ids(fulfillment="fba") == {"111-0000003"}
    assert ids(store=str(other.pk)) == {"111-0000004"}
    assert ids(q="111-0000003") == {"111-0000003"}
    assert "111-0000001" in ids(q=first_sku)  # a channel SKU finds its orders
    assert ids(q="no-such-thing") == set()
    page = owner_client.get(URL, {"date_from": "2026-02-01", "date_to": "2026-01-01"}).content.decode()
    assert "The end date is before the start date." in page
    assert "Use the two-letter country code" in owner_client.get(URL, {"country": "D1"}).content.decode()


def test_channel_and_marketplace_filters_read_only_this_tenants_stores_of_that_channel(
    owner_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    # given: an Amazon store selling in the US and Germany, a Shopify shop, and another tenant's Shopify shop
    with tenant_scope(tenant):
        amazon = StoreFactory(tenant=tenant, name="Amazon", marketplaces=["US", "DE"])
        order_upsert_page(store=amazon, orders=[make_order(1), replace(make_order(2), marketplace="DE")])
        shop = StoreFactory(tenant=tenant, name="Shop", platform="shopify", region="", marketplaces=[])
        order_upsert_page(store=shop, orders=[replace(make_order(3), marketplace="")])
    with tenant_scope(other_tenant):
        theirs = StoreFactory(tenant=other_tenant, name="Theirs", platform="shopify", region="", marketplaces=[])
        order_upsert_page(store=theirs, orders=[replace(make_order(4), marketplace="")])

    def ids(**params: Any) -> set[str]:
        response = owner_client.get(URL, params)
        assert response.status_code == 200
        return set(_ids(response.content.decode()))

    # then
    assert ids() == {"111-0000001", "111-0000002", "111-0000003"}
    assert ids(platform="shopify") == {"111-0000003"}
    assert ids(platform="amazon") == {"111-0000001", "111-0000002"}
    assert ids(platform="woocommerce") == set()  # no store of that channel: nothing, not everything
    assert ids(marketplace="DE") == {"111-0000002"}


def test_exports_carry_every_line_exactly(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="店铺 一号")
        order_upsert_page(store=store, orders=[make_order(1), make_order(2)])
        expected_lines = sum(order.lines.count() for order in Order.objects.all())
    response = owner_client.get(URL + "export.csv", {"status": ""})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][0] == "Order id" and len(rows) == 1 + expected_lines
    assert rows[1][2] == "店铺 一号"
    total_column = rows[0].index("Order total")
    assert re.fullmatch(r"-?\d+\.\d+", rows[1][total_column])  # an exact decimal, not a float's digits

    from openpyxl import load_workbook

    xlsx = owner_client.get(URL + "export.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)), read_only=True).active
    assert sheet is not None
    assert sum(1 for _ in sheet.iter_rows()) == 1 + expected_lines
    assert owner_client.get(URL + "export.pdf").status_code == 404


def test_order_page_shows_stock_history_and_lines(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        warehouse = warehouse_save(tenant=tenant, name="Shenzhen", kind="own", country="CN", active=True)
        mug = product_save(tenant=tenant, sku="SKU-1", name="Mug")
        services.stock_receive(product=mug, warehouse=warehouse, quantity=5)
        order_upsert_page(store=store, orders=[_order(1, status="pending_payment", quantity=2)])
        paid = replace(_order(1, quantity=2), updated_at=_order(1).updated_at + timedelta(hours=1))
        order_upsert_page(store=store, orders=[paid])
        order = Order.objects.get()
    page = owner_client.get(f"{URL}{order.pk}/").content.decode()
    assert "Reserved" in page and "2 \u00d7 SKU-1 @ Shenzhen" in page
    assert page.count("Pending payment") == 1 and "Paid, not shipped" in page  # the history has both steps


def test_roles_and_other_tenants(
    tenant: Tenant,
    other_tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[..., Client],
    other_owner: Membership,
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        order_upsert_page(store=store, orders=[make_order(1)])
        mine = Order.objects.get()
    with tenant_scope(other_tenant):
        order_upsert_page(store=StoreFactory(tenant=other_tenant), orders=[make_order(2)])
    support = client_for(make_member(tenant, Role.SUPPORT))
    assert support.get(URL).status_code == 200
    assert support.get(URL + "export.csv").status_code == 403
    theirs = client_for(other_owner)
    assert theirs.get(f"{URL}{mine.pk}/").status_code == 404
    assert _ids(theirs.get(URL, {"q": "111-0000001"}).content.decode()) == []
    exported = b"".join(theirs.get(URL + "export.csv").streaming_content).decode()
    assert "111-0000001" not in exported and "111-0000002" in exported


def test_keyset_paginate_on_ascending_order(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        order_upsert_page(store=store, orders=[make_order(n) for n in range(7)])
        orders = Order.objects.filter(tenant=tenant)
        first = keyset_paginate(orders, ordering="purchased_at", cursor=None, per_page=3)
        second = keyset_paginate(orders, ordering="purchased_at", cursor=first.next_cursor, per_page=3)
        third = keyset_paginate(orders, ordering="purchased_at", cursor=second.next_cursor, per_page=3)
        everything = [o.pk for o in orders.order_by("purchased_at", "pk")]
        assert [o.pk for o in first.object_list + second.object_list + third.object_list] == everything
        assert not first.has_previous and not third.has_next and len(third.object_list) == 1
        assert keyset_paginate(
            orders, ordering="purchased_at", cursor=third.previous_cursor, per_page=3
        ).object_list == (second.object_list)


def test_the_csv_export_walks_every_order_across_chunks(owner_client: Client, tenant: Tenant, monkeypatch: Any) -> None:
    from orders import exports

    monkeypatch.setattr(exports, "CHUNK", 4)  # several chunks, with ties on the purchase time at the seams
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        base = make_order(1).purchased_at
        order_upsert_page(
            store=store,
            orders=[replace(make_order(n), purchased_at=base + timedelta(minutes=n // 3)) for n in range(11)],
        )
    body = b"".join(owner_client.get(URL + "export.csv").streaming_content).decode("utf-8")
    ids = [row[0] for row in csv.reader(io.StringIO(body.lstrip("\ufeff")))][1:]
    assert sorted(ids) == sorted(f"111-{n:07d}" for n in range(11))


@pytest.mark.parametrize(
    ("language", "labels"),
    [
        ("en", ["Amazon", "Paid, not shipped", "Cancelled", "Merchant", "FBA", "Unmapped SKU"]),
        ("zh-hans", ["亚马逊", "已付款未发货", "已取消", "自发货", "FBA", "未映射 SKU"]),
    ],
)
def test_each_row_names_its_channel_status_fulfilment_and_stock_problem_in_the_reader_s_language(
    owner_client: Client, tenant: Tenant, language: str, labels: list[str]
) -> None:
    # given a paid merchant order with an unmapped SKU and a cancelled FBA order
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon NA")
        order_upsert_page(
            store=store,
            orders=[make_order(1), replace(make_order(2), status="cancelled", fulfillment_channel="fba")],
        )
        paid = Order.objects.get(external_id="111-0000001")
        cancelled = Order.objects.get(external_id="111-0000002")
        Order.objects.filter(pk=paid.pk).update(stock_problem="unmapped")
    owner_client.post(reverse("set_language"), {"language": language, "next": URL})
    # when
    page = owner_client.get(URL).content.decode()

    # then each row says it in the reader's language, and links to its order
    def row(order: Order) -> str:
        start = page.index(f'href="/app/orders/{order.pk}/"')
        return page[start : page.index("</tr>", start)]

    channel, paid_label, cancelled_label, merchant, fba, unmapped = labels
    assert page.count(f'<span class="badge text-bg-light border">{channel}</span>') == 2
    assert row(paid).index(paid_label) < row(paid).index(unmapped) < row(paid).index(merchant)
    assert row(cancelled).index(cancelled_label) < row(cancelled).index(fba)
    assert unmapped not in row(cancelled)


def test_the_count_of_a_search_alone_and_with_a_filter(owner_client: Client, tenant: Tenant) -> None:
    # given three orders of one SKU, one of them cancelled, and one order of another SKU
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        order_upsert_page(
            store=store,
            orders=[make_order(1), make_order(2), replace(make_order(3), status="cancelled")],
        )
        order_upsert_page(
            store=store,
            orders=[replace(make_order(4), lines=(replace(make_order(4).lines[0], sku="OTHER-SKU"),))],
        )
    # when / then: the search alone counts what it found, with a filter what both allow
    assert "3 orders" in owner_client.get(URL, {"q": "sku-1"}).content.decode()
    assert "1 order<" in owner_client.get(URL, {"q": "sku-1", "status": "cancelled"}).content.decode()
    assert "1 order<" in owner_client.get(URL, {"q": "other-sku"}).content.decode()

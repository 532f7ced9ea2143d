"""The Profit pages: who sees them, the period's statement and tables, filters with errors, drill-down to
orders, the export, the order page's P&L, and another tenant's figures never shown."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from finance.profit.rollup import profit_refresh
from inventory.models import Product
from orders.models import Order
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory
from tests.finance.test_profit import ORDER_ID, _order, _products, _refund, _settle

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(store: Store, enqueued: EnqueuedTasks) -> Order:
    with tenant_scope(store.tenant):
        earbuds, _case = _products(store.tenant)
        order, earbuds_line, _case_line = _order(store)
        _refund(order, earbuds_line, earbuds)
        _settle(store)
    profit_refresh(tenant=store.tenant, order_ids=[order.pk])
    return order


@pytest.fixture
def store(tenant: Tenant) -> Store:
    from datetime import timedelta

    from acorn.fx.models import ExchangeRate
    from tests.finance.test_profit import PLACED

    tenant.reporting_currency = "CNY"
    tenant.save(update_fields=["reporting_currency"])
    ExchangeRate.objects.create(
        base="USD", quote="CNY", rate=Decimal("7.1"), rate_date=(PLACED - timedelta(days=1)).date(), source="test"
    )
    return StoreFactory(tenant=tenant, platform="amazon", name="Amazon US")


def _member(
    tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable[[Membership], Client], role: str
) -> Client:
    return client_for(make_member(tenant, role))


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.FINANCE])
def test_the_roles_that_see_profit(
    order: Order, make_member: Callable[..., Membership], client_for: Callable[[Membership], Client], role: str
) -> None:
    client = _member(order.tenant, make_member, client_for, role)
    response = client.get(reverse("finance:profit"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "151.69" in body  # the order's net in CNY, this month
    assert "EAR-PRO" in body and "Estimated" in body


def test_support_sees_no_profit(
    order: Order, make_member: Callable[..., Membership], client_for: Callable[[Membership], Client]
) -> None:
    client = _member(order.tenant, make_member, client_for, Role.SUPPORT)
    assert client.get(reverse("finance:profit")).status_code == 403
    assert client.get(reverse("finance:profit-export", args=["csv"])).status_code == 403
    page = client.get(reverse("orders:order-detail", args=[order.pk]))
    if page.status_code == 200:  # support may see orders, never their profit
        assert 'id="order-profit"' not in page.content.decode()


def test_breakdowns_sorts_and_the_statement(order: Order, owner_client: Client) -> None:
    for by in ("sku", "store", "country"):
        for sort in ("-net", "label", "-margin", "cogs"):
            response = owner_client.get(reverse("finance:profit"), {"by": by, "sort": sort, "period": "90"})
            assert response.status_code == 200
    body = owner_client.get(reverse("finance:profit"), {"by": "store"}).content.decode()
    assert "Amazon US" in body
    body = owner_client.get(reverse("finance:profit"), {"by": "country"}).content.decode()
    assert ">US<" in body
    body = owner_client.get(reverse("finance:profit"), {"period": "90"}).content.decode()
    assert "532.50" in body and "-65.78" in body  # sales and cost of goods, digits grouped by the filter
    assert 'id="profit-chart-data"' in body


def test_a_bad_period_says_what_is_wrong(order: Order, owner_client: Client) -> None:
    response = owner_client.get(
        reverse("finance:profit"), {"period": "custom", "start": "2026-05-02", "end": "2026-05-01"}
    )
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    response = owner_client.get(reverse("finance:profit"), {"period": "custom"})
    assert "Choose the first day of the period." in response.content.decode()


def test_an_empty_period_says_so(owner_client: Client) -> None:
    body = owner_client.get(reverse("finance:profit")).content.decode()
    assert "No sales in this period yet." in body


def test_drill_down_from_a_sku_to_its_orders_and_the_order_pnl(order: Order, owner_client: Client) -> None:
    with tenant_scope(order.tenant):
        earbuds = Product.objects.get(sku="EAR-PRO")
    body = owner_client.get(reverse("finance:profit-product", args=[earbuds.pk]), {"period": "90"}).content.decode()
    assert ORDER_ID in body
    assert reverse("orders:order-detail", args=[order.pk]) in body
    page = owner_client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert 'id="order-profit"' in page
    assert "21.37" in page and "151.69" in page  # the net in USD and in CNY
    assert "7.1" in page  # the rate, with its date and source


def test_export_csv_and_xlsx(order: Order, owner_client: Client) -> None:
    response = owner_client.get(reverse("finance:profit-export", args=["csv"]), {"period": "90"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, data = rows[0], rows[1:]
    assert header[2] == "SKU" and header[-1] == "Currency"
    net = header.index("Net profit")
    assert sorted(row[2] for row in data) == ["CASE", "EAR-PRO"]
    assert sum(Decimal(row[net]) for row in data) == Decimal("151.69")
    response = owner_client.get(reverse("finance:profit-export", args=["xlsx"]), {"period": "90", "by": "country"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    assert values[1][2] == "US"
    assert owner_client.get(reverse("finance:profit-export", args=["pdf"])).status_code == 404


def test_another_tenant_sees_none_of_it(
    order: Order,
    other_tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    client = client_for(make_member(other_tenant, Role.OWNER))
    body = client.get(reverse("finance:profit"), {"period": "90"}).content.decode()
    assert "EAR-PRO" not in body and "No sales in this period yet." in body
    with tenant_scope(order.tenant):
        earbuds = Product.objects.get(sku="EAR-PRO")
    assert client.get(reverse("finance:profit-product", args=[earbuds.pk])).status_code == 404
    response = client.get(reverse("finance:profit-export", args=["csv"]), {"period": "90"})
    assert len(list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))) == 1
    assert client.get(reverse("orders:order-detail", args=[order.pk])).status_code == 404


def test_chinese(order: Order, owner_client: Client) -> None:
    owner_client.cookies["django_language"] = "zh-hans"
    body = owner_client.get(
        reverse("finance:profit"), {"period": "90"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "利润" in body


@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1)"])
def test_the_export_neutralises_a_store_name_that_looks_like_a_formula(
    order: Order, store: Store, owner_client: Client, text: str
) -> None:
    # given the store renamed by its seller to something a spreadsheet would run
    with tenant_scope(store.tenant):
        Store.objects.filter(pk=store.pk).update(name=text)
    params = {"period": "90", "by": "store"}
    # when / then: an apostrophe in the CSV
    response = owner_client.get(reverse("finance:profit-export", args=["csv"]), params)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().removeprefix("\ufeff"))))
    assert [row[2] for row in rows[1:]] == ["'" + text]
    # and a string cell in the workbook, the net profit a number
    response = owner_client.get(reverse("finance:profit-export", args=["xlsx"]), params)
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    cells = list(sheet.iter_rows())
    header = [cell.value for cell in cells[0]]
    label = cells[1][2]
    assert label.data_type == "s" and label.value == text
    assert cells[1][header.index("Net profit")].data_type == "n"

"""The dashboard's sales at a glance: the window against the one before (orders, units, revenue, refunds, net
in the reporting currency), leaders by store, country and SKU, the trend, what needs attention — read from
the profit rollups, only for members who may read profit, never another tenant's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store, StoreStatus
from finance.profit.glance import sales_glance
from finance.profit.models import FactKind, ProfitFact
from finance.profit.rollup import rollup_refresh
from inventory.models import Product
from orders.models import Order, StockProblem
from tests.factories import StoreFactory
from tests.finance.console_data import make_order

pytestmark = pytest.mark.django_db
_keys = count(1)


def _today() -> date:
    return timezone.now().astimezone(UTC).date()


def _fact(tenant: Tenant, day: date, *, store: Store, country: str, **money: Any) -> ProfitFact:
    figures = {name: Decimal(str(value)) for name, value in money.items() if name not in ("units", "product", "kind")}
    net = sum(figures.values(), Decimal(0))
    return ProfitFact(
        tenant=tenant,
        key=f"test:{next(_keys)}",
        kind=money.get("kind", FactKind.SALE),
        day=day,
        store=store,
        country=country,
        product=money.get("product"),
        units=money.get("units", 0),
        currency="USD",
        reporting_currency=tenant.reporting_currency,
        net_amount=net,
        net=net,
        settled=True,
        **figures,
    )


def _sell(tenant: Tenant) -> tuple[Store, Store]:
    """Today: 100 in store A (US, 2 mugs) and a 20 refund; yesterday 50 in store B (DE); 8 days ago 60."""
    today = _today()
    with tenant_scope(tenant):
        shop_a = StoreFactory(tenant=tenant, name="Shop A")
        shop_b = StoreFactory(tenant=tenant, name="Shop B", platform="shopify", region="", marketplaces=[])
        mug = Product.objects.create(tenant=tenant, sku="MUG-1", name="Mug")
        ProfitFact.objects.bulk_create(
            [
                _fact(tenant, today, store=shop_a, country="US", sales=100, cogs=-30, units=2, product=mug),
                _fact(tenant, today, store=shop_a, country="US", refunds=-20, kind=FactKind.REFUND, product=mug),
                _fact(tenant, today - timedelta(days=1), store=shop_b, country="DE", sales=50, units=1, product=mug),
                _fact(tenant, today - timedelta(days=8), store=shop_b, country="DE", sales=60, units=1, product=mug),
            ]
        )
        days = [today - timedelta(days=n) for n in range(10)]
        rollup_refresh(tenant=tenant, store_days=[(store.pk, day) for store in (shop_a, shop_b) for day in days])
    return shop_a, shop_b


def test_the_week_against_the_week_before(tenant: Tenant) -> None:
    _sell(tenant)
    with tenant_scope(tenant):
        glance = sales_glance(tenant=tenant, days=7, today=_today())
    figures = {figure.key: figure for figure in glance.figures}
    assert (figures["revenue"].current, figures["revenue"].previous) == (Decimal(150), Decimal(60))
    assert figures["revenue"].change == Decimal("150.0") and figures["revenue"].good is True
    assert figures["refunds"].current == Decimal(20) and figures["refunds"].good is None  # none before
    assert figures["units"].current == 3
    assert figures["net"].current == Decimal(100)  # 150 - 30 cost - 20 refunded
    assert [row.label for row in glance.stores] == ["Shop A", "Shop B"]
    assert [row.label for row in glance.countries] == ["US", "DE"]
    assert [row.label for row in glance.skus] == ["MUG-1"]
    assert len(glance.chart["labels"]) == 30 and glance.chart["labels"][-1] == _today().isoformat()


def test_the_dashboard_shows_the_window_asked_for(tenant: Tenant, owner_client: Client) -> None:
    _sell(tenant)
    week = owner_client.get(reverse("console:dashboard")).content.decode()
    assert "Sales at a glance" in week and "150.00" in week and "150.0 % against before" in week and "▲" in week
    assert 'id="profit-chart-data"' in week
    today = owner_client.get(reverse("console:dashboard"), {"window": "1"}).content.decode()
    assert "100.00" in today and "150.00" not in today
    odd = owner_client.get(reverse("console:dashboard"), {"window": "9999"})
    assert odd.status_code == 200 and "150.00" in odd.content.decode()  # an unknown window: the week


def test_a_new_company_sees_an_empty_state(owner_client: Client) -> None:
    page = owner_client.get(reverse("console:dashboard")).content.decode()
    assert "No sales in this period yet" in page and 'id="profit-chart-data"' not in page


def test_support_sees_no_sales_and_another_tenant_sees_none_of_ours(
    tenant: Tenant,
    other_owner: Membership,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    _sell(tenant)
    support = client_for(make_member(tenant, Role.SUPPORT, "help@alpha.example"))
    page = support.get(reverse("console:dashboard"))
    assert page.status_code == 200 and "Sales at a glance" not in page.content.decode()
    theirs = client_for(other_owner).get(reverse("console:dashboard")).content.decode()
    assert "Shop A" not in theirs and "150.00" not in theirs and "No sales in this period yet" in theirs


def test_what_needs_attention_links_to_where_it_is_dealt_with(tenant: Tenant, owner_client: Client) -> None:
    shop_a, _shop_b = _sell(tenant)
    assert 'id="attention"' not in owner_client.get(reverse("console:dashboard")).content.decode()
    with tenant_scope(tenant):
        Store.objects.filter(pk=shop_a.pk).update(status=StoreStatus.AUTH_INTERRUPTED)
    page = owner_client.get(reverse("console:dashboard")).content.decode()
    assert 'id="attention"' in page and "1 store needs attention" in page
    assert reverse("channels:store-list") in page
    with tenant_scope(tenant):
        order = make_order(shop_a, "111-0000001", "10.00")
        Order.objects.filter(pk=order.pk).update(stock_problem=StockProblem.BACKORDERED)
    page = owner_client.get(reverse("console:dashboard")).content.decode()
    assert "1 order waits for stock" in page and "?stock=backordered" in page

"""The refund-rate alerts pages: everyone in the company sees the alerts (tabs, filters, pages, empty states), the
alert page shows the SKU's trend as chart data, and only owners, admins and operators acknowledge an alert (a note
is required). Another company's alerts answer 404 and are absent from the lists and the dashboard."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory.models import Product
from refunds.models import AlertStatus, RefundRateAlert, RefundRateDaily
from refunds.rates import utc_today
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
LIST_URL = reverse("refunds:alert-list")
Clients = Callable[[Membership], Client]


def make_product(tenant: Tenant, sku: str = "MUG-1", name: str = "Enamel mug") -> Product:
    with tenant_scope(tenant):
        return Product.objects.create(tenant=tenant, sku=sku, name=name)


def make_alert(tenant: Tenant, product: Product, store: Store | None = None, **changes: Any) -> RefundRateAlert:
    values: dict[str, Any] = {
        "tenant": tenant,
        "product": product,
        "store": store,
        "scope_key": f"store:{store.pk}" if store else "all",
        "status": AlertStatus.OPEN,
        "window_days": 30,
        "threshold_percent": Decimal("8.00"),
        "rate_percent": Decimal("12.50"),
        "latest_rate_percent": Decimal("13.00"),
        "units_sold": 40,
        "units_refunded": 5,
        "top_tags": [{"tag": "defective", "label": "Defective", "count": 3}, {"tag": "wrong_item", "count": 1}],
    }
    values.update(changes)
    with tenant_scope(tenant):
        return RefundRateAlert.objects.create(**values)


def make_daily(tenant: Tenant, product: Product, store: Store, days_ago: int, sold: int, refunded: int) -> None:
    with tenant_scope(tenant):
        RefundRateDaily.objects.create(
            tenant=tenant,
            product=product,
            store=store,
            day=utc_today() - timedelta(days=days_ago),
            sold_units=sold,
            refunded_units=refunded,
            cohort_refunded_units=refunded,
        )


def chart_json(page: str) -> dict[str, Any]:
    found = re.search(r'<script id="rate-chart-data" type="application/json">(.*?)</script>', page, re.S)
    assert found, "the chart data is in the page"
    return dict(json.loads(found.group(1)))


@pytest.fixture
def store(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, name="Amazon US")


# --- the list ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_the_alerts(
    role: str, tenant: Tenant, owner: Membership, make_member: Any, client_for: Clients
) -> None:
    # given an open alert
    make_alert(tenant, make_product(tenant))
    member = owner if role == Role.OWNER else make_member(tenant, role)
    # when any member opens the alerts page
    response = client_for(member).get(LIST_URL)
    # then the alert is listed with its SKU, rates, threshold and top tag
    page = response.content.decode()
    assert response.status_code == 200
    assert "MUG-1" in page and "12.50%" in page and "13.00%" in page and "8.00%" in page
    assert "Defective" in page and "All channels" in page


def test_tabs_filter_by_status_and_count(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    # given an open, an acknowledged and a resolved alert
    mug, cap, pen = make_product(tenant), make_product(tenant, "CAP-1", "Cap"), make_product(tenant, "PEN-1", "Pen")
    make_alert(tenant, mug)
    make_alert(tenant, cap, status=AlertStatus.ACKNOWLEDGED, acknowledged_at=timezone.now())
    make_alert(tenant, pen, status=AlertStatus.RESOLVED, resolved_at=timezone.now())
    client = client_for(owner)
    # when each tab is opened
    open_page = client.get(LIST_URL).content.decode()
    acknowledged = client.get(LIST_URL, {"status": "acknowledged"}).content.decode()
    resolved = client.get(LIST_URL, {"status": "resolved"}).content.decode()
    every = client.get(LIST_URL, {"status": "all"}).content.decode()
    # then each shows its own alerts (open by default)
    assert "MUG-1" in open_page and "CAP-1" not in open_page and "PEN-1" not in open_page
    assert "CAP-1" in acknowledged and "MUG-1" not in acknowledged
    assert "PEN-1" in resolved and "MUG-1" not in resolved
    assert all(sku in every for sku in ("MUG-1", "CAP-1", "PEN-1"))


def test_filters_by_store_and_sku(tenant: Tenant, owner: Membership, store: Store, client_for: Clients) -> None:
    # given an alert across channels and one in a store
    make_alert(tenant, make_product(tenant))
    make_alert(tenant, make_product(tenant, "CAP-1", "Cap"), store=store)
    client = client_for(owner)
    # when filtering
    in_store = client.get(LIST_URL, {"store": str(store.pk)}).content.decode()
    across = client.get(LIST_URL, {"store": "all"}).content.decode()
    by_sku = client.get(LIST_URL, {"sku": "cap"}).content.decode()
    # then only the matching alerts are listed
    assert "CAP-1" in in_store and "MUG-1" not in in_store
    assert "MUG-1" in across and "CAP-1" not in across
    assert "CAP-1" in by_sku and "MUG-1" not in by_sku


def test_empty_states(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    client = client_for(owner)
    assert "No open alerts" in client.get(LIST_URL).content.decode()
    assert "No alert matches these filters" in client.get(LIST_URL, {"sku": "NOPE"}).content.decode()
    assert "Nothing here yet" in client.get(LIST_URL, {"status": "resolved"}).content.decode()


def test_pages_of_fifty(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    # given 55 open alerts
    now = timezone.now()
    for n in range(55):
        make_alert(tenant, make_product(tenant, f"SKU-{n:03}", "Thing"), opened_at=now - timedelta(minutes=n))
    client = client_for(owner)
    # when the first page and the next are opened
    first = client.get(LIST_URL).content.decode()
    cursor = re.search(r'href="\?[^"]*cursor=([^"&]+)', first)
    assert cursor is not None
    second = client.get(LIST_URL, {"cursor": cursor.group(1)}).content.decode()
    # then the newest 50 come first and the rest on the next page
    assert "SKU-000" in first and "SKU-049" in first and "SKU-050" not in first
    assert "SKU-050" in second and "SKU-054" in second and "SKU-000" not in second


def test_list_queries_do_not_grow_with_alerts(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    client = client_for(owner)
    make_alert(tenant, make_product(tenant, "A-0"))
    with CaptureQueriesContext(connection) as few:
        client.get(LIST_URL)
    for n in range(1, 20):
        make_alert(tenant, make_product(tenant, f"A-{n}"))
    with CaptureQueriesContext(connection) as many:
        client.get(LIST_URL)
    assert len(many) == len(few)


def test_another_company_alerts_are_not_listed(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, client_for: Clients
) -> None:
    make_alert(other_tenant, make_product(other_tenant, "THEIRS-1"))
    page = client_for(owner).get(LIST_URL, {"status": "all"}).content.decode()
    assert "THEIRS-1" not in page and "Nothing here yet" in page


def test_chinese_page_renders(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    make_alert(tenant, make_product(tenant))
    client = client_for(owner)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(LIST_URL)
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()


# --- one alert -----------------------------------------------------------------------------------------------


def test_alert_page_shows_the_trend_as_chart_data(
    tenant: Tenant, owner: Membership, store: Store, client_for: Clients
) -> None:
    # given a SKU that sold 40 and had 5 refunded today, and its alert
    product = make_product(tenant)
    make_daily(tenant, product, store, 0, 40, 5)
    alert = make_alert(tenant, product)
    # when the alert is opened
    response = client_for(owner).get(reverse("refunds:alert-detail", kwargs={"alert_pk": alert.pk}))
    page = response.content.decode()
    # then the chart data has 90 days of rates as strings and the threshold, and Chart.js is loaded
    data = chart_json(page)
    assert len(data["labels"]) == 90 and len(data["rates"]) == 90
    assert data["rates"][-1] == "12.50" and data["rates"][0] is None
    assert data["threshold"] == "8.00"
    assert "vendor/chartjs-4.6.1/chart.umd.min.js" in page
    assert "Acknowledge alert" in page


def test_chart_library_only_on_chart_pages(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    assert "chartjs" not in client_for(owner).get(LIST_URL).content.decode()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OWNER, True), (Role.ADMIN, True), (Role.OPERATOR, True), (Role.FINANCE, False), (Role.SUPPORT, False)],
)
def test_who_may_acknowledge(
    role: str, allowed: bool, tenant: Tenant, owner: Membership, make_member: Any, client_for: Clients
) -> None:
    # given an open alert
    alert = make_alert(tenant, make_product(tenant))
    member = owner if role == Role.OWNER else make_member(tenant, role)
    client = client_for(member)
    # when the member opens it and acknowledges it with a note
    detail = client.get(reverse("refunds:alert-detail", kwargs={"alert_pk": alert.pk})).content.decode()
    response = client.post(
        reverse("refunds:alert-acknowledge", kwargs={"alert_pk": alert.pk}), {"note": "Supplier batch replaced"}
    )
    # then only owners, admins and operators see the form and may acknowledge
    with tenant_scope(tenant):
        alert.refresh_from_db()
        audited = AuditEvent.objects.filter(action="refunds.alert_acknowledged").count()
    if allowed:
        assert "Acknowledge alert" in detail
        assert response.status_code == 302
        assert alert.status == AlertStatus.ACKNOWLEDGED
        assert alert.acknowledgement_note == "Supplier batch replaced" and alert.acknowledged_by == member.user
        assert audited == 1
    else:
        assert "Acknowledge alert" not in detail
        assert response.status_code == 403
        assert alert.status == AlertStatus.OPEN and audited == 0


def test_acknowledging_needs_a_note(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    alert = make_alert(tenant, make_product(tenant))
    response = client_for(owner).post(
        reverse("refunds:alert-acknowledge", kwargs={"alert_pk": alert.pk}), {"note": " "}
    )
    assert response.status_code == 400
    assert "Write a note" in response.content.decode()
    with tenant_scope(tenant):
        alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_acknowledged_alert_shows_the_note_and_no_form(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    client = client_for(owner)
    alert = make_alert(tenant, make_product(tenant))
    url = reverse("refunds:alert-acknowledge", kwargs={"alert_pk": alert.pk})
    client.post(url, {"note": "Listing photo fixed"})
    # when acknowledged twice, the second is refused politely
    again = client.post(url, {"note": "Again"}, follow=True).content.decode()
    assert "This alert is not open any more." in again
    assert "Listing photo fixed" in again and "Acknowledge alert" not in again


def test_another_company_alert_is_404(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, client_for: Clients
) -> None:
    theirs = make_alert(other_tenant, make_product(other_tenant, "THEIRS-1"))
    client = client_for(owner)
    assert client.get(reverse("refunds:alert-detail", kwargs={"alert_pk": theirs.pk})).status_code == 404
    response = client.post(reverse("refunds:alert-acknowledge", kwargs={"alert_pk": theirs.pk}), {"note": "mine"})
    assert response.status_code == 404
    with tenant_scope(other_tenant):
        theirs.refresh_from_db()
    assert theirs.status == AlertStatus.OPEN


def test_alert_page_in_chinese(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    alert = make_alert(tenant, make_product(tenant))
    client = client_for(owner)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("refunds:alert-detail", kwargs={"alert_pk": alert.pk}))
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()


# --- dashboard and navigation --------------------------------------------------------------------------------


def test_dashboard_counts_open_alerts_and_top_rates(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, store: Store, client_for: Clients
) -> None:
    # given two open alerts, one acknowledged, another company's open alert, and four SKUs with sales
    make_alert(tenant, make_product(tenant, "OPEN-1"))
    make_alert(tenant, make_product(tenant, "OPEN-2"))
    make_alert(tenant, make_product(tenant, "ACK-1"), status=AlertStatus.ACKNOWLEDGED)
    make_alert(other_tenant, make_product(other_tenant, "THEIRS-1"))
    for sku, sold, refunded in (("HI", 40, 8), ("MID", 40, 4), ("LOW", 40, 1), ("ZERO", 40, 0), ("FEW", 5, 4)):
        make_daily(tenant, make_product(tenant, sku), store, 1, sold, refunded)
    other_store = StoreFactory(tenant=other_tenant, name="Theirs")
    make_daily(other_tenant, make_product(other_tenant, "THEIR-HI"), other_store, 1, 40, 30)
    # when the owner opens the dashboard
    page = client_for(owner).get(reverse("console:dashboard")).content.decode()
    # then it shows 2 open alerts and the 3 highest rates with at least the default's 20 units sold
    assert re.search(r'data-testid="open-alerts">2<', page)
    top = page.split('data-testid="top-rates"')[1].split("</ol>")[0]
    assert top.index("HI") < top.index("MID") < top.index("LOW")
    assert "FEW" not in top and "ZERO" not in top and "THEIR-HI" not in page


def test_sidebar_points_to_the_alerts_page(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    page = client_for(owner).get(LIST_URL).content.decode()
    sidebar = page.split('class="acorn-sidebar')[1].split("</nav>")[0]
    assert re.findall(r'class="nav-link active" href="([^"]+)"', sidebar) == [LIST_URL]
    assert 'href="/app/alerts/"' not in page


@pytest.mark.parametrize(
    ("url_name", "active"),
    [("refunds:refund-list", "/app/refunds/"), ("refunds:rate-list", LIST_URL), ("refunds:threshold-list", LIST_URL)],
)
def test_one_sidebar_entry_is_active(
    url_name: str, active: str, tenant: Tenant, owner: Membership, client_for: Clients
) -> None:
    page = client_for(owner).get(reverse(url_name)).content.decode()
    sidebar = page.split('class="acorn-sidebar')[1].split("</nav>")[0]
    assert re.findall(r'class="nav-link active" href="([^"]+)"', sidebar) == [active]


def test_store_alert_trend_is_the_store_rate(
    tenant: Tenant, owner: Membership, store: Store, client_for: Clients
) -> None:
    # given a SKU refunded in the store only, sold elsewhere too, and the store's alert
    product = make_product(tenant)
    make_daily(tenant, product, store, 0, 10, 2)
    make_daily(tenant, product, StoreFactory(tenant=tenant, name="Other"), 0, 30, 0)
    alert = make_alert(tenant, product, store=store)
    # when the alert is opened
    page = client_for(owner).get(reverse("refunds:alert-detail", kwargs={"alert_pk": alert.pk})).content.decode()
    # then the chart shows the store's own rate (2 of 10), not the rate across channels (2 of 40)
    assert chart_json(page)["rates"][-1] == "20.00"
    assert "Amazon US" in page

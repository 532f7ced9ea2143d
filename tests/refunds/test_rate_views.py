"""The refund-rate table per SKU, one SKU's page (trend chart data, channels, reason tags, links) and the threshold
settings: everyone reads them; only owners, admins and operators change thresholds, with validation messages and
an audit trail. Another company's SKUs and thresholds answer 404 and never appear."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from refunds.models import ReasonTag, RefundLine, RefundRateThreshold, ThresholdScope
from tests.factories import StoreFactory
from tests.refunds.test_alert_views import chart_json, make_alert, make_daily, make_product
from tests.refunds.test_rules import make_refund

pytestmark = pytest.mark.django_db
RATES_URL = reverse("refunds:rate-list")
THRESHOLDS_URL = reverse("refunds:threshold-list")
CREATE_URL = reverse("refunds:threshold-create")
Clients = Callable[[Membership], Client]
MANAGERS = [(Role.OWNER, True), (Role.ADMIN, True), (Role.OPERATOR, True), (Role.FINANCE, False), (Role.SUPPORT, False)]


@pytest.fixture
def amazon(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, name="Amazon US", platform="amazon")


@pytest.fixture
def shop(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, name="Web shop", platform="shopify", region="", marketplaces=[])


def member_of(role: str, tenant: Tenant, owner: Membership, make_member: Any) -> Membership:
    return owner if role == Role.OWNER else make_member(tenant, role)


def rows_of(page: str) -> str:
    return page.split('id="rate-table"')[1].split("</table>")[0]


# --- the table -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_refund_rates(
    role: str, tenant: Tenant, owner: Membership, make_member: Any, amazon: Store, client_for: Clients
) -> None:
    # given a mug sold 40 times in 30 days and refunded 5 times
    mug = make_product(tenant)
    make_daily(tenant, mug, amazon, 2, 40, 5)
    # when any member opens the table
    response = client_for(member_of(role, tenant, owner, make_member)).get(RATES_URL)
    # then the mug's rate is there
    page = response.content.decode()
    assert response.status_code == 200
    assert "MUG-1" in page and "12.50%" in page


def test_above_threshold_badge_and_sorting(
    tenant: Tenant, owner: Membership, amazon: Store, client_for: Clients
) -> None:
    # given the default of 8% over 30 days from 20 units, and three SKUs
    for sku, sold, refunded in (("LOW", 40, 1), ("HIGH", 40, 8), ("FEW", 5, 4)):
        make_daily(tenant, make_product(tenant, sku), amazon, 1, sold, refunded)
    client = client_for(owner)
    # when the table is sorted by rate, then by units sold
    by_rate = rows_of(client.get(RATES_URL).content.decode())
    by_sold = rows_of(client.get(RATES_URL, {"sort": "-sold"}).content.decode())
    lowest = rows_of(client.get(RATES_URL, {"sort": "rate"}).content.decode())
    # then the highest rate comes first, and only HIGH (enough units) is marked above
    assert by_rate.index("FEW") < by_rate.index("HIGH") < by_rate.index("LOW")
    assert lowest.index("LOW") < lowest.index("HIGH")
    assert by_sold.index("HIGH") < by_sold.index("FEW") or by_sold.index("LOW") < by_sold.index("FEW")
    assert by_rate.count('data-testid="above-badge"') == 1
    high_row = by_rate.split("HIGH")[1].split("</tr>")[0]
    assert "above-badge" in high_row and "8.00% over 30 days, from 20 units" in high_row


def test_sku_override_applies_in_the_table(
    tenant: Tenant, owner: Membership, amazon: Store, client_for: Clients
) -> None:
    mug = make_product(tenant)
    make_daily(tenant, mug, amazon, 1, 40, 5)
    with tenant_scope(tenant):
        RefundRateThreshold.objects.create(
            tenant=tenant, scope=ThresholdScope.PRODUCT, product=mug, rate_percent=Decimal("20"), window_days=30
        )
    rows = rows_of(client_for(owner).get(RATES_URL).content.decode())
    assert "20.00% over 30 days" in rows and "this SKU" in rows and "above-badge" not in rows


def test_window_basis_store_and_channel(
    tenant: Tenant, owner: Membership, amazon: Store, shop: Store, client_for: Clients
) -> None:
    # given sales 20 days ago in Amazon and today in the web shop
    mug, cap = make_product(tenant), make_product(tenant, "CAP-1", "Cap")
    make_daily(tenant, mug, amazon, 20, 40, 4)
    make_daily(tenant, cap, shop, 0, 10, 1)
    client = client_for(owner)
    # when filtering
    week = rows_of(client.get(RATES_URL, {"window": "7", "basis": "order_date"}).content.decode())
    in_shop = rows_of(client.get(RATES_URL, {"store": str(shop.pk)}).content.decode())
    on_amazon = rows_of(client.get(RATES_URL, {"platform": "amazon"}).content.decode())
    # then each shows its own SKUs
    assert "CAP-1" in week and "MUG-1" not in week
    assert "CAP-1" in in_shop and "MUG-1" not in in_shop
    assert "MUG-1" in on_amazon and "CAP-1" not in on_amazon


def test_rate_table_empty_states(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    client = client_for(owner)
    assert "No stores connected yet" in client.get(RATES_URL).content.decode()
    store = StoreFactory(tenant=tenant)
    assert "No sales or refunds in this window" in client.get(RATES_URL).content.decode()
    filtered = client.get(RATES_URL, {"store": str(store.pk)}).content.decode()
    assert "No sales or refunds in this store or channel" in filtered


def test_invalid_filters_fall_back_to_defaults(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    response = client_for(owner).get(RATES_URL, {"window": "12", "store": "999999", "sort": "evil"})
    assert response.status_code == 200


def test_rate_table_queries_are_bounded(tenant: Tenant, owner: Membership, amazon: Store, client_for: Clients) -> None:
    client = client_for(owner)
    make_daily(tenant, make_product(tenant, "S-0"), amazon, 1, 30, 3)
    client.get(RATES_URL)  # the company default is created on first use
    with CaptureQueriesContext(connection) as few:
        client.get(RATES_URL)
    for n in range(1, 30):
        make_daily(tenant, make_product(tenant, f"S-{n}"), amazon, 1, 30, n % 5)
    with CaptureQueriesContext(connection) as many:
        client.get(RATES_URL)
    assert len(many) == len(few)


def test_another_company_skus_are_absent(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, amazon: Store, client_for: Clients
) -> None:
    theirs = make_product(other_tenant, "THEIRS-1")
    make_daily(other_tenant, theirs, StoreFactory(tenant=other_tenant), 1, 40, 20)
    client = client_for(owner)
    assert "THEIRS-1" not in client.get(RATES_URL).content.decode()
    assert client.get(reverse("refunds:rate-detail", kwargs={"product_pk": theirs.pk})).status_code == 404


# --- one SKU -------------------------------------------------------------------------------------------------


def test_sku_page_chart_channels_reasons_and_links(
    tenant: Tenant, owner: Membership, amazon: Store, shop: Store, client_for: Clients
) -> None:
    # given a mug sold on Amazon and the web shop, with two defective refunds and one "no longer needed"
    mug = make_product(tenant)
    make_daily(tenant, mug, amazon, 1, 30, 3)
    make_daily(tenant, mug, shop, 1, 10, 0)
    with tenant_scope(tenant):
        for tag, quantity in ((ReasonTag.DEFECTIVE, 1), (ReasonTag.DEFECTIVE, 2), (ReasonTag.NO_LONGER_NEEDED, 1)):
            refund = make_refund(tenant, amazon, tag=tag)
            RefundLine.objects.create(tenant=tenant, refund=refund, sku="CH-MUG", product=mug, quantity=quantity)
    # when the SKU page is opened
    response = client_for(owner).get(reverse("refunds:rate-detail", kwargs={"product_pk": mug.pk}))
    page = response.content.decode()
    # then it has the current rate, the chart data, the per-channel rates and the reasons
    assert response.status_code == 200
    assert "7.50%" in page  # 3 of 40
    data = chart_json(page)
    assert len(data["rates"]) == 90 and data["rates"][-1] == "7.50" and data["threshold"] == "8.00"
    channels = page.split('id="channel-table"')[1].split("</table>")[0]
    assert "Amazon" in channels and "10.00%" in channels and "Shopify" in channels and "0.00%" in channels
    reasons = page.split('id="reason-table"')[1].split("</table>")[0]
    assert reasons.index(str(ReasonTag.DEFECTIVE.label)) < reasons.index(str(ReasonTag.NO_LONGER_NEEDED.label))
    assert "67%" in reasons and "33%" in reasons
    assert "/app/refunds/?sku=MUG-1" in page
    assert "vendor/chartjs-4.6.1/chart.umd.min.js" in page


def test_sku_page_links_its_live_alert(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    mug = make_product(tenant)
    alert = make_alert(tenant, mug)
    page = client_for(owner).get(reverse("refunds:rate-detail", kwargs={"product_pk": mug.pk})).content.decode()
    assert reverse("refunds:alert-detail", kwargs={"alert_pk": alert.pk}) in page
    assert "No sales or refunds of this SKU in the window." in page


def test_sku_page_in_chinese(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    mug = make_product(tenant)
    client = client_for(owner)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("refunds:rate-detail", kwargs={"product_pk": mug.pk}))
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()


# --- thresholds ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), MANAGERS)
def test_who_may_change_the_default(
    role: str, allowed: bool, tenant: Tenant, owner: Membership, make_member: Any, client_for: Clients
) -> None:
    client = client_for(member_of(role, tenant, owner, make_member))
    # when the member opens the settings and saves a new default
    page = client.get(THRESHOLDS_URL).content.decode()
    response = client.post(THRESHOLDS_URL, {"rate_percent": "5", "window_days": "7", "min_units_sold": "10"})
    with tenant_scope(tenant):
        default = RefundRateThreshold.objects.get(tenant=tenant, scope=ThresholdScope.DEFAULT)
        audited = AuditEvent.objects.filter(action="refunds.threshold_updated").count()
    # then everyone sees the default; only managers change it (audited)
    if allowed:
        assert 'name="rate_percent"' in page and f'href="{CREATE_URL}"' in page
        assert response.status_code == 302
        assert (default.rate_percent, default.window_days, default.min_units_sold) == (Decimal("5"), 7, 10)
        assert default.enabled is False  # an unticked box turns it off
        assert audited == 1
    else:
        assert 'name="rate_percent"' not in page and f'href="{CREATE_URL}"' not in page
        assert "8.00% over 30 days, from 20 units" in page
        assert response.status_code == 403
        assert default.rate_percent == Decimal("8.00") and audited == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"rate_percent": "0", "window_days": "30", "min_units_sold": "20"}, "rate_percent", "above 0"),
        ({"rate_percent": "101", "window_days": "30", "min_units_sold": "20"}, "rate_percent", "at most 100"),
        ({"rate_percent": "", "window_days": "30", "min_units_sold": "20"}, "rate_percent", "This field is required"),
        ({"rate_percent": "8", "window_days": "14", "min_units_sold": "20"}, "window_days", "Select a valid choice"),
    ],
)
def test_default_validation_messages(
    data: dict[str, str], field: str, message: str, tenant: Tenant, owner: Membership, client_for: Clients
) -> None:
    response = client_for(owner).post(THRESHOLDS_URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_overrides_empty_state(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    assert 'data-testid="thresholds-empty"' in client_for(owner).get(THRESHOLDS_URL).content.decode()


def test_create_edit_and_delete_a_sku_override(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    client = client_for(owner)
    mug = make_product(tenant)
    # when an override for the mug is added
    response = client.post(
        CREATE_URL,
        {"scope": "product", "product": mug.pk, "rate_percent": "15", "window_days": "90", "min_units_sold": "5",
         "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_scope(tenant):
        override = RefundRateThreshold.objects.get(tenant=tenant, scope=ThresholdScope.PRODUCT)
    assert (override.product_id, override.rate_percent, override.window_days) == (mug.pk, Decimal("15"), 90)
    page = client.get(THRESHOLDS_URL).content.decode()
    assert "MUG-1" in page and "15.00%" in page
    # and edited
    edit_url = reverse("refunds:threshold-edit", kwargs={"threshold_pk": override.pk})
    assert client.get(edit_url).status_code == 200
    client.post(
        edit_url,
        {"scope": "product", "product": mug.pk, "rate_percent": "12", "window_days": "30", "min_units_sold": "5",
         "enabled": "on"},
    )  # fmt: skip
    with tenant_scope(tenant):
        override.refresh_from_db()
    assert override.rate_percent == Decimal("12")
    # and deleted
    response = client.post(reverse("refunds:threshold-delete", kwargs={"threshold_pk": override.pk}))
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert not RefundRateThreshold.objects.filter(pk=override.pk).exists()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"refunds.threshold_created", "refunds.threshold_updated", "refunds.threshold_deleted"} <= actions


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scope": "product"}, "Choose the SKU this threshold is for."),
        ({"scope": "store"}, "Choose the store this threshold is for."),
        ({"scope": "category"}, "Choose the product category this threshold is for."),
        ({"scope": "default"}, "Select a valid choice"),
    ],
)
def test_override_validation_messages(
    data: dict[str, str], message: str, tenant: Tenant, owner: Membership, client_for: Clients
) -> None:
    response = client_for(owner).post(
        CREATE_URL, {**data, "rate_percent": "10", "window_days": "30", "min_units_sold": "20"}
    )
    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_second_override_for_the_same_sku_is_refused(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    mug = make_product(tenant)
    data = {"scope": "product", "product": mug.pk, "rate_percent": "10", "window_days": "30", "min_units_sold": "20"}
    client = client_for(owner)
    assert client.post(CREATE_URL, data).status_code == 302
    response = client.post(CREATE_URL, data)
    assert response.status_code == 400
    assert "There is already a threshold for this" in response.content.decode()


@pytest.mark.parametrize(("role", "allowed"), MANAGERS)
def test_who_may_add_overrides(
    role: str, allowed: bool, tenant: Tenant, owner: Membership, make_member: Any, amazon: Store, client_for: Clients
) -> None:
    client = client_for(member_of(role, tenant, owner, make_member))
    data = {"scope": "store", "store": amazon.pk, "rate_percent": "10", "window_days": "30", "min_units_sold": "20"}
    assert client.get(CREATE_URL).status_code == (200 if allowed else 403)
    assert client.post(CREATE_URL, data).status_code == (302 if allowed else 403)
    with tenant_scope(tenant):
        assert RefundRateThreshold.objects.filter(tenant=tenant, scope=ThresholdScope.STORE).exists() == allowed


def test_another_company_threshold_and_sku_are_out_of_reach(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, client_for: Clients
) -> None:
    # given another company's SKU and override
    theirs = make_product(other_tenant, "THEIRS-1")
    with tenant_scope(other_tenant):
        override = RefundRateThreshold.objects.create(
            tenant=other_tenant, scope=ThresholdScope.PRODUCT, product=theirs, rate_percent=Decimal("9")
        )
    client = client_for(owner)
    # then its pages answer 404, it is not listed, and its SKU cannot be chosen
    assert client.get(reverse("refunds:threshold-edit", kwargs={"threshold_pk": override.pk})).status_code == 404
    assert client.post(reverse("refunds:threshold-delete", kwargs={"threshold_pk": override.pk})).status_code == 404
    assert "THEIRS-1" not in client.get(THRESHOLDS_URL).content.decode()
    response = client.post(
        CREATE_URL,
        {"scope": "product", "product": theirs.pk, "rate_percent": "10", "window_days": "30", "min_units_sold": "1"},
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    with tenant_scope(other_tenant):
        assert RefundRateThreshold.objects.filter(tenant=other_tenant).count() == 1


def test_the_default_cannot_be_edited_or_deleted_as_an_override(
    tenant: Tenant, owner: Membership, client_for: Clients
) -> None:
    client = client_for(owner)
    client.get(THRESHOLDS_URL)  # creates the default
    with tenant_scope(tenant):
        default = RefundRateThreshold.objects.get(tenant=tenant, scope=ThresholdScope.DEFAULT)
    assert client.get(reverse("refunds:threshold-edit", kwargs={"threshold_pk": default.pk})).status_code == 404
    assert client.post(reverse("refunds:threshold-delete", kwargs={"threshold_pk": default.pk})).status_code == 404


def test_threshold_pages_in_chinese(tenant: Tenant, owner: Membership, client_for: Clients) -> None:
    client = client_for(owner)
    client.cookies["django_language"] = "zh-hans"
    for url in (THRESHOLDS_URL, CREATE_URL, RATES_URL):
        response = client.get(url)
        assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()

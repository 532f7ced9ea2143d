"""The console pages of costs that belong to no order: list and filters, add and delete by hand, the
advertising report upload with its history, the settings; roles, both languages and another tenant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from finance.profit.models import AdSpendUpload, FulfilmentRate, OtherCost, ProfitSettings
from finance.profit.other_costs import ManualCost, other_cost_create
from inventory.models import Warehouse
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
MakeMember = Callable[..., Membership]
LIST = "finance:profit-other-cost-list"


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon US", marketplaces=["US"])


def _client(role: str, tenant: Tenant, make_member: MakeMember, client_for: ClientFor) -> Client:
    return client_for(make_member(tenant, role))


def _cost(tenant: Tenant, description: str, kind: str = "storage", days_ago: int = 2) -> OtherCost:
    with tenant_scope(tenant):
        return other_cost_create(
            tenant=tenant,
            actor=None,
            entry=ManualCost(
                kind=kind,
                day=(timezone.now() - timedelta(days=days_ago)).date(),
                amount=Decimal("12.50"),
                currency="USD",
                description=description,
            ),
        )


def test_list_shows_the_tenants_costs_and_never_another_tenants(
    tenant: Tenant, other_tenant: Tenant, owner_client: Client
) -> None:
    _cost(tenant, "3PL storage October")
    _cost(other_tenant, "SECRET other tenant cost")

    body = owner_client.get(reverse(LIST)).content.decode()

    assert "3PL storage October" in body
    assert "-12.50 USD" in body
    assert "SECRET" not in body


def test_list_filters_by_kind_and_period(tenant: Tenant, owner_client: Client) -> None:
    _cost(tenant, "Old storage", days_ago=40)
    _cost(tenant, "Recent storage", days_ago=2)
    _cost(tenant, "Recent subscription", kind="subscription", days_ago=2)
    since = (timezone.now() - timedelta(days=10)).date().isoformat()

    body = owner_client.get(reverse(LIST), {"kind": "storage", "day_from": since}).content.decode()

    assert "Recent storage" in body
    assert "Old storage" not in body and "Recent subscription" not in body


def test_empty_list_in_both_languages(owner_client: Client) -> None:
    assert "No costs of no order yet." in owner_client.get(reverse(LIST)).content.decode()
    owner_client.cookies["django_language"] = "zh-hans"
    body = owner_client.get(reverse(LIST)).content.decode()
    assert 'lang="zh-hans"' in body
    assert "无订单费用" in body


def test_add_a_cost_by_hand(tenant: Tenant, store: Store, owner_client: Client) -> None:
    day = (timezone.now() - timedelta(days=1)).date()
    response = owner_client.post(
        reverse("finance:profit-other-cost-create"),
        {"kind": "subscription", "day": day.isoformat(), "amount": "39.99", "currency": "USD", "store": store.pk,
         "description": "Helium 10"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_scope(tenant):
        cost = OtherCost.objects.get(tenant=tenant)
    assert (cost.kind, cost.amount, cost.store_id, cost.source) == (
        "subscription",
        Decimal("-39.99"),
        store.pk,
        "manual",
    )


def test_add_form_says_what_is_wrong(owner_client: Client) -> None:
    future = (timezone.now() + timedelta(days=10)).date()
    response = owner_client.post(
        reverse("finance:profit-other-cost-create"),
        {"kind": "storage", "day": future.isoformat(), "amount": "-3", "currency": "USD"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "This day is in the future." in body
    assert "Ensure this value is greater than or equal to 0.0001." in body


def test_another_tenants_store_cannot_be_chosen(other_tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(other_tenant):
        theirs = StoreFactory(tenant=other_tenant)
    day = (timezone.now() - timedelta(days=1)).date()
    response = owner_client.post(
        reverse("finance:profit-other-cost-create"),
        {"kind": "storage", "day": day.isoformat(), "amount": "3", "currency": "USD", "store": theirs.pk},
    )
    assert response.status_code == 400


def test_delete_a_cost_entered_by_hand(tenant: Tenant, owner_client: Client) -> None:
    cost = _cost(tenant, "typo")
    response = owner_client.post(reverse("finance:profit-other-cost-delete", args=[cost.pk]))
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert not OtherCost.objects.filter(pk=cost.pk).exists()


def test_another_tenants_cost_is_404_and_untouched(other_tenant: Tenant, owner_client: Client) -> None:
    theirs = _cost(other_tenant, "theirs")
    assert owner_client.post(reverse("finance:profit-other-cost-delete", args=[theirs.pk])).status_code == 404
    with tenant_scope(other_tenant):
        assert OtherCost.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("role", [Role.SUPPORT])
def test_support_sees_none_of_it(role: str, tenant: Tenant, make_member: MakeMember, client_for: ClientFor) -> None:
    client = _client(role, tenant, make_member, client_for)
    for name in (
        LIST,
        "finance:profit-other-cost-create",
        "finance:profit-ad-report-upload",
        "finance:profit-settings",
    ):
        assert client.get(reverse(name)).status_code == 403, name


def test_operator_sees_but_does_not_enter(tenant: Tenant, make_member: MakeMember, client_for: ClientFor) -> None:
    cost = _cost(tenant, "visible to operators")
    client = _client(Role.OPERATOR, tenant, make_member, client_for)
    body = client.get(reverse(LIST)).content.decode()
    assert "visible to operators" in body and "Add a cost" not in body
    assert client.get(reverse("finance:profit-ad-report-upload")).status_code == 200
    assert client.post(reverse("finance:profit-ad-report-upload")).status_code == 403
    assert client.get(reverse("finance:profit-other-cost-create")).status_code == 403
    assert client.post(reverse("finance:profit-other-cost-delete", args=[cost.pk])).status_code == 403
    assert client.get(reverse("finance:profit-settings")).status_code == 403


def _report(day: str, spend: str) -> bytes:
    return f"date,sku,spend,currency,campaign\n{day},MUG,{spend},USD,Spring\n".encode()


def test_upload_an_advertising_report(
    tenant: Tenant, store: Store, make_member: MakeMember, client_for: ClientFor
) -> None:
    client = _client(Role.FINANCE, tenant, make_member, client_for)
    day = (timezone.now() - timedelta(days=2)).date().isoformat()
    response = client.post(
        reverse("finance:profit-ad-report-upload"),
        {"store": store.pk, "file": SimpleUploadedFile("ads.csv", _report(day, "4.20"), content_type="text/csv")},
    )
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert OtherCost.objects.get(tenant=tenant).amount == Decimal("-4.20")
    body = client.get(reverse("finance:profit-ad-report-upload")).content.decode()
    assert "ads.csv" in body and "-4.20 USD" in body  # the history


def test_a_refused_report_lists_its_problems(tenant: Tenant, store: Store, owner_client: Client) -> None:
    response = owner_client.post(
        reverse("finance:profit-ad-report-upload"),
        {"store": store.pk, "file": SimpleUploadedFile("ads.csv", _report("not a day", "1"), content_type="text/csv")},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was saved" in body and "Not a date: not a day" in body
    assert "<code>ads.csv</code>" in body  # the file, line, column and what is wrong
    with tenant_scope(tenant):
        assert not AdSpendUpload.objects.filter(tenant=tenant).exists()


def test_upload_refuses_another_tenants_store(other_tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(other_tenant):
        theirs = StoreFactory(tenant=other_tenant)
    day = (timezone.now() - timedelta(days=2)).date().isoformat()
    response = owner_client.post(
        reverse("finance:profit-ad-report-upload"),
        {"store": theirs.pk, "file": SimpleUploadedFile("ads.csv", _report(day, "1"), content_type="text/csv")},
    )
    assert response.status_code == 400
    with tenant_scope(other_tenant):
        assert not OtherCost.objects.filter(tenant=other_tenant).exists()


def test_settings_save_spreading_and_fulfilment_rates(tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(tenant):
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
    url = reverse("finance:profit-settings")
    assert "Shenzhen" in owner_client.get(url).content.decode()
    prefix = f"rate-{warehouse.pk}"
    response = owner_client.post(
        url,
        {"spread_unassigned_costs": "on", f"{prefix}-currency": "CNY", f"{prefix}-per_order": "4",
         f"{prefix}-per_unit": "0.5"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert ProfitSettings.objects.get(tenant=tenant).spread_unassigned_costs
        rate = FulfilmentRate.objects.get(tenant=tenant)
        assert (rate.currency, rate.per_order_amount, rate.per_unit_amount) == ("CNY", Decimal(4), Decimal("0.5"))


def test_settings_in_chinese(owner_client: Client) -> None:
    owner_client.cookies["django_language"] = "zh-hans"
    body = owner_client.get(reverse("finance:profit-settings")).content.decode()
    assert "利润设置" in body

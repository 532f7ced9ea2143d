"""The costs pages: the list with current averages (search, pages, empty), a product's history, recording a
receipt (field errors), the CSV import (all or nothing), deleting, both languages, the roles, and another
tenant's ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from finance.profit.costs import cost_receipt_record
from finance.profit.models import CostAverage, CostReceipt
from finance.profit.views import section_tabs
from inventory.models import Product, Warehouse

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
MakeMember = Callable[..., Membership]
D = Decimal


@pytest.fixture
def warehouse(tenant: Tenant) -> Warehouse:
    with tenant_scope(tenant):
        return Warehouse.objects.create(tenant=tenant, name="Shenzhen")


@pytest.fixture
def product(tenant: Tenant) -> Product:
    with tenant_scope(tenant):
        return Product.objects.create(tenant=tenant, sku="MUG-1", name="Blue mug")


@pytest.fixture
def receipt(tenant: Tenant, product: Product, warehouse: Warehouse) -> CostReceipt:
    with tenant_scope(tenant):
        return cost_receipt_record(
            tenant=tenant, product=product, warehouse=warehouse, quantity=100, currency="USD", unit_cost="5.00",
            freight="50", received_at=timezone.now() - timedelta(days=20), reference="PO-77",
        )  # fmt: skip


@pytest.fixture
def finance_client(tenant: Tenant, make_member: MakeMember, client_for: ClientFor) -> Client:
    return client_for(make_member(tenant, Role.FINANCE))


def _page(client: Client, url: str, language: str = "en") -> str:
    if language == "zh-hans":
        client.cookies["django_language"] = "zh-hans"
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.content.decode()
    assert f'lang="{language}"' in body
    return body


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _form(product: str = "MUG-1", **changes: str) -> dict[str, str]:
    day = (timezone.now() - timedelta(days=2)).date().isoformat()
    return {
        "product": product, "warehouse": "", "received": day, "quantity": "50", "currency": "USD",
        "unit_cost": "6.00", "freight": "", "duty": "", "other": "", "reference": "PO-78", "note": "",
        **changes,
    }  # fmt: skip


# --- pages, both languages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", {"list": "Average unit cost per warehouse", "history": "Receipts and averages",
                "form": "Landed unit cost", "import": "Import costs"}),
        ("zh-hans", {"list": "各仓库平均单位成本", "history": "入库记录与平均成本", "form": "到岸单位成本",
                     "import": "导入成本"}),
    ],
)  # fmt: skip
def test_the_costs_pages_show_their_data_in_both_languages(
    owner_client: Client, product: Product, receipt: CostReceipt, language: str, words: dict[str, str]
) -> None:
    body = _page(owner_client, reverse("finance:profit-cost-list"), language)
    assert words["list"] in body and "MUG-1" in body and "5.50 USD" in body and "Shenzhen" in body
    assert reverse("finance:profit-cost-history", args=[product.pk]) in body
    body = _page(owner_client, reverse("finance:profit-cost-history", args=[product.pk]), language)
    assert words["history"] in body and "PO-77" in body and "50.00" in body and "5.50 USD" in body
    body = _page(owner_client, reverse("finance:profit-cost-receipt-create") + "?product=MUG-1", language)
    assert words["form"] in body and 'value="MUG-1"' in body
    body = _page(owner_client, reverse("finance:profit-cost-import"), language)
    assert words["import"] in body and "unit_cost" in body


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_empty_costs_page_says_so(owner_client: Client, language: str) -> None:
    body = _page(owner_client, reverse("finance:profit-cost-list"), language)
    assert 'id="cost-table"' not in body
    assert ("No products yet." if language == "en" else "还没有产品。") in body


def test_the_list_searches_by_sku_and_pages(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        for n in range(55):
            Product.objects.create(tenant=tenant, sku=f"CUP-{n:03}", name=f"Cup {n}")
        Product.objects.create(tenant=tenant, sku="PLATE-1", name="Plate")
    body = _page(owner_client, reverse("finance:profit-cost-list") + "?q=plate")
    assert "PLATE-1" in body and "CUP-000" not in body
    body = _page(owner_client, reverse("finance:profit-cost-list") + "?q=nothing-like-this")
    assert "No product matches this search." in body
    first = owner_client.get(reverse("finance:profit-cost-list"))
    assert "CUP-000" in first.content.decode() and "PLATE-1" not in first.content.decode()
    cursor = first.context["page"].next_cursor
    assert cursor
    second = _page(owner_client, reverse("finance:profit-cost-list") + f"?cursor={cursor}")
    assert "PLATE-1" in second and "CUP-000" not in second


def test_the_profit_section_has_the_costs_tab_and_the_costs_pages_are_in_it(
    tenant: Tenant, make_member: MakeMember, client_for: ClientFor
) -> None:
    client = client_for(make_member(tenant, Role.OPERATOR))  # no finance section, but profit
    body = _page(client, reverse("finance:profit"))
    assert f'href="{reverse("finance:profit-cost-list")}"' in body
    response = client.get(reverse("finance:profit-cost-list"))
    active = [item["key"] for item in response.context["nav_items"] if item["active"]]
    assert active == ["profit"]


# --- recording and deleting ----------------------------------------------------------------------------------


def test_finance_records_a_receipt_and_the_average_moves(
    finance_client: Client, tenant: Tenant, product: Product, receipt: CostReceipt
) -> None:
    # when: 50 units at 6.00 for all warehouses, freight 10 (landed 6.20)
    response = finance_client.post(reverse("finance:profit-cost-receipt-create"), _form(freight="10"), follow=True)

    # then
    assert response.redirect_chain[-1][0] == reverse("finance:profit-cost-history", args=[product.pk])
    assert _messages(response) == ["Cost recorded: 50 units of MUG-1 at 6.2000 USD each, landed."]
    with tenant_scope(tenant):
        created = CostReceipt.objects.get(reference="PO-78")
        assert (created.warehouse, created.quantity, created.landed_unit_cost_amount) == (None, 50, D("6.2000"))
        assert CostAverage.objects.get(receipt=created).unit_cost_amount == D("6.2000")  # nothing in the ledger
        assert AuditEvent.objects.filter(tenant=tenant, action="profit.cost_receipt_recorded").count() == 2


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"product": "NOPE"}, "product", "No product has this SKU."),
        ({"quantity": "0"}, "quantity", "Enter a whole number of units above 0."),
        ({"unit_cost": "-1"}, "unit_cost", "Enter an amount of 0 or more."),
        ({"freight": "abc"}, "freight", "Enter a number."),
        ({"duty": "1.123456"}, "duty", "Ensure that there are no more than 4 decimal places."),
        ({"received": "2999-01-01"}, "received", "The day is in the future."),
        ({"currency": "THB"}, "currency", "No exchange rate from THB to USD"),
    ],
)
def test_a_bad_receipt_names_the_field_and_writes_nothing(
    finance_client: Client, tenant: Tenant, product: Product, receipt: CostReceipt, changes: dict[str, str],
    field: str, message: str,
) -> None:  # fmt: skip
    response = finance_client.post(reverse("finance:profit-cost-receipt-create"), _form(**changes))
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors
    with tenant_scope(tenant):
        assert CostReceipt.objects.count() == 1


def test_a_receipt_is_deleted_and_the_average_recomputed(
    finance_client: Client, tenant: Tenant, product: Product, warehouse: Warehouse, receipt: CostReceipt
) -> None:
    url = reverse("finance:profit-cost-receipt-delete", args=[product.pk])
    response = finance_client.post(url, {"receipt": receipt.pk}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("finance:profit-cost-history", args=[product.pk])
    assert _messages(response) == ["Receipt deleted; the average cost was computed again from that day."]
    with tenant_scope(tenant):
        assert not CostReceipt.objects.exists() and not CostAverage.objects.exists()
    assert finance_client.post(url, {"receipt": "nonsense"}).status_code == 404


# --- the import -----------------------------------------------------------------------------------------------


def _upload(client: Client, text: str, name: str = "costs.csv") -> Any:
    return client.post(reverse("finance:profit-cost-import"), {"file": SimpleUploadedFile(name, text.encode())})


def test_an_imported_file_records_every_row(
    finance_client: Client, tenant: Tenant, product: Product, warehouse: Warehouse
) -> None:
    day = (timezone.now() - timedelta(days=5)).date()
    text = (
        "sku,warehouse,received,units,currency,unit_cost,freight,duty,other,reference\n"
        f"MUG-1,Shenzhen,{day},10,USD,4.00,5,,,PO-1\n"
    )
    response = _upload(finance_client, text)
    assert response.status_code == 302 and response["Location"] == reverse("finance:profit-cost-list")
    with tenant_scope(tenant):
        assert CostReceipt.objects.get().landed_unit_cost_amount == D("4.5000")


def test_an_import_with_errors_lists_them_and_writes_nothing(
    finance_client: Client, tenant: Tenant, product: Product, warehouse: Warehouse
) -> None:
    day = (timezone.now() - timedelta(days=5)).date()
    text = (
        "sku,warehouse,received,units,currency,unit_cost\n"
        f"MUG-1,Shenzhen,{day},10,USD,4.00\n"
        f"MUG-1,Shenzhen,{day},ten,USD,4.00\n"
    )
    response = _upload(finance_client, text)
    assert response.status_code == 400
    body = response.content.decode()
    assert (
        'id="import-problems"' in body and "<code>units</code>" in body and "A whole number of units above 0." in body
    )
    with tenant_scope(tenant):
        assert not CostReceipt.objects.exists()


# --- roles and tenants -------------------------------------------------------------------------------------------


def test_an_operator_sees_costs_but_cannot_change_them(
    tenant: Tenant, make_member: MakeMember, client_for: ClientFor, product: Product, receipt: CostReceipt
) -> None:
    client = client_for(make_member(tenant, Role.OPERATOR))
    body = _page(client, reverse("finance:profit-cost-list"))
    assert "MUG-1" in body and reverse("finance:profit-cost-receipt-create") not in body
    body = _page(client, reverse("finance:profit-cost-history", args=[product.pk]))
    assert reverse("finance:profit-cost-receipt-delete", args=[product.pk]) not in body
    assert client.get(reverse("finance:profit-cost-receipt-create")).status_code == 403
    assert client.post(reverse("finance:profit-cost-receipt-create"), _form()).status_code == 403
    assert client.post(reverse("finance:profit-cost-import")).status_code == 403
    url = reverse("finance:profit-cost-receipt-delete", args=[product.pk])
    assert client.post(url, {"receipt": receipt.pk}).status_code == 403
    with tenant_scope(tenant):
        assert CostReceipt.objects.count() == 1


def test_support_sees_no_costs(
    tenant: Tenant, make_member: MakeMember, client_for: ClientFor, product: Product, receipt: CostReceipt
) -> None:
    client = client_for(make_member(tenant, Role.SUPPORT))
    for url in (
        reverse("finance:profit-cost-list"),
        reverse("finance:profit-cost-history", args=[product.pk]),
        reverse("finance:profit-cost-receipt-create"),
        reverse("finance:profit-cost-import"),
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            reverse("finance:profit-cost-receipt-delete", args=[product.pk]), {"receipt": receipt.pk}
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("role", "shown"),
    [(Role.SUPPORT, False), (Role.OPERATOR, True), (Role.FINANCE, True), (Role.ADMIN, True), (Role.OWNER, True)],
)
def test_the_costs_tab_is_for_those_who_see_profit(
    tenant: Tenant, make_member: MakeMember, rf: RequestFactory, role: str, shown: bool
) -> None:
    request = rf.get("/")
    request.membership = make_member(tenant, role)
    keys = [tab["key"] for tab in section_tabs(request, "costs")]
    assert ("costs" in keys) is shown


def test_another_tenant_cannot_see_or_change_the_costs(
    other_owner: Membership, client_for: ClientFor, tenant: Tenant, product: Product, receipt: CostReceipt
) -> None:
    client = client_for(other_owner)
    assert client.get(reverse("finance:profit-cost-history", args=[product.pk])).status_code == 404
    url = reverse("finance:profit-cost-receipt-delete", args=[product.pk])
    assert client.post(url, {"receipt": receipt.pk}).status_code == 404
    body = _page(client, reverse("finance:profit-cost-list") + "?q=MUG")
    assert "MUG-1" not in body
    # the SKU of another company is not a product here
    response = client.post(reverse("finance:profit-cost-receipt-create"), _form())
    assert response.status_code == 400 and "product" in response.context["form"].errors
    with tenant_scope(tenant):
        assert CostReceipt.objects.count() == 1


def test_a_receipt_of_another_product_is_not_deleted_through_this_one(
    owner_client: Client, tenant: Tenant, receipt: CostReceipt
) -> None:
    with tenant_scope(tenant):
        other = Product.objects.create(tenant=tenant, sku="LID-1", name="Lid")
    url = reverse("finance:profit-cost-receipt-delete", args=[other.pk])
    assert owner_client.post(url, {"receipt": receipt.pk}).status_code == 404
    with tenant_scope(tenant):
        assert CostReceipt.objects.filter(pk=receipt.pk).exists()

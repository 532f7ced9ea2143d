"""Export of raw refund details: every field, one row per line, filters applied, spreadsheet-safe text;
roles and other tenants."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from refunds import exports
from refunds.models import Refund, RefundComponents
from tests.factories import StoreFactory
from tests.refunds.test_console import make_refund

pytestmark = pytest.mark.django_db
CSV_URL = "/app/refunds/export.csv"
XLSX_URL = "/app/refunds/export.xlsx"


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def _xlsx(response: Any) -> list[tuple[Any, ...]]:
    from openpyxl import load_workbook

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    assert sheet is not None
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def test_csv_has_every_field_one_row_per_line(owner_client: Client, tenant: Tenant) -> None:
    # given: a refund with two lines, one without lines, in a store with a Chinese name
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="店铺 一号")
        make_refund(
            store,
            1,
            lines=[("SKU-1", 1), ("SKU-2", 3)],
            customer_comment="质量很差",
            raw={"AdjustmentEventList": [{"SellerSKU": "SKU-1"}]},
            tax_amount=Decimal("-0.8000"),
        )
        make_refund(store, 2, lines=[])
    # when
    rows = _csv(owner_client.get(CSV_URL))
    # then
    header, body = rows[0], rows[1:]
    assert len(body) == 3  # two lines of the first refund, one row for the one without lines
    assert header[0] == "Refund (ACORN id)" and "Line (ACORN id)" in header
    for field in RefundComponents.COMPONENT_FIELDS.values():  # every component, refund and line
        label = str(Refund._meta.get_field(field).verbose_name)
        assert f"Refund: {label}" in header and f"Line: {label}" in header
    by_column = [dict(zip(header, row, strict=True)) for row in body]
    newest_first = [row["Refund id"] for row in by_column]
    assert newest_first == ["R-00002", "R-00001", "R-00001"]
    first = by_column[1]
    assert first["Store"] == "店铺 一号" and first["Customer comment"] == "质量很差"
    assert first["Channel SKU"] == "SKU-1" and by_column[2]["Channel SKU"] == "SKU-2"
    assert first["Refund: tax"] == "-0.8000" and first["Refunded to the buyer"] == "10.0000"
    assert first["Currency"] == "USD" and first["Amount in the reporting currency"] == "72.0000"
    assert first["Seen in"] == "amazon_finances" and first["Status"] == "Refunded"
    assert '"SellerSKU": "SKU-1"' in first["As the channel sent it"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first["Refunded (UTC)"])
    assert by_column[0]["Channel SKU"] == "" and by_column[0]["Line (ACORN id)"] == ""


def test_formula_looking_text_is_neutralised(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        make_refund(
            StoreFactory(tenant=tenant), 1, customer_comment='=HYPERLINK("http://evil.example","click")', lines=[]
        )
    rows = _csv(owner_client.get(CSV_URL))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Customer comment"].startswith("'=HYPERLINK")
    assert row["Refund: item price"] == "-10.0000"  # a negative amount is a number, not escaped
    cells = _xlsx(owner_client.get(XLSX_URL))
    comment = cells[0].index("Customer comment")
    assert cells[1][comment] == '=HYPERLINK("http://evil.example","click")'  # kept as text, not run


def test_the_lists_filters_apply(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        make_refund(store, 1, status="pending_approval", origin="console")
        make_refund(store, 2)
        make_refund(store, 3, lines=[("MUG-RED", 1)])
    ids = [row[5] for row in _csv(owner_client.get(CSV_URL, {"status": "pending_approval"}))[1:]]
    assert ids == ["R-00001"]
    ids = [row[5] for row in _csv(owner_client.get(CSV_URL, {"sku": "MUG-RED"}))[1:]]
    assert ids == ["R-00003"]
    assert owner_client.get(CSV_URL, {"date_from": "2026-10-02", "date_to": "2026-10-01"}).status_code == 400


def test_xlsx_rows_numbers_and_cap(owner_client: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        make_refund(store, 1, lines=[("SKU-1", 1), ("SKU-2", 1)])
        make_refund(store, 2)
    cells = _xlsx(owner_client.get(XLSX_URL))
    assert len(cells) == 1 + 3
    amount = cells[0].index("Refunded to the buyer")
    assert cells[1][amount] == 10  # a number in the workbook
    monkeypatch.setattr(exports, "XLSX_MAX_REFUNDS", 1)
    refused = owner_client.get(XLSX_URL)
    assert refused.status_code == 400 and "export CSV" in refused.content.decode()
    assert owner_client.get("/app/refunds/export.pdf").status_code == 404


def test_export_reads_in_chunks_not_per_refund(owner_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        for n in range(3):
            make_refund(store, n)
    with CaptureQueriesContext(connection) as few:
        assert len(_csv(owner_client.get(CSV_URL))) == 4
    with tenant_scope(tenant):
        for n in range(3, 40):
            make_refund(store, n, lines=[("SKU-1", 1), ("SKU-2", 1)])
    with CaptureQueriesContext(connection) as many:
        assert len(_csv(owner_client.get(CSV_URL))) == 1 + 3 + 37 * 2
    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OWNER, True), (Role.ADMIN, True), (Role.FINANCE, True), (Role.OPERATOR, False), (Role.SUPPORT, False)],
)
def test_only_owner_admin_and_finance_export(
    role: str,
    allowed: bool,
    tenant: Tenant,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    with tenant_scope(tenant):
        make_refund(StoreFactory(tenant=tenant), 1)
    client = client_for(make_member(tenant, role))
    assert client.get(CSV_URL).status_code == (200 if allowed else 403)
    assert client.get(XLSX_URL).status_code == (200 if allowed else 403)
    assert ("Export CSV" in client.get("/app/refunds/").content.decode()) is allowed


def test_other_tenants_refunds_are_not_exported(
    tenant: Tenant, other_tenant: Tenant, other_owner: Membership, client_for: Callable[[Membership], Client]
) -> None:
    with tenant_scope(tenant):
        make_refund(StoreFactory(tenant=tenant), 1)
    with tenant_scope(other_tenant):
        make_refund(StoreFactory(tenant=other_tenant), 2)
    client = client_for(other_owner)
    assert [row[5] for row in _csv(client.get(CSV_URL))[1:]] == ["R-00002"]
    assert [row[5] for row in _xlsx(client.get(XLSX_URL))[1:]] == ["R-00002"]

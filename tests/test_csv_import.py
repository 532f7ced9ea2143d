"""The CSV-import scaffolding both imports (SKU mappings, tracking numbers) stand on."""

from __future__ import annotations

import pytest

from acorn import csv_import
from acorn.csv_import import CsvImportFormat, ImportResult, csv_import_rows, header_key


def _extra_rule(columns: list[str], result: ImportResult) -> None:
    if "a" not in columns and "b" not in columns:
        result.problem(1, "a", "a or b")


FORMAT = CsvImportFormat(
    columns=("key", "a", "b"),
    required=("key",),
    encodings=("utf-8-sig", "gb18030"),
    encoding_problem="not text",
    no_rows_problem="no rows",
    restore_escaped_text=True,
    header_check=_extra_rule,
)


def _read(data: bytes) -> tuple[list[tuple[int, dict[str, str]]], ImportResult]:
    result = ImportResult()
    return csv_import_rows(data=data, csv_format=FORMAT, result=result), result


def test_rows_come_with_their_line_stripped_and_restored() -> None:
    # given a file with a byte-order mark, a blank line, a quoted cell over two lines and an escaped formula
    data = '\ufeffKey; A\nk1; x \n\nk2;"two\nlines"\nk3;\'=1+1\n'.encode()
    # when
    rows, result = _read(data)
    # then: semicolons found, the header read, every row with the line it starts on
    assert result.imported
    assert rows == [
        (2, {"key": "k1", "a": "x"}),
        (4, {"key": "k2", "a": "two\nlines"}),
        (6, {"key": "k3", "a": "=1+1"}),
    ]


def test_gb18030_is_read_when_utf_8_is_not() -> None:
    rows, result = _read("key,a\n深圳,杯子\n".encode("gb18030"))
    assert result.imported and rows == [(2, {"key": "深圳", "a": "杯子"})]


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (b"", [(1, "")]),
        (b"key,colour,key\n", [(1, "colour"), (1, "key"), (1, "a")]),
        (b"a\nx\n", [(1, "key")]),
        (b"key,a\n", [(2, "")]),
        (b"key,a\nk,x,surplus\n", [(2, "")]),
        ("key,a\n".encode("utf-16"), [(0, "")]),
        (b"key,a\nk," + b"x" * 200_000 + b"\n", [(2, "")]),  # a cell past csv's field limit
    ],
)
def test_a_file_that_is_wrong_as_a_whole_reports_where(data: bytes, problems: list[tuple[int, str]]) -> None:
    # when
    rows, result = _read(data)
    # then
    assert [(problem.line, problem.column) for problem in result.problems] == problems
    assert not result.imported and not rows


def test_too_large_and_too_long_files_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # given small limits
    monkeypatch.setattr(csv_import, "MAX_IMPORT_BYTES", 40)
    monkeypatch.setattr(csv_import, "MAX_IMPORT_ROWS", 2)
    # when / then
    _rows, result = _read(b"key,a\n" + b"k,x\n" * 10)
    assert [problem.line for problem in result.problems] == [0]
    rows, result = _read(b"key,a\nk1,x\nk2,x\nk3,x\n")
    assert rows == [] and [problem.line for problem in result.problems] == [4]


def test_only_the_first_problems_are_listed_but_all_are_counted() -> None:
    # given
    result = ImportResult()
    # when
    for line in range(csv_import.MAX_REPORTED_PROBLEMS + 5):
        result.problem(line, "", "wrong")
    # then
    assert len(result.problems) == csv_import.MAX_REPORTED_PROBLEMS and result.unreported == 5


@pytest.mark.parametrize(("cell", "key"), [("Channel SKU", "channel_sku"), (" ship-date ", "ship_date")])
def test_header_cells_are_read_as_column_names(cell: str, key: str) -> None:
    assert header_key(cell) == key

"""CSV and XLSX cells that a spreadsheet shows as data and never runs: the one place for the rule.

Text in ACORN's files comes from channels, buyers and tenants (titles, SKUs, store names, customer comments),
and the people who open the files are staff with access to everything. A cell that starts like a formula
(CSV injection, CWE-1236) is neutralised by the strictest of the published rules: OWASP's "CSV Injection"
characters (``=`` ``+`` ``-`` ``@``, tab and carriage return) plus ASVS 5.0 §1.2.10's NUL. In CSV such a
text gets a leading apostrophe, which Excel, LibreOffice and Google Sheets show as "this is text"; an import
of ACORN's own file takes it off again (`csv_text_restore`), so a round trip changes nothing. Numbers are
never escaped: a Decimal is written as its exact string (a negative amount stays a number). In XLSX every
text cell is typed as a string, so nothing in it is a live formula, and characters a workbook cannot hold
(control characters) are dropped instead of failing the export.

CSV is streamed line by line through `csv_writer()` (whose ``writerow`` returns the line instead of writing
it) with a UTF-8 byte-order mark first, so that Excel reads Chinese text right. A workbook is written by
`xlsx_file` in openpyxl's write-only mode (constant memory), every cell, header included, through `xlsx_cell`.
No other module makes a csv.writer or a Workbook (tests/test_architecture.py checks it).
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

if TYPE_CHECKING:
    from _csv import Writer as CsvWriter

    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

BYTE_ORDER_MARK = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def csv_text_safe(text: str) -> str:
    """The text with a leading apostrophe when a spreadsheet would run it as a formula; else unchanged."""
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


def csv_text_restore(text: str) -> str:
    """Undo `csv_text_safe` on a cell read back from one of ACORN's own files (a round trip changes nothing)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS) else text


def csv_cell(value: Any) -> Any:
    """A value ready for csv.writer: a Decimal as its exact string, text made safe, anything else as it is
    (None is written as an empty cell)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return csv_text_safe(value)
    return value


class _Echo:
    """A file-like object whose write() hands the text back, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_writer() -> CsvWriter:
    """A csv.writer whose writerow() returns the CSV line instead of writing it (for streamed responses)."""
    return csv.writer(_Echo())


def csv_lines(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """A whole CSV file, line by line: the byte-order mark and the header, then every row with its cells
    made safe (`csv_cell`). Lazy: each row is read only when its line is asked for."""
    writer = csv_writer()
    yield BYTE_ORDER_MARK + writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def xlsx_cell(sheet: WriteOnlyWorksheet, value: Any, *, number_format: str | None = None) -> WriteOnlyCell:
    """A write-only workbook cell: text typed as a string (never a formula, control characters dropped),
    a Decimal as a number in `number_format` when one is given, anything else as openpyxl types it."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if number_format is not None and isinstance(value, Decimal):
        cell.number_format = number_format
    return cell


def xlsx_file(
    *,
    sheet_title: str,
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    number_format: str | Callable[[Sequence[Any]], str | None] | None = None,
) -> IO[bytes]:
    """A one-sheet workbook in a temporary file (rewound), written row by row in write-only mode, every cell
    through `xlsx_cell`. `number_format` is the Decimal cells' format: one for the file, or a function of the
    row (e.g. by the row's currency)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    sheet.append([xlsx_cell(sheet, value) for value in header])
    for row in rows:
        row_format = number_format(row) if callable(number_format) else number_format
        sheet.append([xlsx_cell(sheet, value, number_format=row_format) for value in row])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 -- handed to the response, which closes it
    workbook.save(handle)
    handle.seek(0)
    return handle

"""The scaffolding of the console's CSV imports (SKU mappings, tracking numbers): a file is checked whole and
imports all of its rows or none, and every problem is reported with its line and column.

This module reads the file: its size, its encoding, the delimiter (comma, semicolon or tab, from the first
line), the header (known columns, none twice, the required ones present) and the rows (blank lines skipped,
no cells beyond the header, at most `MAX_IMPORT_ROWS`). It hands the importing app each row as its line
number and a dict of the file's columns, stripped; what a row means, and writing it, is that app's business.
Cells that ACORN's own exports escaped against formula injection can be read back as they were
(`CsvImportFormat.restore_escaped_text`). `spreadsheet_import_rows` reads an XLSX workbook's first sheet the same
way (row 1 being the header, so its row numbers are the lines named) and a CSV file otherwise.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from acorn.spreadsheets import csv_text_restore

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # dev dependency: types only

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 10_000
MAX_REPORTED_PROBLEMS = 200
DELIMITERS = (",", ";", "\t")
XLSX_MAGIC = b"PK\x03\x04"  # a workbook is a zip file

# (line of the file, the header being line 1; {column: the cell as read}); an app may replace a cell by its
# cleaned value while checking the row.
CsvRow = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class ImportProblem:
    line: int  # of the file, the header being line 1 (0: the whole file)
    column: str  # the CSV column, "" for the whole line or file
    message: str


@dataclass
class ImportResult:
    """What an import found; the importing app's result adds its own counts."""

    problems: list[ImportProblem] = field(default_factory=list)
    problem_count: int = 0  # problems may hold only the first MAX_REPORTED_PROBLEMS

    @property
    def imported(self) -> bool:
        return not self.problem_count

    @property
    def unreported(self) -> int:
        """Problems beyond the first MAX_REPORTED_PROBLEMS, counted but not listed."""
        return self.problem_count - len(self.problems)

    def problem(self, line: int, column: str, message: str) -> None:
        """Count a problem, and list it while fewer than MAX_REPORTED_PROBLEMS are listed."""
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(ImportProblem(line, column, message))


@dataclass(frozen=True)
class CsvImportFormat:
    """What one kind of import file looks like."""

    columns: tuple[str, ...]
    required: tuple[str, ...]
    encodings: tuple[str, ...]  # tried in order: "utf-8-sig" first, so a byte-order mark is dropped
    encoding_problem: StrOrPromise  # said when none of them reads the file
    no_rows_problem: StrOrPromise  # said when the header has nothing under it
    restore_escaped_text: bool = False  # take off the apostrophe ACORN's exports put before a formula
    header_check: Callable[[list[str], ImportResult], None] | None = None  # more rules for the header


def header_key(name: str) -> str:
    """A header cell as a column name: "Channel SKU" and "channel-sku" both read as "channel_sku"."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _decode(data: bytes, encodings: tuple[str, ...]) -> str | None:
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _read_header(reader: Any, csv_format: CsvImportFormat, result: ImportResult) -> list[str] | None:
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        result.problem(
            1,
            "",
            _("The file is empty: the first line names the columns, e.g. %(columns)s.")
            % {"columns": ",".join(csv_format.columns)},
        )
        return None
    columns = [header_key(name) for name in header]
    for index, name in enumerate(columns):
        if name and name not in csv_format.columns:
            result.problem(
                1,
                name,
                _("Unknown column. The columns are %(columns)s.") % {"columns": ", ".join(csv_format.columns)},
            )
        elif name and name in columns[:index]:
            result.problem(1, name, _("This column appears twice."))
    for name in csv_format.required:
        if name not in columns:
            result.problem(1, name, _("Missing column."))
    if csv_format.header_check is not None:
        csv_format.header_check(columns, result)
    return None if result.problem_count else columns


def _read_rows(reader: Any, columns: list[str], csv_format: CsvImportFormat, result: ImportResult) -> list[CsvRow]:
    rows: list[CsvRow] = []
    last_line = reader.line_num  # the header's last line
    for cells in reader:
        line, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (spreadsheets add them at the end)
        if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
            result.problem(line, "", _("This line has more cells than the header has columns."))
            continue
        values = {name: cells[i].strip() if i < len(cells) else "" for i, name in enumerate(columns) if name}
        if csv_format.restore_escaped_text:
            values = {name: csv_text_restore(value) for name, value in values.items()}
        rows.append((line, values))
        if len(rows) > MAX_IMPORT_ROWS:
            result.problem(line, "", _("More than %(max)d rows: split the file.") % {"max": MAX_IMPORT_ROWS})
            return []
    if not rows and not result.problem_count:
        result.problem(2, "", str(csv_format.no_rows_problem))
    return rows


def csv_import_rows(*, data: bytes, csv_format: CsvImportFormat, result: ImportResult) -> list[CsvRow]:
    """The rows of an uploaded file, each as (line, {column: stripped cell}) for the columns the file has.
    Every problem of the file as a whole and of its header and row shapes goes into `result`; the rows are
    for checking and writing only when `result` has none. Reads `data` only; no other side effect."""
    if len(data) > MAX_IMPORT_BYTES:
        result.problem(0, "", _("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_IMPORT_BYTES // 2**20})
        return []
    text = _decode(data, csv_format.encodings)
    if text is None:
        result.problem(0, "", str(csv_format.encoding_problem))
        return []
    first_line = text.split("\n", 1)[0]
    delimiter = next((d for d in DELIMITERS if d in first_line), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        columns = _read_header(reader, csv_format, result)
        if columns is None:
            return []
        return _read_rows(reader, columns, csv_format, result)
    except csv.Error as error:
        result.problem(reader.line_num, "", _("The file is not valid CSV: %(error)s") % {"error": error})
        return []


# --- XLSX as CSV ------------------------------------------------------------------------------------------


def _xlsx_text(value: Any) -> str:
    """A workbook cell as the text a CSV would hold: days as YYYY-MM-DD, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time.min else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        # openpyxl reads numeric cells as float: the shortest repr is the number the sheet shows, which
        # Decimal then reads exactly (never Decimal(float), which would carry binary noise).
        return str(int(value)) if value.is_integer() else repr(value)
    # One physical line per row, so the CSV's line numbers stay the sheet's row numbers.
    return str(value).replace("\r", " ").replace("\n", " ")


def _xlsx_as_csv(data: bytes, result: ImportResult) -> bytes | None:
    """The first sheet of an XLSX workbook as UTF-8 CSV bytes; None (and a problem) when it cannot be read."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        result.problem(0, "", _("The file is not a readable XLSX workbook; save it as XLSX or CSV UTF-8."))
        return None
    try:
        sheet = workbook.worksheets[0]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for index, row in enumerate(sheet.iter_rows(values_only=True)):
            if index > MAX_IMPORT_ROWS + 1:  # the CSV reader reports the row limit
                break
            writer.writerow([_xlsx_text(value) for value in row])
    finally:
        workbook.close()
    return out.getvalue().encode("utf-8")


def spreadsheet_import_rows(*, data: bytes, csv_format: CsvImportFormat, result: ImportResult) -> list[CsvRow]:
    """`csv_import_rows` for an uploaded CSV or XLSX file, told apart by its first bytes (a workbook is read
    from its first sheet). Reads `data` only; no other side effect."""
    if data.startswith(XLSX_MAGIC):
        converted = _xlsx_as_csv(data, result)
        if converted is None:
            return []
        data = converted
    return csv_import_rows(data=data, csv_format=csv_format, result=result)

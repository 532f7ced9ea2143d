"""The one parser of the ECB's euro reference-rate files, used by `load_exchange_rates` and the daily fetch.

The ECB publishes (www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/):

* ``eurofxref.zip``: ``eurofxref.csv``, the latest working day, one header and one data line, cells separated
  by ", " and a trailing separator: ``Date, USD, JPY, …, ZAR, `` / ``10 February 2023, 1.0690, 139.88, …, ``
  (the date written out in English);
* ``eurofxref-hist.zip``: ``eurofxref-hist.csv``, every working day since 1999, newest first, ISO dates, no
  spaces, ``N/A`` where a currency had no rate that day (currencies since replaced by the euro, or suspended):
  ``Date,USD,JPY,BGN,CYP,…,ZAR,`` / ``2021-12-01,1.1314,128.27,1.9558,N/A,…``.

Both are EUR-based: a cell is how many units of the column's currency one euro buys. A plain CSV (already
unzipped) reads the same. Anything else raises `ReferenceFileError` naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from acorn.money import validate_currency_code

REFERENCE_BASE = "EUR"
# The daily file writes its date out in English ("10 February 2023"), whatever the reader's locale.
_MONTHS = {
    name: number
    for number, name in enumerate(
        (
            "january", "february", "march", "april", "may", "june",
            "july", "august", "september", "october", "november", "december",
        ),
        start=1,
    )
}  # fmt: skip


class ReferenceFileError(ValueError):
    """The file is not an ECB reference-rate file; the message names the file, line and column."""


@dataclass(frozen=True)
class ReferenceRate:
    """One euro buys `rate` units of `quote` on `day`."""

    quote: str
    day: date
    rate: Decimal


def _day(text: str) -> date:
    """An ISO date (the history file) or "10 February 2023" (the daily file)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parts = text.split()
    if len(parts) != 3 or parts[1].lower() not in _MONTHS:
        raise ValueError(text)
    return date(int(parts[2]), _MONTHS[parts[1].lower()], int(parts[0]))


def reference_text(content: bytes, *, name: str) -> str:
    """The CSV text of a downloaded file: the one CSV member of a zip archive, or the bytes themselves."""
    if content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                members = [member for member in archive.namelist() if member.lower().endswith(".csv")]
                if len(members) != 1:
                    raise ReferenceFileError(f"{name}: the archive holds {len(members)} CSV files, expected one")
                content = archive.read(members[0])
        except zipfile.BadZipFile:
            raise ReferenceFileError(f"{name}: not a readable zip archive") from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReferenceFileError(f"{name}: not UTF-8 text") from None


def reference_rates_parse(text: str, *, name: str) -> list[ReferenceRate]:
    """Every rate of an ECB reference-rate CSV ("N/A" or empty cells are no rate that day)."""
    rows: list[ReferenceRate] = []
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(reader, [])]
    if not header or header[0].lower() != "date":
        raise ReferenceFileError(f"{name}, line 1: the first column must be Date")
    currencies = [code for code in header[1:] if code]
    for code in currencies:
        try:
            validate_currency_code(code)
        except ValidationError:
            raise ReferenceFileError(f"{name}, line 1: {code!r} is not an ISO 4217 currency") from None
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            day = _day(row[0].strip())
        except ValueError:
            raise ReferenceFileError(f"{name}, line {number}, column Date: {row[0]!r} is not a date") from None
        for code, cell in zip(currencies, row[1:], strict=False):
            cell = cell.strip()
            if cell in ("", "N/A"):
                continue
            try:
                rate = Decimal(cell)
            except InvalidOperation:
                raise ReferenceFileError(f"{name}, line {number}, column {code}: {cell!r} is not a rate") from None
            if not rate.is_finite() or rate <= 0:
                raise ReferenceFileError(f"{name}, line {number}, column {code}: a rate must be positive")
            rows.append(ReferenceRate(code, day, rate))
    return rows


def reference_file_parse(content: bytes, *, name: str) -> list[ReferenceRate]:
    """`reference_rates_parse` of a downloaded or uploaded file (zip or CSV)."""
    return reference_rates_parse(reference_text(content, name=name), name=name)


def latest_day(rates: list[ReferenceRate]) -> date | None:
    """The newest day among `rates`."""
    return max((rate.day for rate in rates), default=None)

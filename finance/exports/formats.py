"""Journal files an accountant imports: QuickBooks Online CSV, QuickBooks Desktop IIF and Xero manual journal CSV.

Each writer is a pure function from journals (`JournalEntry` rows with their lines, accounts and stores loaded,
see finance.exports.selectors.journals_for_export) to the bytes of the file(s); nothing here reads or writes the
database. A writer refuses (`JournalExportError`, naming the journal or account) instead of writing a file the
importer would reject or, worse, accept wrong. Source tags are those of the finance notes
(../shared/notes/finance-and-accounting.md §3); PRIMARY is the vendor's own help, SECONDARY third-party tools.

QuickBooks Online, "Import journal entries" (notes §3.1)
* Column names `Journal No.`, `Journal Date`, `Account Name`, `Description`, `Debits`, `Credits`: Intuit's own
  list [S71, PRIMARY]. The exporters' squashed spelling (`JournalNo`, `AccountName`) [S72, SECONDARY] is not used.
  `Name`, `Class` and `Location` are Intuit's too [S71]; `Currency` works when multicurrency is on [S75,
  SECONDARY]. Column order: `Journal No., Journal Date, Account Name, Debits, Credits, Description, Name,
  Currency, Location, Class` as the exporters' template has it [S72]; QuickBooks maps columns by name.
* Rows sharing a Journal No. are one entry; each entry balances; a line has its amount in Debits or Credits,
  never both and never negative [S73, S74, SECONDARY]. Journal No. at most 21 characters [S75, SECONDARY].
* Account Name is the account's name as QuickBooks knows it, `Parent:Sub` for a sub-account [S71].
* Dates MM/DD/YYYY for US companies [S73, S74]; DD/MM/YYYY on request (companies outside the US).
* Amounts in the journal's currency with its minor unit (JPY whole yen); `Currency` is that currency. Class = the
  store, Location = the marketplace, both only with tracking on (they import only when the company tracks
  classes / locations [S71]); Name stays empty (no line posts to A/R or A/P).

QuickBooks Desktop, IIF (notes §3.2)
* Tab-separated text [S78, S79; Intuit calls it "ASCII text, TSV"]; the three header rows `!TRNS`, `!SPL`,
  `!ENDTRNS` with the columns TRNSID, TRNSTYPE, DATE, ACCNT, NAME, CLASS, AMOUNT, DOCNUM, MEMO (SPLID on the
  `!SPL` row, as Intuit-derived samples have it [S80, S82]); one TRNS row, then SPL rows, then ENDTRNS per entry.
* TRNSTYPE `GENERAL JOURNAL`, DATE MM/DD/YYYY [S78, S80]; debits positive, credits negative, each block sums
  to 0 [S78, S80, S81]. DOCNUM = journal number, ACCNT = account name, CLASS = store, MEMO = description.
* Lines end CRLF: QuickBooks Desktop is a Windows program and reads the files it writes itself (an inference:
  no source states the line end; CRLF is what a Windows text file has). Tabs and line breaks inside a value are
  replaced by a space, since either would cut the row. The file is UTF-8 (an assumption: Intuit says ASCII;
  non-Latin store names may not survive an old QuickBooks).
* No currency column: a single-currency QuickBooks Desktop file is in the home currency, so a journal in another
  currency is converted with the rate stored on it (see "Foreign currency" below).

Xero, manual journal CSV import (notes §3.3)
* Columns `*Narration, *Date, Description, *AccountCode, *TaxRate, *Amount, TrackingName1, TrackingOption1,
  TrackingName2, TrackingOption2` [S85, PRIMARY]; rows with the same narration and date are one journal, so the
  narration starts with the journal number to keep two journals of one day apart.
* AccountCode is the account's code, not its name [S85]: an account without a code is refused, named.
* TaxRate is mandatory on every line, the rate's full name [S85]: the account's, "Tax Exempt" when it has none.
* Amount positive = debit, negative = credit [S85]. Date dd/mm/yyyy [S85]; MM/DD/YYYY on request (US
  organisations use their regional format, UNCONFIRMED in the notes).
* At most 300 lines per file [S85]: journals go into several files, never split across two. A journal of more
  than 300 lines is refused rather than summarised: the ledger already sums a statement per account, store and
  marketplace (a few dozen lines at most), so such a journal means something is wrong, and a summarised file
  would no longer match the QuickBooks files and the journal shown in ACORN.
* Tracking 1 = "Store" / store name, tracking 2 = "Marketplace" / marketplace code (up to two categories [S85]).
* A manual journal has no currency in Xero (the API's ManualJournal has no currency field [S92]): it is in the
  organisation's base currency, so a foreign-currency journal is converted like the IIF one.

Foreign currency (IIF and Xero)
* Each line is converted with the journal's stored exchange rate to the tenant's reporting currency
  (acorn.money.convert, quantised to the home currency's minor unit). Rounding can leave the converted journal a
  cent off; that residue goes on the bank / clearing line (else the carried-forward line, else the largest line)
  and its memo says so. Every converted line's memo carries the original amount and the rate, its source and
  date. A journal without a rate is refused, named.

Spreadsheet formulas: every text cell of every format goes through acorn.spreadsheets (the one rule, a leading
apostrophe); amounts are numbers and are never escaped, so a credit stays a negative number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from acorn.money import Money, convert, quantize_amount
from acorn.spreadsheets import csv_lines, csv_text_safe
from finance.ledger.models import JournalEntry, JournalLine, LedgerRole

NUMBER_MAX = 21
XERO_MAX_LINES = 300

QBO_HEADER = (
    "Journal No.",
    "Journal Date",
    "Account Name",
    "Debits",
    "Credits",
    "Description",
    "Name",
    "Currency",
    "Location",
    "Class",
)
IIF_COLUMNS = ("TRNSTYPE", "DATE", "ACCNT", "NAME", "CLASS", "AMOUNT", "DOCNUM", "MEMO")
IIF_TRNS_HEADER = ("!TRNS", "TRNSID", *IIF_COLUMNS)
IIF_SPL_HEADER = ("!SPL", "SPLID", *IIF_COLUMNS)
IIF_END_HEADER = ("!ENDTRNS",)
IIF_TRANSACTION_TYPE = "GENERAL JOURNAL"
IIF_LINE_END = "\r\n"
XERO_HEADER = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)
XERO_DEFAULT_TAX_RATE = "Tax Exempt"
# The tracking categories' names as the accountant creates them in Xero (not translated: Xero matches on them).
XERO_STORE_TRACKING = "Store"
XERO_MARKETPLACE_TRACKING = "Marketplace"

MDY, DMY = "mdy", "dmy"
_DATE_PATTERNS = {MDY: "%m/%d/%Y", DMY: "%d/%m/%Y"}


class JournalExportError(ValueError):
    """The journals cannot be written in this format; the message names the journal or account. Nothing written."""


@dataclass(frozen=True)
class ExportOptions:
    """How a file is written: `date_format` "mdy" / "dmy" ("" = the format's default), class / tracking columns
    filled or left empty, and the home (reporting) currency that IIF and Xero files are in."""

    home_currency: str
    date_format: str = ""
    tracking: bool = True

    def as_json(self) -> dict[str, object]:
        return {"home_currency": self.home_currency, "date_format": self.date_format, "tracking": self.tracking}


def format_date(day: date, date_format: str) -> str:
    if date_format not in _DATE_PATTERNS:
        raise JournalExportError(_("Unknown date format %(format)s.") % {"format": date_format})
    return day.strftime(_DATE_PATTERNS[date_format])


def _amount(value: Decimal, currency: str) -> Decimal:
    """A plain decimal with the currency's minor unit (Decimal keeps the exponent: "12.30", "1200" for JPY)."""
    return quantize_amount(value, currency)


def _rate_text(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


def journal_lines(entry: JournalEntry) -> list[JournalLine]:
    """The entry's lines, checked: there are some, the number fits, and they sum to zero in its currency."""
    lines = list(entry.lines.all())
    if not lines:
        raise JournalExportError(_("Journal %(number)s has no lines.") % {"number": entry.number})
    if len(entry.number) > NUMBER_MAX:
        raise JournalExportError(
            _("Journal number %(number)s is longer than %(max)d characters.")
            % {"number": entry.number, "max": NUMBER_MAX}
        )
    total = sum((_amount(line.amount, entry.currency) for line in lines), Decimal(0))
    if total:
        raise JournalExportError(
            _("Journal %(number)s does not balance: its lines sum to %(total)s %(currency)s.")
            % {"number": entry.number, "total": total, "currency": entry.currency}
        )
    return lines


def _store_name(entry: JournalEntry, line: JournalLine) -> str:
    store = line.store if line.store_id is not None else entry.store
    return store.name if store is not None else ""


# --- foreign currency ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeLine:
    """A journal line in the home currency, with the memo to write (the rate said where converted)."""

    line: JournalLine
    amount: Decimal
    memo: str


def _residue_index(lines: Sequence[JournalLine], amounts: Sequence[Decimal]) -> int:
    for role in (LedgerRole.BANK, LedgerRole.CARRIED_FORWARD):
        for index, line in enumerate(lines):
            if line.role == role:
                return index
    return max(range(len(lines)), key=lambda index: abs(amounts[index]))


def home_lines(entry: JournalEntry, home_currency: str) -> list[HomeLine]:
    """The entry's lines in the home currency, balanced: converted at the entry's stored rate, the rounding residue
    on the bank / clearing line (said in its memo). Unconverted when the entry already is in the home currency."""
    lines = journal_lines(entry)
    if entry.currency == home_currency:
        return [HomeLine(line, _amount(line.amount, home_currency), line.description) for line in lines]
    if entry.exchange_rate is None or entry.rate_date is None or entry.reporting_currency != home_currency:
        raise JournalExportError(
            _(
                "Journal %(number)s is in %(currency)s and has no exchange rate to %(home)s for %(date)s: load the "
                "rate (acorn.fx) and rebuild the journal, or export to QuickBooks Online, which keeps the currency."
            )
            % {"number": entry.number, "currency": entry.currency, "home": home_currency, "date": entry.date}
        )
    rate, rate_date, source = entry.exchange_rate, entry.rate_date, entry.rate_source or "?"
    amounts = [
        convert(
            Money(line.amount, entry.currency), to_currency=home_currency, rate=rate, rate_date=rate_date, source=source
        ).result.amount
        for line in lines
    ]
    memos = [
        _("%(description)s (%(amount)s %(currency)s at %(rate)s, %(source)s %(date)s)")
        % {
            "description": line.description,
            "amount": _amount(line.amount, entry.currency),
            "currency": entry.currency,
            "rate": _rate_text(rate),
            "source": source,
            "date": rate_date.isoformat(),
        }
        for line in lines
    ]
    residue = -sum(amounts, Decimal(0))
    if residue:
        index = _residue_index(lines, amounts)
        amounts[index] += residue
        memos[index] += " " + _("includes %(residue)s %(home)s of conversion rounding") % {
            "residue": residue,
            "home": home_currency,
        }
    return [HomeLine(line, amount, memo) for line, amount, memo in zip(lines, amounts, memos, strict=True) if amount]


# --- QuickBooks Online CSV -------------------------------------------------------------------------------------


def _qbo_rows(journals: Iterable[JournalEntry], options: ExportOptions) -> Iterator[list[object]]:
    date_format = options.date_format or MDY
    for entry in journals:
        day = format_date(entry.date, date_format)
        for line in journal_lines(entry):
            amount = _amount(line.amount, entry.currency)
            yield [
                entry.number,
                day,
                line.account.name,
                amount if amount > 0 else None,
                -amount if amount < 0 else None,
                line.description or entry.narration,
                "",
                entry.currency,
                line.marketplace if options.tracking else "",
                _store_name(entry, line) if options.tracking else "",
            ]


def qbo_csv(journals: Sequence[JournalEntry], options: ExportOptions) -> bytes:
    """QuickBooks Online "Import journal entries" CSV: one row per line, debit or credit, in the journal's currency."""
    return "".join(csv_lines(QBO_HEADER, _qbo_rows(journals, options))).encode("utf-8")


# --- QuickBooks Desktop IIF ------------------------------------------------------------------------------------

_IIF_BREAKS = re.compile(r"[\t\r\n]+")


def iif_text(value: str) -> str:
    """A value that cannot cut an IIF row (tabs and line breaks become a space) nor run as a formula."""
    return csv_text_safe(_IIF_BREAKS.sub(" ", value).strip())


def _iif_row(cells: Sequence[object]) -> str:
    return "\t".join("" if cell is None else str(cell) for cell in cells) + IIF_LINE_END


def iif(journals: Sequence[JournalEntry], options: ExportOptions) -> bytes:
    """QuickBooks Desktop IIF general journals in the home currency: TRNS, SPL…, ENDTRNS per journal."""
    rows = [_iif_row(IIF_TRNS_HEADER), _iif_row(IIF_SPL_HEADER), _iif_row(IIF_END_HEADER)]
    for entry in journals:
        day = format_date(entry.date, MDY)
        for index, home in enumerate(home_lines(entry, options.home_currency)):
            rows.append(
                _iif_row(
                    [
                        "TRNS" if index == 0 else "SPL",
                        "",
                        IIF_TRANSACTION_TYPE,
                        day,
                        iif_text(home.line.account.name),
                        "",
                        iif_text(_store_name(entry, home.line)) if options.tracking else "",
                        home.amount,
                        iif_text(entry.number),
                        iif_text(home.memo or entry.narration),
                    ]
                )
            )
        rows.append(_iif_row(["ENDTRNS"]))
    return "".join(rows).encode("utf-8")


# --- Xero manual journal CSV -----------------------------------------------------------------------------------


def _xero_rows(entry: JournalEntry, options: ExportOptions) -> list[list[object]]:
    date_format = options.date_format or DMY
    narration = f"{entry.number} {entry.narration}"
    day = format_date(entry.date, date_format)
    rows: list[list[object]] = []
    for home in home_lines(entry, options.home_currency):
        account = home.line.account
        if not account.code:
            raise JournalExportError(
                _(
                    "Account “%(name)s” (journal %(number)s) has no code: Xero matches accounts by code. Give it "
                    "its Xero account code, then export again."
                )
                % {"name": account.name, "number": entry.number}
            )
        store = _store_name(entry, home.line) if options.tracking else ""
        marketplace = home.line.marketplace if options.tracking else ""
        rows.append(
            [
                narration,
                day,
                home.memo,
                account.code,
                account.tax_rate or XERO_DEFAULT_TAX_RATE,
                home.amount,
                XERO_STORE_TRACKING if store else "",
                store,
                XERO_MARKETPLACE_TRACKING if marketplace else "",
                marketplace,
            ]
        )
    if len(rows) > XERO_MAX_LINES:
        raise JournalExportError(
            _("Journal %(number)s has %(lines)d lines; Xero imports at most %(max)d lines per file.")
            % {"number": entry.number, "lines": len(rows), "max": XERO_MAX_LINES}
        )
    return rows


def xero_csv(journals: Sequence[JournalEntry], options: ExportOptions) -> list[bytes]:
    """Xero manual journal CSV files in the home currency, at most 300 lines each, no journal split across two."""
    files: list[list[list[object]]] = []
    current: list[list[object]] = []
    for entry in journals:
        rows = _xero_rows(entry, options)
        if current and len(current) + len(rows) > XERO_MAX_LINES:
            files.append(current)
            current = []
        current.extend(rows)
    if current:
        files.append(current)
    return ["".join(csv_lines(XERO_HEADER, rows)).encode("utf-8") for rows in files]


# --- by format -------------------------------------------------------------------------------------------------

QBO, IIF, XERO = "qbo", "iif", "xero"
EXTENSIONS = {QBO: "csv", IIF: "iif", XERO: "csv"}
_WRITERS: dict[str, Callable[[Sequence[JournalEntry], ExportOptions], list[bytes]]] = {
    QBO: lambda journals, options: [qbo_csv(journals, options)],
    IIF: lambda journals, options: [iif(journals, options)],
    XERO: xero_csv,
}


def journals_write(export_format: str, journals: Sequence[JournalEntry], options: ExportOptions) -> list[bytes]:
    """The file(s) of `journals` in `export_format` ("qbo", "iif" or "xero"), in order."""
    if export_format not in _WRITERS:
        raise JournalExportError(_("Unknown export format %(format)s.") % {"format": export_format})
    return _WRITERS[export_format](journals, options)

"""Advertising spend per SKU and day, imported from an advertising report (CSV or XLSX) into one store's costs
of no order (finance.profit.models.OtherCost, kind advertising, source ad_import).

Formats, recognised from the header (column names compared as acorn.csv_import.header_key makes them: case,
spaces and hyphens do not matter); every other column of a report is ignored:

* Amazon Ads console, Sponsored Products (or Display) "Advertised product" report: `Date` (time unit Daily),
  or `Start Date` + `End Date` of one day; `Currency`; `Campaign Name`; `Ad Group Name`; `Advertised SKU`;
  `Advertised ASIN`; `Spend`. The console shows money with a currency sign and thousands separators
  ("$1,234.50") and may put a title line above the header. Sources: the Amazon Ads API v3 guide maps these
  console names to its columns (campaignBudgetCurrencyCode → "Currency", spend → "Spend", …) and public
  samples of downloaded reports (tests/fixtures/ads/README.md lists them). The console documents no fixed
  column set (columns are chosen per report), so only the columns named here are read.
* Amazon Ads API v3 `spAdvertisedProduct` report (reporting/v3/report-types/advertised-product in Amazon's
  Ads API docs): `date`, `campaignName`, `adGroupName`, `advertisedSku`, `advertisedAsin`, `spend` (or
  `cost`), `campaignBudgetCurrencyCode`. Amazon delivers it as GZIP_JSON; a CSV or XLSX of its rows (as
  reporting tools write them, with the API's column names) is read here.
* ACORN's template, for every other channel: `date`, `sku`, `spend`, and optionally `currency` and
  `campaign`. Shopify has no per-SKU advertising spend export: its ad spend in ShopifyQL is per Shop
  Campaign (`shop_campaign_insights`, keyed by campaign, with no product dimension; shopify.dev ShopifyQL
  marketing schemas), so Shopify and WooCommerce sellers fill in the template from their ad platforms.

Rules. A file is checked whole first: any problem (line, column, what is wrong) and nothing is written. The
currency comes from the file, else from the upload form. Rows of the same store, day, SKU (or ASIN when the
row has no SKU) and campaign are one cost (a report splits a campaign by ad group); its key is
"ad:<store>:<day>:<SKU or asin:ASIN>:<campaign>", so importing the same or an overlapping report again
replaces those costs instead of adding to them. Spend is stored negative. A row whose spend is 0 writes
nothing, but a cost an earlier report gave the same key is removed (the later report corrected it). SKUs map
to master products through the store's SKU mappings (selectors_other.products_for_channel_skus).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from acorn.audit.services import audit_record
from acorn.csv_import import (
    DELIMITERS,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    CsvImportFormat,
    ImportResult,
    csv_import_rows,
    header_key,
)
from acorn.money import quantize_amount, validate_currency_code
from acorn.tenancy.models import Tenant
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE
from channels.models import Store
from finance.profit.models import AdSpendUpload, OtherCost, OtherCostKind, OtherCostSource
from finance.profit.other_costs import other_costs_refresh_due
from finance.profit.selectors_other import products_for_channel_skus

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ENCODINGS = ("utf-8-sig", "gb18030")
HEADER_SEARCH_LINES = 10  # a report may have title lines above its header
KEY_MAX = 255


@dataclass(frozen=True)
class AdReportFormat:
    """Which columns of one kind of report hold what ACORN reads (as header_key writes them)."""

    key: str
    label: Any
    marks: tuple[str, ...]  # any of these columns recognises the format
    date: tuple[str, ...]
    start_date: tuple[str, ...]
    end_date: tuple[str, ...]
    sku: tuple[str, ...]
    asin: tuple[str, ...]
    spend: tuple[str, ...]  # the first present is read
    currency: tuple[str, ...]
    campaign: tuple[str, ...]
    ad_group: tuple[str, ...] = ()


AMAZON_CONSOLE = AdReportFormat(
    key="amazon_ads_console",
    label=gettext_lazy("Amazon Ads advertised product report (console)"),
    marks=("advertised_sku", "advertised_asin"),
    date=("date",),
    start_date=("start_date",),
    end_date=("end_date",),
    sku=("advertised_sku",),
    asin=("advertised_asin",),
    spend=("spend",),
    currency=("currency", "currency_not_converted"),
    campaign=("campaign_name", "campaign_name_(informational_only)"),
    ad_group=("ad_group_name", "ad_group_name_(informational_only)"),
)
AMAZON_API = AdReportFormat(
    key="amazon_ads_api_v3",
    label=gettext_lazy("Amazon Ads API v3 spAdvertisedProduct report"),
    marks=("advertisedsku", "advertisedasin"),
    date=("date",),
    start_date=("startdate",),
    end_date=("enddate",),
    sku=("advertisedsku",),
    asin=("advertisedasin",),
    spend=("spend", "cost"),
    currency=("campaignbudgetcurrencycode",),
    campaign=("campaignname",),
    ad_group=("adgroupname",),
)
ACORN_TEMPLATE = AdReportFormat(
    key="acorn_template",
    label=gettext_lazy("ACORN advertising template"),
    marks=(),
    date=("date",),
    start_date=(),
    end_date=(),
    sku=("sku",),
    asin=(),
    spend=("spend",),
    currency=("currency",),
    campaign=("campaign",),
)
FORMATS = (AMAZON_CONSOLE, AMAZON_API, ACORN_TEMPLATE)
TEMPLATE_COLUMNS = ("date", "sku", "spend", "currency", "campaign")


def recognise(columns: list[str]) -> AdReportFormat | None:
    """The format a header (header_key'd names) is, or None."""
    present = set(columns)
    for report_format in (AMAZON_CONSOLE, AMAZON_API):
        if present & set(report_format.marks):
            return report_format
    if {"date", "sku", "spend"} <= present:
        return ACORN_TEMPLATE
    return None


@dataclass
class AdImportResult(ImportResult):
    filename: str = ""
    report_format: str = ""
    format_label: str = ""
    rows: int = 0
    skipped: int = 0  # rows with no spend
    written: int = 0  # costs created or changed
    removed: int = 0  # costs of an earlier report a 0-spend row corrected away
    unchanged: int = 0
    upload: AdSpendUpload | None = None
    changed_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    day: date
    sku: str
    asin: str
    campaign: str
    currency: str
    spend: Decimal


# --- reading the file ----------------------------------------------------------------------------------------


@dataclass
class _Table:
    """A file read as rows of {column key: cell}, with the header as the file wrote it."""

    header: dict[str, str]  # key → the file's own name, for problems
    rows: list[tuple[int, dict[str, Any]]]


def _is_xlsx(data: bytes, filename: str) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"


def _header_index(lines: list[list[str]]) -> int | None:
    for index, cells in enumerate(lines[:HEADER_SEARCH_LINES]):
        if recognise([header_key(str(cell or "")) for cell in cells]) is not None:
            return index
    return None


def _read_csv(data: bytes, result: AdImportResult) -> _Table | None:
    text = None
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        result.problem(0, "", _("The file is not text in UTF-8 (or GB18030); save it as CSV UTF-8 or XLSX."))
        return None
    first_lines = text.splitlines()[:HEADER_SEARCH_LINES]
    try:
        parsed = [
            next(csv.reader([line], delimiter=next((d for d in DELIMITERS if d in line), ",")), [])
            for line in first_lines
        ]
    except csv.Error:
        parsed = []
    index = _header_index(parsed)
    if index is None:
        _unknown_header(parsed[0] if parsed else [], result)
        return None
    # Hand the text from the header on to the shared CSV reader, with every column of this header allowed.
    body = "".join(text.splitlines(keepends=True)[index:])
    raw_header = parsed[index]
    keys = [header_key(cell) for cell in raw_header]
    csv_format = CsvImportFormat(
        columns=tuple(key for key in keys if key),
        required=(),
        encodings=("utf-8",),
        encoding_problem="",
        no_rows_problem=gettext_lazy("The report has no rows under its header."),
    )
    inner = ImportResult()
    rows = csv_import_rows(data=body.encode("utf-8"), csv_format=csv_format, result=inner)
    for problem in inner.problems:
        result.problem(problem.line + index if problem.line else 0, problem.column, problem.message)
    result.problem_count += inner.problem_count - len(inner.problems)
    if inner.problem_count:
        return None
    return _Table(
        header={key: name.strip() for key, name in zip(keys, raw_header, strict=False) if key},
        rows=[(line + index, values) for line, values in rows],
    )


def _read_xlsx(data: bytes, result: AdImportResult) -> _Table | None:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        result.problem(0, "", _("The file is not a workbook Excel can open (XLSX)."))
        return None
    try:
        sheet = book.worksheets[0]
        iterator: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
        first: list[list[Any]] = []
        for top in iterator:
            first.append(list(top))
            if len(first) >= HEADER_SEARCH_LINES:
                break
        index = _header_index([[str(c) if c is not None else "" for c in top] for top in first])
        if index is None:
            _unknown_header([str(c) if c is not None else "" for c in first[0]] if first else [], result)
            return None
        raw_header = [str(c).strip() if c is not None else "" for c in first[index]]
        keys = [header_key(name) for name in raw_header]
        table = _Table(header={key: name for key, name in zip(keys, raw_header, strict=False) if key}, rows=[])

        def _rows() -> Iterator[tuple[int, list[Any]]]:
            for offset, head in enumerate(first[index + 1 :], start=index + 2):
                yield offset, head
            for offset, more in enumerate(iterator, start=len(first) + 1):
                yield offset, list(more)

        for line, cells in _rows():
            if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
                continue
            values = {
                key: (cells[i].strip() if isinstance(cells[i], str) else cells[i]) if i < len(cells) else None
                for i, key in enumerate(keys)
                if key
            }
            table.rows.append((line, values))
            if len(table.rows) > MAX_IMPORT_ROWS:
                result.problem(line, "", _("More than %(max)d rows: split the file.") % {"max": MAX_IMPORT_ROWS})
                return None
    finally:
        book.close()
    if not table.rows:
        result.problem(2, "", _("The report has no rows under its header."))
        return None
    return table


def _unknown_header(cells: list[str], result: AdImportResult) -> None:
    result.problem(
        1,
        "",
        _(
            "ACORN does not know this report. Upload an Amazon Ads advertised product report (with the columns "
            "Date, Advertised SKU or Advertised ASIN, Spend) or ACORN's template with the columns %(columns)s."
        )
        % {"columns": ", ".join(TEMPLATE_COLUMNS)},
    )


# --- checking the rows --------------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%b %d, %Y", "%b %d %Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d", "%d %b %Y")
_MONEY_JUNK = re.compile(r"[^\d,.\-()]")


def parse_day(value: Any) -> date | None:
    """A day as reports write it: a workbook date, ISO (the API), "Sep 01, 2026" or 09/01/2026 (the US
    console), 01.09.2026 (European consoles). None when it is none of these."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    text = text.split("T")[0] if re.match(r"^\d{4}-\d{2}-\d{2}T", text) else text
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC).date()
        except ValueError:
            continue
    return None


def parse_spend(value: Any) -> Decimal | None:
    """An amount as reports write it: a workbook number, "12.5", "$1,234.50", "1.234,50 €", "16,12". A comma
    followed by one or two digits at the end is a decimal comma; otherwise commas group thousands. A
    workbook's number arrives from openpyxl as a float: it is read through its shortest decimal text, never
    used as a float. None when it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, Decimal):
        return value
    else:
        text = str(value).strip()
    if not text:
        return None
    negative = text.startswith("(") and text.endswith(")")
    text = _MONEY_JUNK.sub("", text).strip("()")
    if "," in text and "." in text:
        # whichever comes last is the decimal separator
        last_comma = text.rfind(",") > text.rfind(".")
        text = text.replace(".", "").replace(",", ".") if last_comma else text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".") if re.search(r",\d{1,2}$", text) else text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return -amount if negative else amount


def _first(values: dict[str, Any], columns: tuple[str, ...]) -> tuple[str, Any]:
    for column in columns:
        if column in values:
            return column, values[column]
    return "", None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_header(table: _Table, report_format: AdReportFormat, currency: str, result: AdImportResult) -> bool:
    present = set(table.header)
    before = result.problem_count
    if not present & set(report_format.date) and not (
        present & set(report_format.start_date) and present & set(report_format.end_date)
    ):
        result.problem(1, "Date", _("Missing column: the report needs the day of each row (download it by day)."))
    if not present & set(report_format.spend):
        result.problem(1, "Spend", _("Missing column: the report needs the spend of each row."))
    if not present & set(report_format.currency) and not currency:
        result.problem(1, "Currency", _("The report has no currency column: choose the report's currency on the form."))
    return result.problem_count == before


def _check_rows(table: _Table, report_format: AdReportFormat, currency: str, result: AdImportResult) -> list[_Row]:
    rows: list[_Row] = []
    latest = (timezone.now() + timedelta(days=1)).date()
    for line, values in table.rows:
        before = result.problem_count
        day = _row_day(line, values, table, report_format, latest, result)
        spend_column, raw_spend = _first(values, report_format.spend)
        spend = parse_spend(raw_spend)
        if spend is None:
            result.problem(
                line,
                table.header.get(spend_column, "Spend"),
                _("Not an amount: %(value)s") % {"value": _text(raw_spend) or _("(empty)")},
            )
        elif spend < 0:
            result.problem(line, table.header.get(spend_column, "Spend"), _("Spend cannot be negative."))
        currency_column, raw_currency = _first(values, report_format.currency)
        row_currency = (_text(raw_currency) or currency).upper()
        try:
            validate_currency_code(row_currency)
        except ValidationError:
            result.problem(
                line,
                table.header.get(currency_column, "Currency"),
                _("%(value)s is not an ISO 4217 currency code.") % {"value": row_currency or _("(empty)")},
            )
        sku = _text(_first(values, report_format.sku)[1])
        asin = _text(_first(values, report_format.asin)[1]).upper()
        if not sku and not asin:
            column = report_format.sku[0] if report_format.sku else ""
            result.problem(line, table.header.get(column, "SKU"), _("Give the SKU (or the ASIN) the spend is for."))
        if len(sku) > 200:
            result.problem(line, table.header.get(report_format.sku[0], "SKU"), _("At most 200 characters."))
        campaign = _text(_first(values, report_format.campaign)[1])
        if result.problem_count == before and day is not None and spend is not None:
            rows.append(_Row(line, day, sku, asin, campaign, row_currency, spend))
    return rows


def _row_day(
    line: int,
    values: dict[str, Any],
    table: _Table,
    report_format: AdReportFormat,
    latest: date,
    result: AdImportResult,
) -> date | None:
    column, raw = _first(values, report_format.date)
    if column:
        day = parse_day(raw)
    else:
        start_column, start_raw = _first(values, report_format.start_date)
        end_column, end_raw = _first(values, report_format.end_date)
        start, end = parse_day(start_raw), parse_day(end_raw)
        column = start_column if start is None else end_column
        raw = start_raw if start is None else end_raw
        if start is not None and end is not None and start != end:
            result.problem(
                line,
                table.header.get(start_column, "Start Date"),
                _("This row sums %(start)s to %(end)s: download the report with the time unit Daily.")
                % {"start": start.isoformat(), "end": end.isoformat()},
            )
            return None
        day = start if start is not None else None
        if start is not None and end is None:
            day = None
    if day is None:
        result.problem(
            line,
            table.header.get(column, "Date"),
            _("Not a date: %(value)s (write 2026-09-01, Sep 01, 2026 or 09/01/2026).")
            % {"value": _text(raw) or _("(empty)")},
        )
        return None
    if day > latest:
        result.problem(line, table.header.get(column, "Date"), _("This day is in the future."))
        return None
    return day


# --- writing -------------------------------------------------------------------------------------------------


def ad_cost_key(*, store_id: int, day: date, sku: str, asin: str, campaign: str) -> str:
    """The cost's source key: the same store, day, SKU (or ASIN) and campaign is the same cost."""
    ident = sku if sku else f"asin:{asin}"
    key = f"ad:{store_id}:{day.isoformat()}:{ident}:{campaign}"
    if len(key) > KEY_MAX:
        digest = hashlib.sha256(f"{ident}\n{campaign}".encode()).hexdigest()
        key = f"ad:{store_id}:{day.isoformat()}:#{digest}"
    return key


def _store_marketplace(store: Store, currency: str) -> str:
    """The store's marketplace the spend was in: its only one, or its only one in that currency, else ""."""
    codes = [code for code in store.marketplaces if code in AMAZON_MARKETPLACE_TABLE]
    if len(codes) == 1:
        return codes[0]
    in_currency = [code for code in codes if AMAZON_MARKETPLACE_TABLE[code].currency == currency]
    return in_currency[0] if len(in_currency) == 1 else ""


_WRITTEN = ("kind", "day", "store_id", "marketplace", "product_id", "sku", "description", "currency", "amount")


def ad_report_import(
    *,
    tenant: Tenant,
    store: Store,
    data: bytes,
    filename: str,
    currency: str = "",
    actor: User | None = None,
) -> AdImportResult:
    """Import an advertising report into the store's costs of no order: every row checked first; with any
    problem nothing is written and the result lists each (line, column, what is wrong). Otherwise, in one
    transaction: an AdSpendUpload with its totals, the costs created or replaced (audited), and the P&L
    refresh of what changed enqueued. Re-importing the same or an overlapping report replaces."""
    result = AdImportResult(filename=filename)
    if store.tenant_id != tenant.pk:
        raise ValidationError(_("That store does not belong to this company."))
    if len(data) > MAX_IMPORT_BYTES:
        result.problem(0, "", _("The file is larger than %(mb)d MB; split it.") % {"mb": MAX_IMPORT_BYTES // 2**20})
        return result
    table = _read_xlsx(data, result) if _is_xlsx(data, filename) else _read_csv(data, result)
    if table is None:
        return result
    report_format = recognise(list(table.header))
    if report_format is None:  # cannot happen: the header was found by recognising it
        _unknown_header(list(table.header.values()), result)
        return result
    result.report_format, result.format_label = report_format.key, str(report_format.label)
    currency = currency.strip().upper()
    if not _check_header(table, report_format, currency, result):
        return result
    rows = _check_rows(table, report_format, currency, result)
    if result.problem_count:
        return result
    result.rows = len(rows)
    try:
        _write(tenant=tenant, store=store, rows=rows, data=data, actor=actor, result=result)
    except IntegrityError:  # another import of the same costs committed meanwhile: import nothing
        result.upload, result.written, result.removed, result.unchanged, result.changed_ids = None, 0, 0, 0, []
        result.problem(0, "", _("The costs changed while the report was imported. Nothing was imported; try again."))
    return result


def _write(
    *, tenant: Tenant, store: Store, rows: list[_Row], data: bytes, actor: User | None, result: AdImportResult
) -> None:
    actor = actor if actor is not None and actor.is_authenticated else None
    sums: dict[str, tuple[_Row, Decimal]] = {}
    for row in rows:
        key = ad_cost_key(store_id=store.pk, day=row.day, sku=row.sku, asin=row.asin, campaign=row.campaign)
        first, total = sums.get(key, (row, Decimal(0)))
        sums[key] = (first, total + row.spend)
    result.skipped = sum(1 for row in rows if not row.spend)
    by_sku, by_asin = products_for_channel_skus(
        store=store, skus={row.sku for row in rows}, asins={row.asin for row in rows}
    )
    currencies = sorted({row.currency for row in rows})
    with transaction.atomic():
        upload = AdSpendUpload.objects.create(
            tenant=tenant,
            store=store,
            filename=result.filename[:255],
            report_format=result.report_format,
            sha256=hashlib.sha256(data).hexdigest(),
            rows=len(rows),
            currency=currencies[0] if len(currencies) == 1 else "",
            first_day=min((row.day for row in rows), default=None),
            last_day=max((row.day for row in rows), default=None),
            uploaded_by=actor,
        )
        existing = {
            cost.source_key: cost
            for cost in OtherCost.objects.select_for_update(of=("self",))
            .filter(tenant=tenant, source_key__in=list(sums))
            .order_by("pk")
        }
        new: list[OtherCost] = []
        changed: list[OtherCost] = []
        removed: list[int] = []
        total = Decimal(0)
        for key, (row, spend) in sums.items():
            current = existing.get(key)
            amount = -quantize_amount(spend, row.currency)
            if not amount:
                if current is not None:
                    removed.append(current.pk)
                continue
            total += amount
            product = by_sku.get(row.sku) if row.sku else None
            if product is None and row.asin:
                product = by_asin.get(row.asin)
            cost = OtherCost(
                tenant=tenant,
                kind=OtherCostKind.ADVERTISING,
                source=OtherCostSource.AD_IMPORT,
                source_key=key,
                day=row.day,
                store=store,
                marketplace=_store_marketplace(store, row.currency),
                product=product,
                sku=row.sku or row.asin,
                description=row.campaign[:300],
                currency=row.currency,
                amount=amount,
                upload=upload,
                created_by=actor,
            )
            if current is None:
                new.append(cost)
            elif current.source != OtherCostSource.AD_IMPORT or any(
                getattr(current, name) != getattr(cost, name) for name in _WRITTEN
            ):
                for name in (*_WRITTEN, "source"):
                    setattr(current, name, getattr(cost, name))
                current.upload = upload
                changed.append(current)
            else:
                current.upload = upload
                OtherCost.objects.filter(pk=current.pk).update(upload=upload)
                result.unchanged += 1
        if removed:
            OtherCost.objects.filter(pk__in=removed).delete()
        if changed:
            fields = [name.removesuffix("_id") for name in _WRITTEN]
            OtherCost.objects.bulk_update(changed, [*fields, "source", "upload"], batch_size=500)
        created = OtherCost.objects.bulk_create(new, batch_size=500)
        result.written = len(created) + len(changed)
        result.removed = len(removed)
        result.changed_ids = sorted([*removed, *(cost.pk for cost in changed), *(cost.pk for cost in created)])
        upload.costs_written = result.written
        upload.total_amount = total if len(currencies) == 1 else Decimal(0)
        upload.save(update_fields=["costs_written", "total_amount"])
        audit_record(
            tenant=tenant,
            actor=actor,
            action="profit.ad_report_imported",
            target=upload,
            after={
                "store": store.pk,
                "file": result.filename,
                "format": result.report_format,
                "rows": len(rows),
                "written": result.written,
                "removed": result.removed,
                "total": str(upload.total_amount),
                "currency": upload.currency,
            },
        )
        other_costs_refresh_due(tenant_id=tenant.pk, other_cost_ids=result.changed_ids)
    result.upload = upload

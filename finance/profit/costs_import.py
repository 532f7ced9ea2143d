"""Cost receipts imported from a CSV or XLSX file: every row is checked first, then all are recorded in one
transaction or none, and every problem names its line and column (acorn.csv_import).

Columns: sku, warehouse, received, units, currency, unit_cost, freight, duty, other, reference. `warehouse` is
a warehouse's name (blank: the product's cost in every warehouse); `received` is a day, YYYY-MM-DD, taken as
its start in UTC (the P&L's days are UTC days); freight, duty and other are totals for the row's units.
An XLSX workbook is read from its first sheet, row 1 being the header, so its row numbers are the lines named.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.csv_import import CsvImportFormat, CsvRow, ImportResult, spreadsheet_import_rows
from acorn.money import validate_currency_code
from acorn.tenancy.models import Tenant
from finance.profit.costs import UNIT_COST_QUANTUM, cost_receipt_write, products_lock, profit_refresh_queue
from finance.profit.models import CostReceipt, CostSource
from inventory.models import Product, Warehouse

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CSV_COLUMNS = (
    "sku",
    "warehouse",
    "received",
    "units",
    "currency",
    "unit_cost",
    "freight",
    "duty",
    "other",
    "reference",
)
REQUIRED_COLUMNS = ("sku", "received", "units", "currency", "unit_cost")
AMOUNT_COLUMNS = ("unit_cost", "freight", "duty", "other")
MAX_UNITS = 10_000_000
REFERENCE_MAX = CostReceipt._meta.get_field("reference").max_length or 100

CSV_FORMAT = CsvImportFormat(
    columns=CSV_COLUMNS,
    required=REQUIRED_COLUMNS,
    # Excel on a Chinese Windows saves "CSV" in GB18030 (GBK); everything else sends UTF-8.
    encodings=("utf-8-sig", "gb18030"),
    encoding_problem=gettext_lazy("The file is not text in UTF-8 (or GB18030); save it as CSV UTF-8 or XLSX."),
    no_rows_problem=gettext_lazy("The file has no cost receipts under its header."),
)


@dataclass
class CostImportResult(ImportResult):
    created: int = 0
    products: int = 0


@dataclass
class _Row:
    line: int
    product: Product
    warehouse: Warehouse | None
    received_at: datetime
    units: int
    currency: str
    amounts: dict[str, Decimal]
    reference: str


def cost_import_rows(*, data: bytes, result: ImportResult) -> list[CsvRow]:
    """The rows of an uploaded CSV or XLSX file, as acorn.csv_import reads them; problems of the file's shape
    go into `result`."""
    return spreadsheet_import_rows(data=data, csv_format=CSV_FORMAT, result=result)


# --- checking ---------------------------------------------------------------------------------------------


def received_moment(day: date) -> datetime:
    """The moment a receipt dated `day` counts from: the start of that UTC day."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _amount(line: int, column: str, text: str, result: ImportResult, *, required: bool) -> Decimal | None:
    if not text:
        if required:
            result.problem(line, column, _("Give the amount."))
            return None
        return Decimal(0)
    try:
        amount = Decimal(text.replace(",", "") if text.count(".") == 1 else text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        result.problem(line, column, _("Not an amount: write it like 12.50."))
        return None
    if amount < 0:
        result.problem(line, column, _("Enter an amount of 0 or more."))
        return None
    if amount != amount.quantize(UNIT_COST_QUANTUM):
        result.problem(line, column, _("Enter at most 4 decimals."))
        return None
    return amount


def _check(*, tenant: Tenant, raw: list[CsvRow], result: CostImportResult) -> list[_Row]:
    """Check every row against the tenant's products and warehouses (no writes)."""
    skus = {values["sku"] for _line, values in raw if values.get("sku")}
    products: dict[str, Product] = {}
    sku_list = sorted(skus)
    for start in range(0, len(sku_list), 500):
        products.update(
            {p.sku: p for p in Product.objects.filter(tenant=tenant, sku__in=sku_list[start : start + 500])}
        )
    warehouses = {w.name.casefold(): w for w in Warehouse.objects.filter(tenant=tenant)}
    today = timezone.now().astimezone(UTC).date()
    rows: list[_Row] = []
    for line, values in raw:
        before = result.problem_count
        sku = values.get("sku", "")
        product = products.get(sku)
        if not sku:
            result.problem(line, "sku", _("Give the master SKU."))
        elif product is None:
            result.problem(line, "sku", _("No product has the SKU %(sku)s.") % {"sku": sku})
        warehouse_name = values.get("warehouse", "")
        warehouse = warehouses.get(warehouse_name.casefold()) if warehouse_name else None
        if warehouse_name and warehouse is None:
            result.problem(
                line, "warehouse", _("No warehouse of this company is named %(name)s.") % {"name": warehouse_name}
            )
        day = parse_date(values.get("received", "")) if values.get("received") else None
        if not values.get("received"):
            result.problem(line, "received", _("Give the day the goods were received (YYYY-MM-DD)."))
        elif day is None:
            result.problem(line, "received", _("Not a day: write it as YYYY-MM-DD, e.g. 2026-03-31."))
        elif day > today:
            result.problem(line, "received", _("The day is in the future."))
        units_text = values.get("units", "")
        units = int(units_text) if units_text.isdigit() else None
        if units is None or not 1 <= units <= MAX_UNITS:
            result.problem(line, "units", _("A whole number of units above 0."))
        currency = values.get("currency", "").upper()
        try:
            validate_currency_code(currency)
        except ValidationError:
            result.problem(line, "currency", _("An ISO 4217 currency code, e.g. USD or CNY."))
        amounts: dict[str, Decimal] = {}
        for column in AMOUNT_COLUMNS:
            amount = _amount(line, column, values.get(column, ""), result, required=column == "unit_cost")
            if amount is not None:
                amounts[column] = amount
        reference = values.get("reference", "")
        if len(reference) > REFERENCE_MAX:
            result.problem(line, "reference", _("At most %(max)d characters.") % {"max": REFERENCE_MAX})
        if result.problem_count == before and product is not None and day is not None and units is not None:
            rows.append(_Row(line, product, warehouse, received_moment(day), units, currency, amounts, reference))
    return rows


# --- writing ----------------------------------------------------------------------------------------------


class _Refused(Exception):
    """A row could not be written: roll the whole file back."""


_SERVICE_COLUMNS = {
    "unit_cost_amount": "unit_cost",
    "freight_amount": "freight",
    "duty_amount": "duty",
    "other_amount": "other",
    "quantity": "units",
    "received_at": "received",
}


def _write(*, tenant: Tenant, rows: list[_Row], actor: User | None, result: CostImportResult) -> None:
    """All or nothing: the rows in the order they were received, each moving its product's average; then
    one P&L refresh per product, from its earliest row."""
    since: dict[int, datetime] = {}
    try:
        with transaction.atomic():
            products_lock(tenant_id=tenant.pk, product_ids=[row.product.pk for row in rows])
            for row in sorted(rows, key=lambda r: (r.received_at, r.line)):
                try:
                    with transaction.atomic():  # a savepoint: later rows are still checked
                        cost_receipt_write(
                            tenant=tenant,
                            product=row.product,
                            warehouse=row.warehouse,
                            quantity=row.units,
                            currency=row.currency,
                            unit_cost=row.amounts["unit_cost"],
                            freight=row.amounts["freight"],
                            duty=row.amounts["duty"],
                            other=row.amounts["other"],
                            received_at=row.received_at,
                            reference=row.reference,
                            actor=actor,
                            source=CostSource.IMPORT,
                        )
                except ValidationError as error:
                    for field, messages in _messages(error):
                        result.problem(row.line, _SERVICE_COLUMNS.get(field, field), " ".join(messages))
                    continue
                result.created += 1
                previous = since.get(row.product.pk)
                since[row.product.pk] = row.received_at if previous is None else min(previous, row.received_at)
            if result.problem_count:
                raise _Refused
            for product_id, moment in since.items():
                profit_refresh_queue(tenant=tenant, product_ids=[product_id], since=moment)
    except _Refused:
        result.created = 0
        since.clear()
    result.products = len(since)


def _messages(error: ValidationError) -> Iterator[tuple[str, list[str]]]:
    if hasattr(error, "error_dict"):
        yield from ((field if field != "__all__" else "", messages) for field, messages in error.message_dict.items())
    else:
        yield "", error.messages


def cost_receipts_import(*, tenant: Tenant, data: bytes, actor: User | None = None) -> CostImportResult:
    """Record the cost receipts of a CSV or XLSX file. Every row is checked first; a file with any problem
    records nothing and the result lists each problem with its line and column. Otherwise every row is
    recorded in one transaction (audited, source "import") and the P&L refresh of each product is queued."""
    result = CostImportResult()
    raw = cost_import_rows(data=data, result=result)
    if not raw:
        return result
    rows = _check(tenant=tenant, raw=raw, result=result)
    if result.problem_count:
        return result
    _write(tenant=tenant, rows=rows, actor=actor, result=result)
    return result

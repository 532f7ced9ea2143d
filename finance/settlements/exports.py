"""Exports of the finance console: a statement's lines (CSV streamed at any size, XLSX up to a cap) and the
orders not yet settled (CSV).

Codes (category, kind) are written as their stable values, not translated labels, so a file reads the same in
any language; times are UTC; amounts are exact decimal strings at the currency's minor unit in CSV (no
thousands separators, no symbol, the currency in its own column) and numbers in XLSX. Text a spreadsheet would
run as a formula (a vendor description starting with "=", "+", "-" or "@") is neutralised by the one helper
in acorn.spreadsheets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.exports.params import filters_from_params
from acorn.exports.registry import ExportKind, TableExport
from acorn.money import quantize_amount
from acorn.spreadsheets import csv_lines, xlsx_file
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from finance.settlements.models import Settlement, SettlementLine
from finance.settlements.selectors import expected_settlement_amount, orders_not_yet_settled
from orders.models import Order

CHUNK = 2000  # lines per query of an export
XLSX_MAX_LINES = 100_000  # beyond this, the CSV (streamed, no limit) is the export to use

Column = tuple[str, Callable[[SettlementLine], Any]]


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _line_columns(settlement: Settlement) -> list[Column]:
    currency = settlement.currency
    return [
        (_("Statement id"), lambda line: settlement.external_id),
        (_("Store"), lambda line: settlement.store.name),
        (_("Kind"), lambda line: settlement.kind),
        (_("Line"), lambda line: line.line_number),
        (_("Posted (UTC)"), lambda line: _when(line.posted_at)),
        (_("Transaction type"), lambda line: line.transaction_type),
        (_("Amount type"), lambda line: line.amount_type),
        (_("Description"), lambda line: line.amount_description),
        (_("Category"), lambda line: line.category),
        (_("Categorised by"), lambda line: line.category_source),
        (_("Order id"), lambda line: line.order_external_id),
        (_("Order known to ACORN"), lambda line: "yes" if line.order_id else "no"),
        (_("Merchant order id"), lambda line: line.merchant_order_id),
        (_("Adjustment id"), lambda line: line.adjustment_id),
        (_("Shipment id"), lambda line: line.shipment_id),
        (_("Order item"), lambda line: line.order_item_code),
        (_("SKU"), lambda line: line.sku),
        (_("Quantity"), lambda line: line.quantity),
        (_("Marketplace"), lambda line: line.marketplace or line.marketplace_name),
        (_("Fulfilment"), lambda line: line.fulfillment_id),
        (_("Currency"), lambda line: currency),
        (_("Amount"), lambda line: quantize_amount(line.amount, currency)),
    ]


def settlement_line_columns(settlement: Settlement) -> list[str]:
    """The header row (translated into the active language)."""
    return [label for label, _get in _line_columns(settlement)]


def _lines_in_chunks(settlement: Settlement) -> Iterator[SettlementLine]:
    """The statement's lines in file order, CHUNK per query by keyset (no long-running server-side cursor)."""
    base = SettlementLine.objects.filter(settlement=settlement).order_by("line_number", "pk")
    last: tuple[int, int] | None = None
    while True:
        chunk = base
        if last is not None:
            chunk = chunk.filter(line_number__gte=last[0]).filter(
                Q(line_number__gt=last[0]) | Q(line_number=last[0], pk__gt=last[1])
            )
        batch = list(chunk[:CHUNK])
        yield from batch
        if len(batch) < CHUNK:
            return
        last = (batch[-1].line_number, batch[-1].pk)


def settlement_line_rows(settlement: Settlement) -> Iterator[list[Any]]:
    """One list of values per line, in the order of settlement_line_columns()."""
    columns = _line_columns(settlement)
    for line in _lines_in_chunks(settlement):
        yield [get(line) for _label, get in columns]


def settlement_lines_csv(settlement: Settlement, *, tenant: Tenant) -> Iterator[str]:
    """The CSV, piece by piece. The response streams after the view has returned (and the middleware has
    left the tenant's scope), so the generator enters the scope itself."""
    with tenant_scope(tenant):
        yield from csv_lines(settlement_line_columns(settlement), settlement_line_rows(settlement))


def _number_format(currency: str) -> str:
    exponent = -int(quantize_amount(0, currency).as_tuple().exponent)
    return "#,##0" + ("." + "0" * exponent if exponent else "")


def settlement_lines_xlsx(settlement: Settlement) -> IO[bytes]:
    """The workbook in a temporary file (rewound), written row by row in write-only mode."""
    return xlsx_file(
        sheet_title=_("Lines"),
        header=settlement_line_columns(settlement),
        rows=settlement_line_rows(settlement),
        number_format=_number_format(settlement.currency),
    )


def _order_columns() -> list[tuple[str, Callable[[Order], Any]]]:
    return [
        (_("Order id"), lambda order: order.external_id),
        (_("Store"), lambda order: order.store.name),
        (_("Marketplace"), lambda order: order.marketplace),
        (_("Purchased (UTC)"), lambda order: _when(order.purchased_at)),
        (_("Status"), lambda order: order.status),
        (_("Currency"), lambda order: order.currency),
        (_("Expected to settle"), lambda order: quantize_amount(expected_settlement_amount(order), order.currency)),
        (_("Order total"), lambda order: quantize_amount(order.total_amount, order.currency)),
    ]


def _orders_in_chunks(orders: QuerySet[Order]) -> Iterator[Order]:
    base = orders.order_by("purchased_at", "pk")
    last: tuple[datetime, int] | None = None
    while True:
        chunk = base
        if last is not None:
            chunk = chunk.filter(purchased_at__gte=last[0]).filter(
                Q(purchased_at__gt=last[0]) | Q(purchased_at=last[0], pk__gt=last[1])
            )
        batch = list(chunk[:CHUNK])
        yield from batch
        if len(batch) < CHUNK:
            return
        last = (batch[-1].purchased_at, batch[-1].pk)


def orders_not_yet_settled_csv(orders: QuerySet[Order], *, tenant: Tenant) -> Iterator[str]:
    """The orders no statement has paid, as CSV, oldest first (enters the tenant's scope itself)."""
    with tenant_scope(tenant):
        columns = _order_columns()
        rows = ([get(order) for _label, get in columns] for order in _orders_in_chunks(orders))
        yield from csv_lines([label for label, _get in columns], rows)


# --- the same exports as jobs (acorn.exports), for more rows than a person should wait for ---------------------


@dataclass(frozen=True)
class SettlementLinesFilters:
    settlement_id: int


@dataclass(frozen=True)
class NotYetSettledFilters:
    store_id: int | None = None


def _job_settlement(tenant: Tenant, params: Mapping[str, Any]) -> Settlement | None:
    filters = filters_from_params(SettlementLinesFilters, params)
    return Settlement.objects.filter(tenant=tenant, pk=filters.settlement_id).select_related("store").first()


def _settlement_records(tenant: Tenant, params: Mapping[str, Any]) -> Iterator[list[list[Any]]]:
    settlement = _job_settlement(tenant, params)
    if settlement is None:  # deleted since: an empty file, not an error
        return
    for row in settlement_line_rows(settlement):
        yield [row]


def _settlement_header(tenant: Tenant, params: Mapping[str, Any]) -> list[str]:
    settlement = _job_settlement(tenant, params)
    return settlement_line_columns(settlement) if settlement is not None else []


def _settlement_number_format(row: Sequence[Any]) -> str:
    return _number_format(str(row[SETTLEMENT_CURRENCY_COLUMN]))


SETTLEMENT_CURRENCY_COLUMN = 20  # "Currency" in _line_columns


SETTLEMENT_LINES_EXPORT = ExportKind(
    key="settlement_lines",
    label=gettext_lazy("Statement lines"),
    permission="finance.export",
    formats=("csv", "xlsx"),
    filename_stem="settlement-lines",
    count=lambda tenant, params: SettlementLine.objects.filter(
        tenant=tenant, settlement_id=filters_from_params(SettlementLinesFilters, params).settlement_id
    ).count(),
    table=TableExport(
        header=_settlement_header,
        records=_settlement_records,
        sheet_title=lambda: _("Lines"),
        number_format=_settlement_number_format,
    ),
    source_url_name="finance:settlement-list",
)


def _not_yet_settled(tenant: Tenant, params: Mapping[str, Any]) -> QuerySet[Order]:
    return orders_not_yet_settled(tenant=tenant, store_id=filters_from_params(NotYetSettledFilters, params).store_id)


def _not_yet_settled_records(tenant: Tenant, params: Mapping[str, Any]) -> Iterator[list[list[Any]]]:
    columns = _order_columns()
    for order in _orders_in_chunks(_not_yet_settled(tenant, params).select_related("store")):
        yield [[get(order) for _label, get in columns]]


NOT_YET_SETTLED_EXPORT = ExportKind(
    key="not_yet_settled",
    label=gettext_lazy("Orders not yet settled"),
    permission="finance.export",
    formats=("csv",),
    filename_stem="not-yet-settled",
    count=lambda tenant, params: _not_yet_settled(tenant, params).order_by().count(),
    table=TableExport(
        header=lambda tenant, params: [label for label, _get in _order_columns()],
        records=_not_yet_settled_records,
        sheet_title=lambda: _("Orders not yet settled"),
    ),
    source_url_name="finance:not-yet-settled",
)

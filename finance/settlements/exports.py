"""Exports of the finance console: a statement's lines (CSV streamed at any size, XLSX up to a cap) and the
orders not yet settled (CSV).

Codes (category, kind) are written as their stable values, not translated labels, so a file reads the same in
any language; times are UTC; amounts are exact decimal strings at the currency's minor unit in CSV (no
thousands separators, no symbol, the currency in its own column) and numbers in XLSX. Text a spreadsheet would
run as a formula (a vendor description starting with "=", "+", "-" or "@") is neutralised by the one helper
in acorn.spreadsheets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from acorn.money import quantize_amount
from acorn.spreadsheets import csv_lines, xlsx_file
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from finance.settlements.models import Settlement, SettlementLine
from finance.settlements.selectors import expected_settlement_amount
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

"""Order exports: one row per order line and one per order adjustment (shipping, fees, duties, tips, order
discounts, the unexplained difference), each with its order's columns; the "Row total" of an order's rows
adds up to its total. CSV streamed row by row, XLSX written in openpyxl's write-only mode (constant memory)
and streamed from a temporary file.

Amounts are quantised to their currency's minor unit (none for JPY) and written as exact decimal strings in
CSV and as numbers with the currency beside them in XLSX; never floats in between.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import IO, Any

from babel.numbers import get_currency_precision
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn import spreadsheets
from acorn.exports.params import filters_from_params
from acorn.exports.registry import ExportKind, TableExport
from acorn.money import quantize_amount
from acorn.spreadsheets import csv_lines
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from orders.models import Order, OrderAdjustment, OrderLine
from orders.selectors import OrderFilters, order_list

CHUNK = 1000  # orders per query of an export
XLSX_MAX_ORDERS = 200_000  # beyond this, the CSV (streamed, no limit) is the export to use


def _columns() -> list[str]:
    return [
        _("Order id"),
        _("Merchant order id"),
        _("Store"),
        _("Channel"),
        _("Marketplace"),
        _("Purchased (UTC)"),
        _("Status"),
        _("Channel status"),
        _("Fulfilment"),
        _("Buyer country"),
        _("Currency"),
        _("Order total"),
        _("Order items"),
        _("Order discounts"),
        _("Order shipping"),
        _("Order tax"),
        _("Prices include tax"),
        _("Order fees and other"),
        _("Unexplained difference"),
        _("Row"),
        _("Line id"),
        _("Channel SKU"),
        _("ASIN"),
        _("Title"),
        _("Quantity"),
        _("Unit price"),
        _("Items"),
        _("Tax"),
        _("Shipping"),
        _("Discount"),
        _("Adjustment"),
        _("Description"),
        _("Row total"),
        _("Stock"),
    ]


CURRENCY_COLUMN = 10  # where the row's currency is (XLSX formats its amounts by it)


def _orders_in_chunks(orders: QuerySet[Order]) -> Iterator[Order]:
    """Newest first, CHUNK orders per query by keyset (not one server-side cursor: PostgreSQL would compute
    the whole result before the first row, and a download of a million orders would wait minutes to start)."""
    lines = Prefetch("lines", queryset=OrderLine.objects.order_by("pk"))
    adjustments = Prefetch("adjustments", queryset=OrderAdjustment.objects.select_related("line").order_by("position"))
    base = orders.select_related("store").prefetch_related(lines, adjustments).order_by("-purchased_at", "-pk")
    last: tuple[Any, int] | None = None
    while True:
        chunk = base
        if last is not None:
            chunk = chunk.filter(purchased_at__lte=last[0]).filter(
                Q(purchased_at__lt=last[0]) | Q(purchased_at=last[0], pk__lt=last[1])
            )
        batch = list(chunk[:CHUNK])
        yield from batch
        if len(batch) < CHUNK:
            return
        last = (batch[-1].purchased_at, batch[-1].pk)


def _rows(orders: QuerySet[Order]) -> Iterator[list[Any]]:
    for record in _records(orders):
        yield from record


def _records(orders: QuerySet[Order]) -> Iterator[list[list[Any]]]:
    """Per order, the rows it becomes (one per line, then one per adjustment)."""
    for order in _orders_in_chunks(orders):
        yield _order_rows(order)


def _order_rows(order: Order) -> list[list[Any]]:
    """The rows of one order: one per line, then one per adjustment, each with the order's columns."""
    rows: list[list[Any]] = []
    currency = order.currency

    def amount(value: Decimal, currency: str = currency) -> Decimal:
        return quantize_amount(value, currency)

    head = [
        order.external_id,
        order.merchant_order_id,
        order.store.name,
        order.store.get_platform_display(),
        order.marketplace,
        order.purchased_at.strftime("%Y-%m-%d %H:%M:%S"),
        order.get_status_display(),
        order.raw_status,
        order.get_fulfillment_channel_display(),
        order.buyer_country,
        currency,
        amount(order.total_amount),
        amount(order.item_amount),
        amount(order.discount_amount),
        amount(order.shipping_amount),
        amount(order.tax_amount),
        _("yes") if order.taxes_included else _("no"),
        amount(order.other_amount),
        amount(order.unexplained_amount),
    ]
    for line in order.lines.all():
        rows.append(
            [
                *head,
                _("Line"),
                line.external_id,
                line.sku,
                line.asin,
                line.title,
                line.quantity,
                amount(line.unit_price_amount),
                amount(line.item_amount),
                amount(line.tax_amount),
                amount(line.shipping_amount),
                amount(line.discount_amount),
                "",
                "",
                amount(line.total_amount),
                line.get_stock_state_display() if line.stock_state else "",
            ]
        )
    for adjustment in order.adjustments.all():
        owner = adjustment.line
        rows.append(
            [
                *head,
                _("Adjustment"),
                owner.external_id if owner else "",
                owner.sku if owner else "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                adjustment.get_kind_display(),
                adjustment.label,
                amount(adjustment.amount),
                "",
            ]
        )
    return rows


def _number_format(currency: str) -> str:
    """Thousands separators and exactly the currency's decimals ("#,##0" for JPY, "#,##0.000" for KWD)."""
    places = get_currency_precision(currency)
    return "#,##0" + ("." + "0" * places if places else "")


def csv_stream(orders: QuerySet[Order], *, tenant: Tenant) -> Iterator[str]:
    """The CSV, piece by piece: a UTF-8 BOM (Excel then reads Chinese text right), the header, the rows.

    The response streams after the view has returned (and the middleware has left the tenant's scope), so
    the generator enters the scope itself."""
    with tenant_scope(tenant):
        yield from csv_lines(_columns(), _rows(orders))


def xlsx_file(orders: QuerySet[Order]) -> IO[bytes]:
    """The workbook in a temporary file (rewound), written row by row."""
    return spreadsheets.xlsx_file(
        sheet_title=_("Orders"),
        header=_columns(),
        rows=_rows(orders),
        number_format=lambda row: _number_format(str(row[CURRENCY_COLUMN])),
    )


# --- the same export as a job (acorn.exports), for more orders than a person should wait for -------------------


def _job_orders(tenant: Tenant, params: Mapping[str, Any]) -> QuerySet[Order]:
    return order_list(tenant=tenant, filters=filters_from_params(OrderFilters, params))


ORDERS_EXPORT = ExportKind(
    key="orders",
    label=gettext_lazy("Orders"),
    permission="orders.export",
    formats=("csv", "xlsx"),
    filename_stem="orders",
    count=lambda tenant, params: _job_orders(tenant, params).order_by().count(),
    table=TableExport(
        header=lambda tenant, params: _columns(),
        records=lambda tenant, params: _records(_job_orders(tenant, params)),
        sheet_title=lambda: _("Orders"),
        number_format=lambda row: _number_format(str(row[CURRENCY_COLUMN])),
    ),
    source_url_name="orders:order-list",
)

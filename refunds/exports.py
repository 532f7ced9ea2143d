"""Export of the raw refund details, for the seller's own backup: every field of every refund, with the list's
filters applied.

Layout: one row per refund line, the refund's own fields repeated on each of its lines (a refund without lines
is one row with the line columns empty). Refund-level components are the refund's (they may include an
order-level shipping refund no line carries); line components are the line's. Codes (status, tag, origin…)
are written as their stable values, not the translated labels, so a backup reads the same in any language;
times are UTC; amounts are exact decimal strings in CSV and numbers in XLSX, never floats in between.

CSV is streamed row by row at any size, with a UTF-8 BOM (Excel then reads Chinese text right); XLSX is
written in openpyxl's write-only mode up to XLSX_MAX_REFUNDS refunds. Text that a spreadsheet would run as
a formula is neutralised: a leading apostrophe in CSV, a plain string cell in XLSX.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import IO, Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn import spreadsheets
from acorn.exports.params import filters_from_params
from acorn.exports.registry import ExportKind, TableExport
from acorn.spreadsheets import csv_lines
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from refunds.models import Refund, RefundComponents, RefundLine
from refunds.selectors import RefundFilters, refund_list

CHUNK = 500  # refunds per query of an export
XLSX_MAX_REFUNDS = 100_000  # beyond this, the CSV (streamed, no limit) is the export to use


def _verbose_name(model: type[Any], name: str) -> str:
    return str(getattr(model._meta.get_field(name), "verbose_name", name))


def _field_label(model: type[Any], name: str) -> str:
    return capfirst(_verbose_name(model, name))


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _user(user: Any) -> str:
    return (getattr(user, "email", "") or str(user)) if user is not None else ""


Column = tuple[str, Callable[[Any], Any]]


def _refund_columns() -> list[Column]:
    """The refund's columns; choices are written as people read them in the export's language ("Refunded" /
    "已退款"), not as their stored codes (no import reads this file back)."""
    components = [
        (_("Refund: %(component)s") % {"component": _verbose_name(Refund, field)}, _getter(field))
        for field in RefundComponents.COMPONENT_FIELDS.values()
    ]
    return [
        (_("Refund (ACORN id)"), lambda r: r.pk),
        (_("Store"), lambda r: r.store.name),
        (_("Channel"), lambda r: r.store.get_platform_display()),
        (_field_label(Refund, "order_external_id"), _getter("order_external_id")),
        (_field_label(Refund, "marketplace"), _getter("marketplace")),
        (_field_label(Refund, "external_id"), _getter("external_id")),
        (_field_label(Refund, "dedupe_key"), _getter("dedupe_key")),
        (_field_label(Refund, "sources"), lambda r: "; ".join(str(source) for source in r.sources or [])),
        (_field_label(Refund, "origin"), lambda r: r.get_origin_display()),
        (_field_label(Refund, "status"), lambda r: r.get_status_display()),
        (_field_label(Refund, "refunded_at") + " (UTC)", lambda r: _when(r.refunded_at)),
        (_field_label(Refund, "currency"), _getter("currency")),
        (_field_label(Refund, "amount"), _getter("amount")),
        (_field_label(Refund, "net_amount"), _getter("net_amount")),
        *components,
        (_field_label(Refund, "reporting_currency"), _getter("reporting_currency")),
        (_field_label(Refund, "reporting_amount"), _getter("reporting_amount")),
        (_field_label(Refund, "fx_rate"), _getter("fx_rate")),
        (_field_label(Refund, "fx_rate_date"), lambda r: _day(r.fx_rate_date)),
        (_field_label(Refund, "fx_rate_source"), _getter("fx_rate_source")),
        (_field_label(Refund, "reason_code"), _getter("reason_code")),
        (_field_label(Refund, "reason_text"), _getter("reason_text")),
        (_field_label(Refund, "customer_comment"), _getter("customer_comment")),
        (_field_label(Refund, "tag"), lambda r: r.get_tag_display()),
        (_field_label(Refund, "tag_source"), lambda r: r.get_tag_source_display()),
        (_field_label(Refund, "category"), _getter("category")),
        (_field_label(Refund, "ledger_account"), _getter("ledger_account")),
        (_field_label(Refund, "matched_rule"), lambda r: r.matched_rule.name if r.matched_rule else ""),
        (_field_label(Refund, "flagged_for_service"), _getter("flagged_for_service")),
        (_field_label(Refund, "review_reason"), _getter("review_reason")),
        (_field_label(Refund, "reviewed_reason"), _getter("reviewed_reason")),
        (_field_label(Refund, "reviewed_by"), lambda r: _user(r.reviewed_by)),
        (_field_label(Refund, "reviewed_at") + " (UTC)", lambda r: _when(r.reviewed_at)),
        (_field_label(Refund, "requested_by"), lambda r: _user(r.requested_by)),
        (_field_label(Refund, "request_note"), _getter("request_note")),
        (_field_label(Refund, "approvals_required"), _getter("approvals_required")),
        (_field_label(Refund, "restock"), _getter("restock")),
        (_field_label(Refund, "idempotency_key"), lambda r: str(r.idempotency_key)),
        (_field_label(Refund, "channel_refund_id"), _getter("channel_refund_id")),
        (_field_label(Refund, "feed_id"), _getter("feed_id")),
        (_field_label(Refund, "attempts"), _getter("attempts")),
        (_field_label(Refund, "next_attempt_at") + " (UTC)", lambda r: _when(r.next_attempt_at)),
        (_field_label(Refund, "last_error"), _getter("last_error")),
        (_field_label(Refund, "executed_at") + " (UTC)", lambda r: _when(r.executed_at)),
        (_field_label(Refund, "created_at") + " (UTC)", lambda r: _when(r.created_at)),
        (_field_label(Refund, "updated_at") + " (UTC)", lambda r: _when(r.updated_at)),
        (_field_label(Refund, "raw"), lambda r: json.dumps(r.raw, ensure_ascii=False, sort_keys=True) if r.raw else ""),
    ]


def _line_columns() -> list[Column]:
    components = [
        (_("Line: %(component)s") % {"component": _verbose_name(RefundLine, field)}, _getter(field))
        for field in RefundComponents.COMPONENT_FIELDS.values()
    ]
    return [
        (_("Line (ACORN id)"), lambda line: line.pk),
        (_field_label(RefundLine, "order_item_id"), _getter("order_item_id")),
        (_field_label(RefundLine, "adjustment_id"), _getter("adjustment_id")),
        (_field_label(RefundLine, "sku"), _getter("sku")),
        (_("Master SKU"), lambda line: line.product.sku if line.product else ""),
        (_field_label(RefundLine, "quantity"), _getter("quantity")),
        (_("Line: refunded to the buyer"), _getter("amount")),
        *components,
    ]


def _getter(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


def columns() -> list[str]:
    """The header row (translated into the active language)."""
    return [label for label, _get in (*_refund_columns(), *_line_columns())]


def _refunds_in_chunks(refunds: QuerySet[Refund]) -> Iterator[Refund]:
    """Newest first, CHUNK refunds per query by keyset (no long-running server-side cursor)."""
    lines = Prefetch("lines", queryset=RefundLine.objects.select_related("product").order_by("pk"))
    base = (
        refunds.select_related("store", "matched_rule", "requested_by", "reviewed_by")
        .prefetch_related(lines)
        .order_by("-refunded_at", "-pk")
    )
    last: tuple[datetime, int] | None = None
    while True:
        chunk = base
        if last is not None:
            chunk = chunk.filter(refunded_at__lte=last[0]).filter(
                Q(refunded_at__lt=last[0]) | Q(refunded_at=last[0], pk__lt=last[1])
            )
        batch = list(chunk[:CHUNK])
        yield from batch
        if len(batch) < CHUNK:
            return
        last = (batch[-1].refunded_at, batch[-1].pk)


def rows(refunds: QuerySet[Refund]) -> Iterator[list[Any]]:
    """One list of values per refund line (per refund, when it has none), in the order of columns()."""
    for record in records(refunds):
        yield from record


def records(refunds: QuerySet[Refund]) -> Iterator[list[list[Any]]]:
    """Per refund, its rows: one per refund line (one when it has none)."""
    refund_columns, line_columns = _refund_columns(), _line_columns()
    empty_line = [""] * len(line_columns)
    for refund in _refunds_in_chunks(refunds):
        head = [get(refund) for _label, get in refund_columns]
        lines = list(refund.lines.all())
        if not lines:
            yield [[*head, *empty_line]]
        else:
            yield [[*head, *[get(line) for _label, get in line_columns]] for line in lines]


def csv_stream(refunds: QuerySet[Refund], *, tenant: Tenant) -> Iterator[str]:
    """The CSV, piece by piece: the BOM, the header, the rows.

    The response streams after the view has returned (and the middleware has left the tenant's scope), so
    the generator enters the scope itself."""
    with tenant_scope(tenant):
        yield from csv_lines(columns(), rows(refunds))


def xlsx_file(refunds: QuerySet[Refund]) -> IO[bytes]:
    """The workbook in a temporary file (rewound), written row by row."""
    return spreadsheets.xlsx_file(
        sheet_title=_("Refunds"), header=columns(), rows=rows(refunds), number_format="#,##0.00##"
    )


# --- the same export as a job (acorn.exports), for more refunds than a person should wait for ------------------


def _job_refunds(tenant: Tenant, params: Mapping[str, Any]) -> QuerySet[Refund]:
    return refund_list(tenant=tenant, filters=filters_from_params(RefundFilters, params))


REFUNDS_EXPORT = ExportKind(
    key="refunds",
    label=gettext_lazy("Refunds"),
    permission="refunds.export",
    formats=("csv", "xlsx"),
    filename_stem="refunds",
    count=lambda tenant, params: _job_refunds(tenant, params).order_by().count(),
    table=TableExport(
        header=lambda tenant, params: columns(),
        records=lambda tenant, params: records(_job_refunds(tenant, params)),
        sheet_title=lambda: _("Refunds"),
        number_format="#,##0.00##",
    ),
    source_url_name="refunds:refund-list",
)

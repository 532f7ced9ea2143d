"""The Profit pages under /app/finance/profit/: the period's statement with the previous period beside it, a
trend, tables by SKU / store / country, the drill-down from a SKU to its orders, and the export. Finance,
owner, admin and operator see them (profit.view); support does not. The order page's P&L panel is provided
to orders through its registry (orders.hooks.register_order_detail_section)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from acorn.money import quantize_amount
from acorn.spreadsheets import csv_lines, xlsx_cell
from acorn.tabs import section_tabs_for
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from channels.selectors import store_list
from finance.profit.forms import ProfitFilterForm
from finance.profit.glance import change_percent, trend_chart
from finance.profit.models import COMPONENTS
from finance.profit.pnl import order_pnl
from finance.profit.selectors import (
    BREAKDOWNS,
    BreakdownRow,
    Period,
    Totals,
    profit_breakdown,
    profit_filter_choices,
    profit_orders,
    profit_totals,
    profit_trend,
)
from inventory.models import Product
from orders.models import Order

PER_PAGE = 50
# The statement a person reads: (key, label, sign shown). Fees and other costs are sums of components.
STATEMENT = (
    ("sales", gettext_lazy("Sales")),
    ("shipping", gettext_lazy("Shipping charged")),
    ("promotions", gettext_lazy("Promotions")),
    ("refunds", gettext_lazy("Refunds")),
    ("fees", gettext_lazy("Marketplace fees")),
    ("reimbursements", gettext_lazy("Reimbursements")),
    ("cogs", gettext_lazy("Cost of goods")),
    ("fulfilment", gettext_lazy("Fulfilment cost")),
    ("advertising", gettext_lazy("Advertising")),
    ("storage", gettext_lazy("Storage fees")),
    ("other_costs", gettext_lazy("Other costs")),
)
COMPONENT_LABELS = {
    "sales": gettext_lazy("Sales"),
    "shipping": gettext_lazy("Shipping charged"),
    "promotions": gettext_lazy("Promotions"),
    "refunds": gettext_lazy("Refunds"),
    "referral_fees": gettext_lazy("Referral and commission fees"),
    "fba_fees": gettext_lazy("Fulfilment fees (FBA)"),
    "other_fees": gettext_lazy("Other fees"),
    "reimbursements": gettext_lazy("Reimbursements"),
    "cogs": gettext_lazy("Cost of goods"),
    "fulfilment": gettext_lazy("Fulfilment cost"),
    "advertising": gettext_lazy("Advertising"),
    "storage": gettext_lazy("Storage fees"),
    "other_costs": gettext_lazy("Other costs"),
    "tax": gettext_lazy("Tax (not counted)"),
}


def section_tabs(request: TenantRequest, active: str) -> list[dict[str, Any]]:
    """The Profit section's pages this member may open (templates/finance/finance_nav.html, context `tabs`)."""
    candidates = [
        ("profit", _("Profit"), "finance:profit", "profit.view"),
        ("costs", _("Costs"), "finance:profit-cost-list", "profit.view"),
        ("other-costs", _("Costs of no order"), "finance:profit-other-cost-list", "profit.view"),
    ]
    return section_tabs_for(request, candidates, active)


def _by(request: TenantRequest) -> str:
    asked = request.GET.get("by", "")
    return asked if asked in BREAKDOWNS else "sku"


def _form(request: TenantRequest) -> ProfitFilterForm:
    choices = profit_filter_choices(tenant=request.tenant)
    return ProfitFilterForm(
        request.GET or None,
        stores=[(store.pk, store.name) for store in store_list(tenant=request.tenant)],
        marketplaces=choices["marketplaces"],
        countries=choices["countries"],
        today=timezone.now().astimezone(UTC).date(),
    )


def _statement(totals: Totals, previous: Totals) -> list[dict[str, Any]]:
    rows = []
    for key, label in STATEMENT:
        current, before = Decimal(totals[key]), Decimal(previous[key])
        if current or before or key in ("sales", "fees", "cogs"):
            rows.append({"key": key, "label": label, "current": current, "previous": before})
    return rows


def _chart(trend: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    return {**trend_chart(trend, currency), "revenue_label": _("Revenue"), "net_label": _("Net profit")}


@tenant_member_required("profit.view")
def profit_view(request: TenantRequest) -> HttpResponse:
    form = _form(request)
    period = form.chosen_period()
    by = _by(request)
    sort = request.GET.get("sort") or "-net"
    totals = profit_totals(tenant=request.tenant, period=period)
    previous = profit_totals(tenant=request.tenant, period=period.previous())
    rows = profit_breakdown(tenant=request.tenant, period=period, by=by, sort=sort)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    currency = request.tenant.reporting_currency
    return render(
        request,
        "finance/profit/profit_overview.html",
        {
            "tabs": section_tabs(request, "profit"),
            "form": form,
            "period": period,
            "previous_period": period.previous(),
            "by": by,
            "sort": sort,
            "breakdowns": [("sku", _("By SKU")), ("store", _("By store")), ("country", _("By country"))],
            "totals": totals,
            "previous": previous,
            "statement": _statement(totals, previous),
            "net_change": change_percent(Decimal(totals["net"]), Decimal(previous["net"])),
            "page": page,
            "chart": _chart(profit_trend(tenant=request.tenant, period=period), currency),
            "currency": currency,
            "can_export": has_permission(request.membership, "profit.export"),
            "has_any": bool(totals["facts"]) or bool(previous["facts"]),
        },
    )


def _drill(request: TenantRequest, *, product: Product | None, sku: str) -> HttpResponse:
    form = _form(request)
    base = form.chosen_period()
    period = Period(
        start=base.start,
        end=base.end,
        store_id=base.store_id,
        marketplace=base.marketplace,
        country=base.country,
        product_id=product.pk if product else None,
        sku="" if product else sku,
    )
    totals = profit_totals(tenant=request.tenant, period=period)
    previous = profit_totals(tenant=request.tenant, period=period.previous())
    page = Paginator(profit_orders(tenant=request.tenant, period=period), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "finance/profit/profit_product.html",
        {
            "tabs": section_tabs(request, "profit"),
            "form": form,
            "period": period,
            "product": product,
            "sku": sku,
            "totals": totals,
            "previous": previous,
            "statement": _statement(totals, previous),
            "page": page,
            "currency": request.tenant.reporting_currency,
        },
    )


@tenant_member_required("profit.view")
def profit_product_view(request: TenantRequest, product_pk: int) -> HttpResponse:
    product = get_object_or_404(Product.objects.filter(tenant=request.tenant), pk=product_pk)
    return _drill(request, product=product, sku="")


@tenant_member_required("profit.view")
def profit_sku_view(request: TenantRequest) -> HttpResponse:
    """A channel SKU that maps to no product yet: its orders the same way."""
    sku = request.GET.get("sku", "").strip()
    if not sku:
        return _drill(request, product=None, sku="\x00")  # nothing matches: the page says so
    return _drill(request, product=None, sku=sku)


# --- export ----------------------------------------------------------------------------------------------

EXPORT_FIGURES = (*COMPONENTS, "tax", "net")


def _export_header(by: str) -> list[str]:
    first = {"sku": [_("SKU"), _("Name")], "store": [_("Store"), ""], "country": [_("Buyer country"), ""]}[by]
    return [
        _("From"),
        _("Until"),
        *[label for label in first if label],
        _("Units sold"),
        _("Units refunded"),
        _("Orders"),
        *[str(COMPONENT_LABELS[name]) for name in COMPONENTS],
        str(COMPONENT_LABELS["tax"]),
        _("Net profit"),
        _("Margin (%)"),
        _("Estimated figures"),
        _("Currency"),
    ]


def _export_rows(period: Period, by: str, rows: list[BreakdownRow], currency: str) -> Iterator[list[Any]]:
    for row in rows:
        label = [row.label] if by != "sku" else [row.label or _("Not assigned to a SKU"), _detail(row)]
        totals = row.totals
        yield [
            period.start.isoformat(),
            period.end.isoformat(),
            *label,
            totals["units"],
            totals["units_refunded"],
            totals["orders"],
            *[quantize_amount(totals[name], currency) for name in EXPORT_FIGURES],
            totals.margin if totals.margin is not None else "",
            totals["estimated"],
            currency,
        ]


def _detail(row: BreakdownRow) -> str:
    if row.detail == "unmapped":
        return _("not mapped to a product")
    if row.detail == "no-product":
        return ""
    return row.detail


@tenant_member_required("profit.export")
def profit_export_view(request: TenantRequest, fmt: str) -> HttpResponseBase:
    form = _form(request)
    period = form.chosen_period()
    by = _by(request)
    rows = profit_breakdown(tenant=request.tenant, period=period, by=by, sort=request.GET.get("sort") or "-net")
    currency = request.tenant.reporting_currency
    name = f"profit-by-{by}-{period.start.isoformat()}-{period.end.isoformat()}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_lines(_export_header(by), _export_rows(period, by, rows, currency)), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt != "xlsx":
        raise Http404
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Profit"))
    sheet.append([xlsx_cell(sheet, value) for value in _export_header(by)])
    for values in _export_rows(period, by, rows, currency):
        sheet.append([xlsx_cell(sheet, value) for value in values])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
    book.save(handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"{name}.xlsx")


# --- the order page's panel --------------------------------------------------------------------------------


def order_profit_section(request: TenantRequest, order: Order) -> tuple[str, dict[str, Any]] | None:
    """orders.hooks provider: the order's P&L in its currency and the reporting currency (profit.view)."""
    if not has_permission(request.membership, "profit.view"):
        return None
    pnl = order_pnl(order=order, reporting_currency=request.tenant.reporting_currency)
    if not pnl.rows:
        return None
    figures = [
        {
            "label": COMPONENT_LABELS[name],
            "own": pnl.own_total[name],
            "reporting": pnl.reporting_total[name],
            "tax": name == "tax",
        }
        for name in (*COMPONENTS, "tax")
        if pnl.own_total[name] or pnl.reporting_total[name]
    ]
    return "finance/profit/order_panel.html", {"pnl": pnl, "figures": figures}

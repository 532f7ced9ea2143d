"""The order workspace: one list for every channel with filters, keyset pages and exports; the order page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import models
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from acorn.audit.selectors import audit_events_for
from acorn.exports.selectors import export_exceeds_inline_limit
from acorn.exports.services import export_inline_limit
from acorn.exports.views import export_queued_if_large
from acorn.pagination import keyset_paginate
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from channels.models import Platform
from channels.selectors import store_list
from orders import exports
from orders.forms import OrderFilterForm
from orders.hooks import order_detail_sections
from orders.models import FulfillmentChannel, Order, OrderStatus, StockProblem
from orders.selectors import (
    ORDER_SORTS,
    OrderFilters,
    marketplace_codes,
    order_detail_lines,
    order_get_or_404,
    order_list,
    order_list_counted,
    order_money,
)


def _filtered(request: TenantRequest) -> tuple[OrderFilterForm, OrderFilters, bool]:
    stores = [(store.pk, store.name) for store in store_list(tenant=request.tenant)]
    form = OrderFilterForm(request.GET or None, stores=stores, marketplaces=marketplace_codes(tenant=request.tenant))
    filters = OrderFilters.from_form(form.cleaned_data) if form.is_bound and form.is_valid() else OrderFilters()
    return form, filters, bool(stores)


@dataclass(frozen=True)
class OrderRow:
    """One order of the list as the page shows it: the order, its page's address and its labels."""

    order: Order
    url: str
    platform: str
    status: str
    fulfillment: str
    stock_problem: str


def _labels(choices: type[models.TextChoices]) -> dict[str, str]:
    """Each value's label in the active language, translated once."""
    return {value: str(label) for value, label in choices.choices}


def order_rows(orders: Sequence[Order]) -> list[OrderRow]:
    """The page's orders with their labels, each kind translated once per page (get_FOO_display rebuilds and
    translates the field's whole choices list on every call: three per row) and their links."""
    platforms, statuses = _labels(Platform), _labels(OrderStatus)
    fulfillments, problems = _labels(FulfillmentChannel), _labels(StockProblem)
    return [
        OrderRow(
            order=order,
            url=reverse("orders:order-detail", args=[order.pk]),
            platform=platforms.get(order.store.platform, order.store.platform),
            status=statuses.get(order.status, order.status),
            fulfillment=fulfillments.get(order.fulfillment_channel, order.fulfillment_channel),
            stock_problem=problems.get(order.stock_problem, order.stock_problem),
        )
        for order in orders
    ]


@tenant_member_required("orders.view")
def order_list_view(request: TenantRequest) -> HttpResponse:
    form, filters, has_stores = _filtered(request)
    sort = form.cleaned_data.get("sort") if form.is_bound and form.is_valid() else ""
    ordering = ORDER_SORTS.get(sort or "newest", ORDER_SORTS["newest"])[0]
    orders, count, more = order_list_counted(tenant=request.tenant, filters=filters)
    page = keyset_paginate(orders, ordering=ordering, cursor=request.GET.get("cursor"), per_page=50)
    return render(
        request,
        "orders/order_list.html",
        {
            "form": form,
            "page": page,
            "rows": order_rows(page.object_list),
            "count": count,
            "count_more": more,
            "has_stores": has_stores,
            "filtered": filters != OrderFilters(),
            "can_export": has_permission(request.membership, "orders.export"),
            "xlsx_max": exports.XLSX_MAX_ORDERS,
            "inline_max": export_inline_limit(),
        },
    )


@tenant_member_required("orders.export")
def order_export_view(request: TenantRequest, fmt: str) -> HttpResponseBase:
    """The filtered orders, one row per line: written while the person waits up to ACORN_EXPORT_INLINE_ROWS
    orders, else by a worker (the export's page follows it); XLSX up to XLSX_MAX_ORDERS orders."""
    _form, filters, _has_stores = _filtered(request)
    orders = order_list(tenant=request.tenant, filters=filters)
    if fmt == "xlsx" and export_exceeds_inline_limit(orders, limit=exports.XLSX_MAX_ORDERS):
        return HttpResponse(
            _("More than %(max)d orders match: narrow the filters or export CSV, which has no limit.")
            % {"max": exports.XLSX_MAX_ORDERS},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    queued = export_queued_if_large(
        request, records=orders, kind=exports.ORDERS_EXPORT.key, file_format=fmt, filters=filters
    )
    if queued is not None:
        return queued
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.csv_stream(orders, tenant=request.tenant), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
        return response
    return FileResponse(
        exports.xlsx_file(orders),
        as_attachment=True,
        filename=f"orders-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@tenant_member_required("orders.view")
def order_detail_view(request: TenantRequest, order_pk: int) -> HttpResponse:
    order = order_get_or_404(tenant=request.tenant, pk=order_pk)
    shipments = list(order.shipments.all())
    fulfillment = getattr(order, "fulfillment", None)
    audited = [("orders.order", order.pk), *[("orders.shipment", shipment.pk) for shipment in shipments]]
    if fulfillment is not None:
        audited.append(("orders.fulfillmentrequest", fulfillment.pk))
    lines = order_detail_lines(order=order)
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "lines": lines,
            "breakdown": order_money(order=order, lines=[row.line for row in lines]),
            "timeline": order.status_changes.order_by("changed_at", "pk"),
            "shipments": shipments,
            "fulfillment": fulfillment,
            "events": audit_events_for(tenant=request.tenant, objects=audited)[:50],
            "sections": order_detail_sections(request, order),  # the apps above (finance: the order's P&L)
        },
    )

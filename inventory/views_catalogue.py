"""The catalogue in bulk: product import (CSV or XLSX) with its template, and the product and stock exports."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from acorn.exports.registry import ExportKind
from acorn.exports.views import export_queued_if_large
from acorn.spreadsheets import csv_lines, xlsx_file
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from inventory import catalogue_csv
from inventory.forms_catalogue import ProductImportForm
from inventory.models import Product, StockLevel

FORMATS = ("csv", "xlsx")


def _export(request: TenantRequest, kind: ExportKind, file_format: str) -> HttpResponse:
    """A table export of this tenant: queued as a job when large, else written now."""
    if file_format not in FORMATS:
        raise Http404
    assert kind.table is not None
    model = Product if kind is catalogue_csv.PRODUCTS_EXPORT else StockLevel
    queued = export_queued_if_large(
        request,
        records=model.objects.filter(tenant=request.tenant),
        kind=kind.key,
        file_format=file_format,
        filters=catalogue_csv.NoFilters(),
    )
    if queued is not None:
        return queued
    header = kind.table.header(request.tenant, {})
    rows = [row for record in kind.table.records(request.tenant, {}) for row in record]
    filename = f"{kind.filename_stem}-{timezone.now():%Y%m%d}.{file_format}"
    if file_format == "xlsx":
        handle = xlsx_file(sheet_title=kind.table.sheet_title(), header=header, rows=rows)
        return cast(HttpResponse, FileResponse(handle, as_attachment=True, filename=filename))
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The view guard is typed for HttpResponse; a streaming response is served the same way.
    return cast(HttpResponse, response)


@require_GET
@tenant_member_required("inventory.view")
def product_export_view(request: TenantRequest, fmt: str) -> HttpResponse:
    """Every product in the import's columns: edited and imported again, it changes only what was edited."""
    return _export(request, catalogue_csv.PRODUCTS_EXPORT, fmt)


@require_GET
@tenant_member_required("inventory.view")
def stock_export_view(request: TenantRequest, fmt: str) -> HttpResponse:
    """Stock per product and warehouse: on hand, reserved, available."""
    return _export(request, catalogue_csv.STOCK_EXPORT, fmt)


@require_GET
@tenant_member_required("inventory.manage")
def product_import_template_view(request: TenantRequest) -> HttpResponse:
    """A CSV with the import's header and one example row."""
    response = HttpResponse(
        "".join(csv_lines(catalogue_csv.CSV_COLUMNS, [catalogue_csv.TEMPLATE_ROW])),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="products-template.csv"'
    return response


@require_http_methods(["GET", "POST"])
@tenant_member_required("inventory.manage")
def product_import_view(request: TenantRequest) -> HttpResponse:
    """Upload products as CSV or XLSX: all rows are imported, or none and every problem is listed."""
    form = ProductImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = catalogue_csv.product_import(
            tenant=request.tenant, data=form.cleaned_data["file"].read(), actor=request.user
        )
        if result.imported:
            messages.success(
                request,
                _("Import done: %(created)d created, %(updated)d changed, %(unchanged)d unchanged.")
                % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
            )
            return redirect("inventory:product-list")
    failed = form.errors or (result is not None and not result.imported)
    return render(
        request,
        "inventory/product_import.html",
        {"form": form, "result": result, "columns": catalogue_csv.CSV_COLUMNS},
        status=400 if failed else 200,
    )

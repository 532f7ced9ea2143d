"""The exports page (the company's recent exports), one export's page with its progress, its download, a retry,
and the owner's request for all of the company's data. Views parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from acorn.exports.forms import TenantDataExportForm
from acorn.exports.models import ExportJob
from acorn.exports.params import filters_to_params
from acorn.exports.registry import export_kind
from acorn.exports.selectors import export_exceeds_inline_limit, export_job_get_or_404, export_job_list
from acorn.exports.services import CONTENT_TYPES, export_inline_limit, export_job_request, export_job_retry
from acorn.exports.tenant_data import TENANT_DATA_KIND
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission

PER_PAGE = 25


@tenant_member_required()
def export_list_view(request: TenantRequest) -> HttpResponse:
    jobs = export_job_list(tenant=request.tenant, membership=request.membership)
    page = Paginator(jobs, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "exports/exportjob_list.html",
        {
            "page": page,
            "can_export_data": has_permission(request.membership, "tenant.data_export"),
            "form": TenantDataExportForm(),
            "keep_days": settings.ACORN_EXPORT_KEEP_DAYS,
        },
    )


@tenant_member_required()
def export_detail_view(request: TenantRequest, job_pk: int) -> HttpResponse:
    """One export while a worker writes it (the progress part polls itself until it is done), then its file."""
    job = export_job_get_or_404(tenant=request.tenant, membership=request.membership, pk=job_pk)
    template = (
        "exports/exportjob_progress.html" if request.headers.get("HX-Request") else "exports/exportjob_detail.html"
    )
    return render(request, template, {"job": job, "kind": export_kind(job.kind)})


@tenant_member_required()
def export_download_view(request: TenantRequest, job_pk: int) -> FileResponse:
    """The file of a finished export of this company; 404 if it is not ready, expired, or gone from storage."""
    job = export_job_get_or_404(tenant=request.tenant, membership=request.membership, pk=job_pk)
    if job.status != ExportJob.Status.DONE or not job.document:
        raise Http404
    try:
        handle = job.document.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle, as_attachment=True, filename=job.filename, content_type=CONTENT_TYPES[ExportJob.Format(job.file_format)]
    )


@require_POST
@tenant_member_required()
def export_retry_view(request: TenantRequest, job_pk: int) -> HttpResponse:
    job = export_job_get_or_404(tenant=request.tenant, membership=request.membership, pk=job_pk)
    export_job_retry(tenant=request.tenant, membership=request.membership, job=job)
    messages.info(request, _("The export was queued again."))
    return redirect("exports:export-detail", job_pk=job.pk)


@require_http_methods(["GET", "POST"])
@tenant_member_required("tenant.data_export")
def tenant_data_request_view(request: TenantRequest) -> HttpResponse:
    """The owner asks for a zip of everything ACORN holds for the company; a worker writes it."""
    form = TenantDataExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        job = export_job_request(
            tenant=request.tenant,
            membership=request.membership,
            kind=TENANT_DATA_KIND,
            file_format=ExportJob.Format.ZIP,
            params={},
            language=translation.get_language() or "",
        )
        return redirect("exports:export-detail", job_pk=job.pk)
    return render(request, "exports/tenant_data_request.html", {"form": form}, status=400 if form.errors else 200)


def export_queued_if_large(
    request: TenantRequest, *, records: QuerySet[Any], kind: str, file_format: str, filters: Any
) -> HttpResponse | None:
    """For a list's export view: when more than ACORN_EXPORT_INLINE_ROWS records match, queue the export as a
    job with these filters (a dataclass) and answer with the way to its page; else None (write it now)."""
    if not export_exceeds_inline_limit(records, limit=export_inline_limit()):
        return None
    job = export_job_request(
        tenant=request.tenant,
        membership=request.membership,
        kind=kind,
        file_format=file_format,
        params=filters_to_params(filters),
        language=translation.get_language() or "",
    )
    return redirect("exports:export-detail", job_pk=job.pk)

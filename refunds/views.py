"""The refunds console: refund and return lists with filters and keyset pages, their detail pages, a person's
tag override, the review queue and the export of raw refund details. Views parse, call a selector or a
service, and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from acorn.audit.selectors import audit_events_for
from acorn.exports.selectors import export_exceeds_inline_limit
from acorn.exports.views import export_queued_if_large
from acorn.money import Money
from acorn.pagination import keyset_paginate
from acorn.tabs import section_tabs_for
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from channels.selectors import store_list
from refunds import exports, review
from refunds.forms_console import RefundFilterForm, ReturnFilterForm, ReviewMarkForm, TagOverrideForm
from refunds.models import Refund, RefundComponents, RefundSource, Return
from refunds.selectors import (
    RefundFilters,
    ReturnFilters,
    count_capped,
    refund_detail_lines,
    refund_get_or_404,
    refund_list,
    refund_page_rows,
    refund_related_returns,
    return_get_or_404,
    return_list,
    return_review_reasons,
)
from refunds.tagging import tag_set

PER_PAGE = 50
_SOURCE_LABELS = dict(RefundSource.choices)


def section_tabs(request: TenantRequest, active: str) -> list[dict[str, Any]]:
    """The refunds section's pages this member may open, for templates/refunds/refund_nav.html (context `tabs`).

    Other refunds pages may include the same partial."""
    candidates = [
        ("refunds", _("Refunds"), "refunds:refund-list", "refunds.view"),
        ("returns", _("Returns"), "refunds:return-list", "refunds.view"),
        ("review", _("Review queue"), "refunds:review-queue", "refunds.view"),
        ("approvals", _("Approvals"), "refunds:approval-queue", "refunds.approve"),
        ("rules", _("Rules"), "refunds:rule-list", "refunds.rules"),
        ("alerts", _("Alerts"), "refunds:alert-list", "refunds.view"),
        ("rates", _("Refund rates"), "refunds:rate-list", "refunds.view"),
        ("thresholds", _("Thresholds"), "refunds:threshold-list", "refunds.view"),
    ]
    return section_tabs_for(request, candidates, active)


def _stores(request: TenantRequest) -> list[tuple[int, str]]:
    return [(store.pk, store.name) for store in store_list(tenant=request.tenant)]


def _refund_filters(request: TenantRequest) -> tuple[RefundFilterForm, RefundFilters, bool]:
    stores = _stores(request)
    form = RefundFilterForm(request.GET or None, stores=stores, reporting_currency=request.tenant.reporting_currency)
    filters = RefundFilters.from_form(form.cleaned_data) if form.is_bound and form.is_valid() else RefundFilters()
    return form, filters, bool(stores)


def _back(request: TenantRequest, default: str) -> HttpResponse:
    """Back to the page the form was on (a local URL only), else to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


@tenant_member_required("refunds.view")
def refund_list_view(request: TenantRequest) -> HttpResponse:
    form, filters, has_stores = _refund_filters(request)
    refunds = refund_list(tenant=request.tenant, filters=filters)
    page = keyset_paginate(
        refund_page_rows(refunds), ordering="-refunded_at", cursor=request.GET.get("cursor"), per_page=PER_PAGE
    )
    count, more = count_capped(refunds)
    return render(
        request,
        "refunds/refund_list.html",
        {
            "tabs": section_tabs(request, "refunds"),
            "form": form,
            "page": page,
            "count": count,
            "count_more": more,
            "has_stores": has_stores,
            "filtered": filters != RefundFilters(),
            "can_export": has_permission(request.membership, "refunds.export"),
            "xlsx_max": exports.XLSX_MAX_REFUNDS,
        },
    )


@tenant_member_required("refunds.export")
def refund_export_view(request: TenantRequest, fmt: str) -> HttpResponseBase:
    """The filtered refunds' raw details, one row per refund line: CSV streamed at any size, XLSX up to a cap."""
    form, filters, _has_stores = _refund_filters(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(
            _("The filters are not valid; correct them on the refunds page first."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    refunds = refund_list(tenant=request.tenant, filters=filters)
    if fmt == "xlsx" and export_exceeds_inline_limit(refunds, limit=exports.XLSX_MAX_REFUNDS):
        return HttpResponse(
            _("More than %(max)d refunds match: narrow the filters or export CSV, which has no limit.")
            % {"max": exports.XLSX_MAX_REFUNDS},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    queued = export_queued_if_large(
        request, records=refunds, kind=exports.REFUNDS_EXPORT.key, file_format=fmt, filters=filters
    )
    if queued is not None:
        return queued
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.csv_stream(refunds, tenant=request.tenant), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="refunds-{stamp}.csv"'
        return response
    return FileResponse(
        exports.xlsx_file(refunds),
        as_attachment=True,
        filename=f"refunds-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _components(row: RefundComponents, currency: str) -> list[dict[str, Any]]:
    # A console request's "other" is its goodwill amount on the order (refunds.approvals): say so.
    goodwill = isinstance(row, Refund) and row.is_request
    return [
        {
            "name": name,
            "label": _("goodwill")
            if goodwill and name == "other"
            else getattr(type(row)._meta.get_field(field), "verbose_name", name),
            "amount": getattr(row, field),
            "money": Money(getattr(row, field), currency),
        }
        for name, field in RefundComponents.COMPONENT_FIELDS.items()
    ]


def _refund_detail(request: TenantRequest, refund: Refund, tag_form: TagOverrideForm | None = None) -> dict[str, Any]:
    approvals = list(refund.approvals.values_list("pk", flat=True))
    audited = [("refunds.refund", refund.pk), *[("refunds.approval", pk) for pk in approvals]]
    lines = refund_detail_lines(refund=refund)
    open_reasons = review.open_reasons(refund, tenant=request.tenant)
    return {
        "tabs": section_tabs(request, "refunds"),
        "refund": refund,
        "components": _components(refund, refund.currency),
        "lines": [
            {
                "line": line,
                "money": Money(line.amount, refund.currency),
                "components": [c for c in _components(line, refund.currency) if c["amount"]],
            }
            for line in lines
        ],
        "returns": refund_related_returns(refund=refund),
        "sources": [_SOURCE_LABELS.get(str(source), str(source)) for source in refund.sources or []],
        "tag_form": tag_form or TagOverrideForm(initial={"tag": refund.tag}),
        "can_tag": has_permission(request.membership, "refunds.request"),
        "open_reasons": [{"code": code, "label": review.reason_label(code)} for code in open_reasons],
        "reviewed_label": review.reason_label(refund.reviewed_reason) if refund.reviewed_reason else "",
        "review_reason_label": review.reason_label(refund.review_reason) if refund.review_reason else "",
        "events": audit_events_for(tenant=request.tenant, objects=audited)[:50],
    }


@tenant_member_required("refunds.view")
def refund_detail_view(request: TenantRequest, refund_pk: int) -> HttpResponse:
    refund = refund_get_or_404(tenant=request.tenant, pk=refund_pk)
    return render(request, "refunds/refund_detail.html", _refund_detail(request, refund))


def _detail_url(record: Refund | Return) -> str:
    if isinstance(record, Refund):
        return reverse("refunds:refund-detail", kwargs={"refund_pk": record.pk})
    return reverse("refunds:return-detail", kwargs={"return_pk": record.pk})


def _tag_response(request: TenantRequest, record: Refund | Return, *, template: str, detail: Any) -> HttpResponse:
    """A person sets a refund's or return's reason tag (over any code, keyword or rule), from its page."""
    form = TagOverrideForm(request.POST)
    if not form.is_valid():
        return render(request, template, detail(request, record, form), status=400)
    tag_set(tenant=request.tenant, record=record, tag=form.cleaned_data["tag"], actor=request.user)
    messages.success(request, _("Reason tag set to “%(tag)s”.") % {"tag": record.get_tag_display()})
    return redirect(_detail_url(record))


def _review_response(request: TenantRequest, record: Refund | Return, *, done: str) -> HttpResponse:
    """A person marks a refund or return reviewed for one reason; it leaves the review queue."""
    form = ReviewMarkForm(request.POST)
    default = _detail_url(record)
    if not form.is_valid():
        messages.error(request, _("Say which reason you reviewed."))
        return _back(request, default)
    try:
        review.mark_reviewed(
            tenant=request.tenant,
            record=record,
            reason=form.cleaned_data["reason"],
            actor=request.user,
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(request, default)
    messages.success(request, done % {"id": record.external_id})
    return _back(request, default)


@require_POST
@tenant_member_required("refunds.request")
def refund_tag_view(request: TenantRequest, refund_pk: int) -> HttpResponse:
    refund = refund_get_or_404(tenant=request.tenant, pk=refund_pk)
    return _tag_response(request, refund, template="refunds/refund_detail.html", detail=_refund_detail)


@require_POST
@tenant_member_required("refunds.request")
def refund_review_view(request: TenantRequest, refund_pk: int) -> HttpResponse:
    refund = refund_get_or_404(tenant=request.tenant, pk=refund_pk)
    return _review_response(request, refund, done=_("Refund %(id)s marked reviewed."))


@tenant_member_required("refunds.view")
def return_list_view(request: TenantRequest) -> HttpResponse:
    stores = _stores(request)
    form = ReturnFilterForm(
        request.GET or None, stores=stores, review_reasons=return_review_reasons(tenant=request.tenant)
    )
    filters = ReturnFilters.from_form(form.cleaned_data) if form.is_bound and form.is_valid() else ReturnFilters()
    returns = return_list(tenant=request.tenant, filters=filters)
    page = keyset_paginate(returns, ordering="-returned_at", cursor=request.GET.get("cursor"), per_page=PER_PAGE)
    count, more = count_capped(returns)
    return render(
        request,
        "refunds/return_list.html",
        {
            "tabs": section_tabs(request, "returns"),
            "form": form,
            "page": page,
            "count": count,
            "count_more": more,
            "has_stores": bool(stores),
            "filtered": filters != ReturnFilters(),
            "reason_labels": {code: review.reason_label(code) for code in review.REVIEW_REASON_LABELS},
        },
    )


# Return fields shown in the "every field" table of the detail page (the rest have panels of their own).
_RETURN_DETAIL_FIELDS = (
    "external_id",
    "source",
    "status",
    "channel_status",
    "order_external_id",
    "marketplace",
    "fulfillment_channel",
    "sku",
    "asin",
    "product",
    "title",
    "quantity",
    "reason_code",
    "customer_comment",
    "disposition",
    "fulfillment_center",
    "license_plate_number",
    "rma",
    "carrier",
    "tracking_number",
    "returned_at",
    "received_at",
    "restock_state",
    "restock_warehouse",
    "restocked_sellable",
    "restocked_damaged",
    "created_at",
    "updated_at",
)


def _return_fields(record: Return) -> list[dict[str, Any]]:
    rows = []
    for name in _RETURN_DETAIL_FIELDS:
        field = Return._meta.get_field(name)
        value: Any = getattr(record, name)
        if getattr(field, "choices", None):
            value = getattr(record, f"get_{name}_display")()
        rows.append({"name": name, "label": getattr(field, "verbose_name", name), "value": value})
    return rows


def _return_detail(request: TenantRequest, record: Return, tag_form: TagOverrideForm | None = None) -> dict[str, Any]:
    open_reasons = review.open_reasons(record, tenant=request.tenant)
    return {
        "tabs": section_tabs(request, "returns"),
        "record": record,
        "fields": _return_fields(record),
        "tag_form": tag_form or TagOverrideForm(initial={"tag": record.tag}),
        "can_tag": has_permission(request.membership, "refunds.request"),
        "open_reasons": [{"code": code, "label": review.reason_label(code)} for code in open_reasons],
        "reviewed_label": review.reason_label(record.reviewed_reason) if record.reviewed_reason else "",
        "review_reason_label": review.reason_label(record.review_reason) if record.review_reason else "",
        "events": audit_events_for(tenant=request.tenant, objects=[("refunds.return", record.pk)])[:50],
    }


@tenant_member_required("refunds.view")
def return_detail_view(request: TenantRequest, return_pk: int) -> HttpResponse:
    record = return_get_or_404(tenant=request.tenant, pk=return_pk)
    return render(request, "refunds/return_detail.html", _return_detail(request, record))


@require_POST
@tenant_member_required("refunds.request")
def return_tag_view(request: TenantRequest, return_pk: int) -> HttpResponse:
    record = return_get_or_404(tenant=request.tenant, pk=return_pk)
    return _tag_response(request, record, template="refunds/return_detail.html", detail=_return_detail)


@require_POST
@tenant_member_required("refunds.request")
def return_review_view(request: TenantRequest, return_pk: int) -> HttpResponse:
    record = return_get_or_404(tenant=request.tenant, pk=return_pk)
    return _review_response(request, record, done=_("Return %(id)s marked reviewed."))


@tenant_member_required("refunds.view")
def review_queue_view(request: TenantRequest) -> HttpResponse:
    """The review queue, one section at a time (each a keyset-paged query), with every section's count."""
    counts = review.review_counts(tenant=request.tenant)
    requested = request.GET.get("section", "")
    if requested not in review.SECTION_KEYS:
        # Open the first section with something in it.
        requested = next((key for key in review.SECTION_KEYS if counts[key][0]), review.SECTION_KEYS[0])
    section = review.section_get(requested)
    rows = review.section_rows(tenant=request.tenant, key=section.key)
    if section.kind == "refund":
        rows = refund_page_rows(rows)
    page = keyset_paginate(rows, ordering=section.ordering, cursor=request.GET.get("cursor"), per_page=PER_PAGE)
    days = review.section_days(section)
    return render(
        request,
        "refunds/review_queue.html",
        {
            "tabs": section_tabs(request, "review"),
            "sections": [
                {"key": s.key, "label": s.label, "count": counts[s.key][0], "more": counts[s.key][1]}
                for s in review.SECTIONS
            ],
            "section": section,
            "section_help": str(section.help_text) % {"days": days} if days is not None else section.help_text,
            "page": page,
            "can_review": has_permission(request.membership, "refunds.request"),
            "reason_labels": {code: review.reason_label(code) for code in review.REVIEW_REASON_LABELS},
            "computed_reason": section.key if section.key in (review.NOT_RETURNED, review.NOT_REFUNDED) else "",
        },
    )


# The rules and approvals pages import the tabs under their first name.
_tabs = section_tabs

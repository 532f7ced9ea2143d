"""The finance console: statements (list, page, export of lines), the vendor types nothing maps with the
one-click "map this type", the shipped orders no statement has paid, and the upload of settlement files
(which also needs `finance.import`). Views parse, call a selector or a
service, and render."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from acorn.money import Money
from acorn.pagination import keyset_paginate
from acorn.tasks import enqueue_on_commit
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from channels.models import Platform
from channels.selectors import store_list
from finance.forms import CategoryMapForm, SettlementFilterForm, SettlementUploadForm, StoreFilterForm
from finance.quickbooks.client import QuickBooksError
from finance.quickbooks.models import QuickBooksStatus
from finance.quickbooks.selectors import (
    accounts_unmatched,
    journals_due_for_posting,
    journals_failed,
    journals_unmatched,
    quickbooks_connection_get,
)
from finance.quickbooks.services import (
    quickbooks_accounts_match,
    quickbooks_authorization_start,
    quickbooks_connect,
    quickbooks_disconnect,
    quickbooks_redirect_uri,
)
from finance.settlements import exports
from finance.settlements.files import settlement_file_import
from finance.settlements.models import Category, Settlement, SettlementStatus
from finance.settlements.selectors import (
    NOT_YET_SETTLED_AFTER,
    expected_settlement_amount,
    orders_not_yet_settled,
    settlement_category_totals,
    settlement_get_or_404,
    settlement_lines,
    settlement_list,
    settlement_month_split,
    settlement_order_group_rows,
    settlement_order_groups,
    settlement_sku_groups,
    settlement_type_groups,
    settlement_unclassified_types,
    settlement_unmatched_order_ids_first,
    unclassified_type_rows,
)
from finance.settlements.services import SettlementImportError, category_rule_set

PER_PAGE = 50
GROUP_PER_PAGE = 100
UNMATCHED_SHOWN = 50
GROUPS = ("order", "sku", "type", "lines")
_CATEGORY_LABELS = dict(Category.choices)


def section_tabs(request: TenantRequest, active: str) -> list[dict[str, Any]]:
    """The finance section's pages this member may open (templates/finance/finance_nav.html, context `tabs`)."""
    candidates = [
        ("settlements", _("Settlements"), "finance:settlement-list", "finance.view"),
        ("unclassified", _("Unclassified types"), "finance:unclassified-list", "finance.view"),
        ("not-yet-settled", _("Not yet settled"), "finance:not-yet-settled", "finance.view"),
        ("quickbooks", _("QuickBooks"), "finance:quickbooks", "finance.view"),
    ]
    tabs = []
    for key, label, url_name, permission in candidates:
        if not has_permission(request.membership, permission):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        tabs.append({"key": key, "label": label, "url": url, "active": key == active})
    return tabs


def _stores(request: TenantRequest) -> list[tuple[int, str]]:
    return [(store.pk, store.name) for store in store_list(tenant=request.tenant)]


def _back(request: TenantRequest, default: str) -> HttpResponse:
    """Back to the page the form was on (a local URL only), else to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


@tenant_member_required("finance.view")
def finance_home_view(request: TenantRequest) -> HttpResponse:
    return redirect("finance:settlement-list")


@tenant_member_required("finance.view")
def settlement_list_view(request: TenantRequest) -> HttpResponse:
    stores = _stores(request)
    form = SettlementFilterForm(request.GET or None, stores=stores)
    filters = form.filters()
    settlements = settlement_list(tenant=request.tenant, **filters)
    page = keyset_paginate(settlements, ordering="-period_end", cursor=request.GET.get("cursor"), per_page=PER_PAGE)
    return render(
        request,
        "finance/settlement_list.html",
        {
            "tabs": section_tabs(request, "settlements"),
            "form": form,
            "page": page,
            "has_stores": bool(stores),
            "filtered": any(value not in (None, "") for value in filters.values()) or bool(form.errors),
        },
    )


def _category_totals(settlement: Settlement) -> list[dict[str, Any]]:
    totals = settlement_category_totals(settlement=settlement)
    return [
        {"category": code, "label": label, "money": Money(totals[code], settlement.currency).quantized()}
        for code, label in Category.choices
        if code in totals
    ]


def _month_split(settlement: Settlement) -> dict[str, Any]:
    parts = settlement_month_split(settlement=settlement)
    categories = [code for code, _label in Category.choices if any(code in part.categories for part in parts)]
    currency = settlement.currency
    return {
        "months": [part.month for part in parts],
        "rows": [
            {
                "label": _CATEGORY_LABELS[code],
                "amounts": [
                    Money(part.categories[code], currency).quantized() if code in part.categories else None
                    for part in parts
                ],
            }
            for code in categories
        ],
        "totals": [Money(part.total, currency).quantized() for part in parts],
        "lines": [part.lines for part in parts],
    }


def _group_context(request: TenantRequest, settlement: Settlement, group: str) -> dict[str, Any]:
    if group == "lines":
        order_id = request.GET.get("order", "")[:100]
        lines = settlement_lines(settlement=settlement, order_external_id=order_id)
        page = keyset_paginate(lines, ordering="line_number", cursor=request.GET.get("cursor"), per_page=PER_PAGE)
        return {"line_page": page, "order_filter": order_id}
    groups: QuerySet[Any, dict[str, Any]]
    if group == "sku":
        groups = settlement_sku_groups(settlement=settlement)
    elif group == "type":
        groups = settlement_type_groups(settlement=settlement)
    else:
        groups = settlement_order_groups(settlement=settlement)
    group_page = Paginator(groups, GROUP_PER_PAGE).get_page(request.GET.get("page"))
    values: list[dict[str, Any]] = list(group_page.object_list)
    rows: list[Any] = values
    if group == "order":
        rows = settlement_order_group_rows(settlement=settlement, groups=values)
    if group == "type":
        for row in values:
            row["category_label"] = _CATEGORY_LABELS.get(row["category"], row["category"])
    return {"group_page": group_page, "group_rows": rows}


def _settlement_context(request: TenantRequest, settlement: Settlement, group: str) -> dict[str, Any]:
    unmatched = settlement_unmatched_order_ids_first(settlement=settlement, limit=UNMATCHED_SHOWN)
    can_manage = has_permission(request.membership, "finance.manage")
    unclassified = [
        {
            **row,
            "form": CategoryMapForm(
                initial={
                    "platform": settlement.platform,
                    "transaction_type": row["transaction_type"],
                    "amount_type": row["amount_type"],
                    "amount_description": row["amount_description"],
                }
            ),
        }
        for row in settlement_unclassified_types(settlement=settlement)
    ]
    return {
        "tabs": section_tabs(request, "settlements"),
        "settlement": settlement,
        "unbalanced": settlement.status == SettlementStatus.UNBALANCED,
        "imbalance": Money(settlement.lines_amount - settlement.total_amount, settlement.currency).quantized(),
        "category_totals": _category_totals(settlement),
        "unmatched": unmatched,
        "unmatched_more": max(settlement.unmatched_order_count - len(unmatched), 0),
        "unclassified": unclassified,
        "split": _month_split(settlement),
        "group": group,
        "groups": [
            {"key": "order", "label": _("By order")},
            {"key": "sku", "label": _("By SKU")},
            {"key": "type", "label": _("By type")},
            {"key": "lines", "label": _("All lines")},
        ],
        "can_export": has_permission(request.membership, "finance.export"),
        "can_manage": can_manage,
        "xlsx_max": exports.XLSX_MAX_LINES,
        **_group_context(request, settlement, group),
    }


@tenant_member_required("finance.view")
def settlement_detail_view(request: TenantRequest, settlement_pk: int) -> HttpResponse:
    settlement = settlement_get_or_404(tenant=request.tenant, pk=settlement_pk)
    group = request.GET.get("group", "order")
    if group not in GROUPS:
        group = "order"
    return render(request, "finance/settlement_detail.html", _settlement_context(request, settlement, group))


@tenant_member_required("finance.export")
def settlement_export_view(request: TenantRequest, settlement_pk: int, fmt: str) -> HttpResponseBase:
    """The statement's lines as they were imported: CSV streamed at any size, XLSX up to a cap."""
    settlement = settlement_get_or_404(tenant=request.tenant, pk=settlement_pk)
    name = f"settlement-{settlement.store_id}-{settlement.external_id}"
    name = "".join(char if char.isalnum() or char in "-_." else "-" for char in name)
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.settlement_lines_csv(settlement, tenant=request.tenant), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt != "xlsx":
        raise Http404
    if settlement.line_count > exports.XLSX_MAX_LINES:
        return HttpResponse(
            _("This statement has more than %(max)d lines: export CSV, which has no limit.")
            % {"max": exports.XLSX_MAX_LINES},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return FileResponse(
        exports.settlement_lines_xlsx(settlement),
        as_attachment=True,
        filename=f"{name}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@tenant_member_required("finance.view")
def unclassified_list_view(request: TenantRequest) -> HttpResponse:
    rows = [
        {
            "row": row,
            "platform_label": Platform(row.platform).label,
            "form": CategoryMapForm(
                initial={
                    "platform": row.platform,
                    "transaction_type": row.transaction_type,
                    "amount_type": row.amount_type,
                    "amount_description": row.amount_description,
                }
            ),
        }
        for row in unclassified_type_rows(tenant=request.tenant)
    ]
    return render(
        request,
        "finance/unclassified_list.html",
        {
            "tabs": section_tabs(request, "unclassified"),
            "rows": rows,
            "can_manage": has_permission(request.membership, "finance.manage"),
        },
    )


@require_POST
@tenant_member_required("finance.manage")
def category_map_view(request: TenantRequest) -> HttpResponse:
    """ "Map this type": a company rule for the vendor type, then every line of it re-categorised."""
    default = reverse("finance:unclassified-list")
    form = CategoryMapForm(request.POST)
    if not form.is_valid():
        problems = [str(error) for errors in form.errors.values() for error in errors]
        messages.error(request, _("The type was not mapped: %(problems)s") % {"problems": " ".join(problems)})
        return _back(request, default)
    data = form.cleaned_data
    _rule, changed = category_rule_set(
        tenant=request.tenant,
        platform=data["platform"],
        transaction_type=data["transaction_type"],
        amount_type=data["amount_type"],
        amount_description=data["amount_description"],
        category=data["category"],
        actor=request.user,
    )
    vendor_type = " / ".join(
        part for part in (data["transaction_type"], data["amount_type"], data["amount_description"]) if part
    )
    messages.success(
        request,
        ngettext(
            "“%(type)s” is now mapped to %(category)s: %(count)d line re-categorised.",
            "“%(type)s” is now mapped to %(category)s: %(count)d lines re-categorised.",
            changed,
        )
        % {"type": vendor_type, "category": _CATEGORY_LABELS[data["category"]], "count": changed},
    )
    return _back(request, default)


def _not_yet_settled_form(request: TenantRequest) -> tuple[StoreFilterForm, bool]:
    stores = _stores(request)
    return StoreFilterForm(request.GET or None, stores=stores), bool(stores)


@tenant_member_required("finance.view")
def not_yet_settled_view(request: TenantRequest) -> HttpResponse:
    form, has_stores = _not_yet_settled_form(request)
    orders = orders_not_yet_settled(tenant=request.tenant, store_id=form.store_id())
    page = keyset_paginate(orders, ordering="purchased_at", cursor=request.GET.get("cursor"), per_page=PER_PAGE)
    return render(
        request,
        "finance/not_yet_settled_list.html",
        {
            "tabs": section_tabs(request, "not-yet-settled"),
            "form": form,
            "page": page,
            "rows": [{"order": order, "expected": expected_settlement_amount(order)} for order in page.object_list],
            "has_stores": has_stores,
            "filtered": form.store_id() is not None or bool(form.errors),
            "days": NOT_YET_SETTLED_AFTER.days,
            "can_export": has_permission(request.membership, "finance.export"),
        },
    )


@tenant_member_required("finance.export")
def not_yet_settled_export_view(request: TenantRequest) -> HttpResponseBase:
    form, _has_stores = _not_yet_settled_form(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(
            _("The filters are not valid; correct them on the page first."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    orders = orders_not_yet_settled(tenant=request.tenant, store_id=form.store_id())
    response = StreamingHttpResponse(
        exports.orders_not_yet_settled_csv(orders, tenant=request.tenant), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="not-yet-settled-{stamp}.csv"'
    return response


# --- settlement file upload -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@tenant_member_required("finance.view")
@tenant_member_required("finance.import")
def settlement_upload_view(request: TenantRequest) -> HttpResponse:
    """Upload a settlement V2 flat file into one of the company's Amazon stores: all of it, or nothing and the
    line and column of the problem."""
    stores = store_list(tenant=request.tenant).filter(platform=Platform.AMAZON)
    form = SettlementUploadForm(request.POST or None, request.FILES or None, stores=stores)
    problem: SettlementImportError | None = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = settlement_file_import(
                store=form.cleaned_data["store"], file=upload, filename=upload.name, actor=request.user
            )
        except SettlementImportError as error:
            problem = error
        else:
            settlement = result.settlement
            if result.created:
                text = _("Settlement %(id)s imported: %(lines)d lines.") % {
                    "id": settlement.external_id,
                    "lines": settlement.line_count,
                }
                messages.success(request, text)
            else:
                messages.info(request, _("Settlement %(id)s was already imported.") % {"id": settlement.external_id})
            return redirect("finance:settlement-detail", settlement_pk=settlement.pk)
    failed = bool(form.errors) or problem is not None
    context = {"form": form, "problem": problem, "has_stores": stores.exists()}
    return render(request, "finance/settlement_upload.html", context, status=400 if failed else 200)


# QuickBooks
# --- the QuickBooks Online connection: connect (Intuit's OAuth), disconnect, status, unmatched accounts, post now


_QUICKBOOKS_OAUTH_SESSION_KEY = "finance_quickbooks_oauth"


@tenant_member_required("finance.view")
def quickbooks_view(request: TenantRequest) -> HttpResponse:
    """The connection's status and last error, the accounts nothing matched, the journals that failed."""
    connection = quickbooks_connection_get(tenant=request.tenant)
    can_manage = has_permission(request.membership, "finance.manage")
    return render(
        request,
        "finance/quickbooks_connection.html",
        {
            "tabs": section_tabs(request, "quickbooks"),
            "connection": connection,
            "connected": connection is not None and connection.status == QuickBooksStatus.CONNECTED,
            "can_manage": can_manage,
            "app_configured": bool(settings.ACORN_QUICKBOOKS_CLIENT_ID),
            "unmatched_accounts": accounts_unmatched(tenant=request.tenant)[:200] if connection else [],
            "failed_journals": journals_failed(tenant=request.tenant)[:100],
            "due_count": journals_due_for_posting(tenant=request.tenant).count(),
            "blocked_count": journals_unmatched(tenant=request.tenant).count(),
        },
    )


@require_POST
@tenant_member_required("finance.manage")
def quickbooks_connect_view(request: TenantRequest) -> HttpResponseBase:
    """Send the person to Intuit's consent page; the state is bound to this session and this company."""
    try:
        url, state = quickbooks_authorization_start()
    except QuickBooksError as error:
        messages.error(request, _("QuickBooks could not be reached: %(error)s") % {"error": error})
        return redirect("finance:quickbooks")
    request.session[_QUICKBOOKS_OAUTH_SESSION_KEY] = {"state": state, "tenant_id": request.tenant.pk}
    return redirect(url)


@tenant_member_required("finance.manage")
def quickbooks_callback_view(request: TenantRequest) -> HttpResponseBase:
    """Intuit's redirect back: the state must be the one this session started for this company (used once)."""
    started = request.session.pop(_QUICKBOOKS_OAUTH_SESSION_KEY, None) or {}
    state = request.GET.get("state", "")
    if (
        not state
        or not isinstance(started, dict)
        or not secrets.compare_digest(str(started.get("state", "")), state)
        or started.get("tenant_id") != request.tenant.pk
    ):
        messages.error(request, _("That QuickBooks authorisation was not started here. Connect again."))
        return redirect("finance:quickbooks")
    if request.GET.get("error"):
        messages.warning(request, _("QuickBooks was not connected: the authorisation was declined."))
        return redirect("finance:quickbooks")
    try:
        connection = quickbooks_connect(
            tenant=request.tenant,
            actor=request.user,
            realm_id=request.GET.get("realmId", ""),
            code=request.GET.get("code", ""),
            redirect_uri=quickbooks_redirect_uri(),
        )
    except QuickBooksError as error:
        messages.error(request, _("QuickBooks was not connected: %(error)s") % {"error": error})
        return redirect("finance:quickbooks")
    messages.success(request, _("Connected to %(company)s.") % {"company": connection.company_name})
    return redirect("finance:quickbooks")


@require_POST
@tenant_member_required("finance.manage")
def quickbooks_disconnect_view(request: TenantRequest) -> HttpResponse:
    quickbooks_disconnect(tenant=request.tenant, actor=request.user)
    messages.info(request, _("QuickBooks is disconnected. Journals already posted stay in QuickBooks."))
    return redirect("finance:quickbooks")


@require_POST
@tenant_member_required("finance.manage")
def quickbooks_accounts_match_view(request: TenantRequest) -> HttpResponse:
    """Read QuickBooks' chart again and match the accounts by name."""
    try:
        unmatched = quickbooks_accounts_match(tenant=request.tenant, actor=request.user)
    except QuickBooksError as error:
        messages.error(request, _("QuickBooks' accounts could not be read: %(error)s") % {"error": error})
    else:
        messages.success(
            request,
            ngettext(
                "Accounts matched; %(count)d account has no QuickBooks account of the same name.",
                "Accounts matched; %(count)d accounts have no QuickBooks account of the same name.",
                len(unmatched),
            )
            % {"count": len(unmatched)},
        )
    return redirect("finance:quickbooks")


@require_POST
@tenant_member_required("finance.manage")
def quickbooks_post_view(request: TenantRequest) -> HttpResponse:
    """Post now: the due journals are posted in the background, each exactly once."""
    connection = quickbooks_connection_get(tenant=request.tenant)
    if connection is None or connection.status != QuickBooksStatus.CONNECTED:
        messages.error(request, _("Connect QuickBooks first."))
        return redirect("finance:quickbooks")
    enqueue_on_commit("finance.post_journals", tenant_id=request.tenant.pk)
    messages.info(request, _("Posting started. Refresh this page in a minute to see the result."))
    return redirect("finance:quickbooks")

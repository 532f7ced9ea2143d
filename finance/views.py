"""The finance console: statements (list, page, export of lines), the vendor types nothing maps with the
one-click "map this type", the shipped orders no statement has paid, and the upload of settlement files
(which also needs `finance.import`). Views parse, call a selector or a
service, and render."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from acorn.dates import format_month
from acorn.exports.views import export_queued_if_large
from acorn.forms import form_add_errors
from acorn.money import Money
from acorn.pagination import keyset_paginate
from acorn.tabs import section_tabs_for
from acorn.tasks import enqueue_on_commit
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.models import Role
from acorn.tenancy.permissions import has_permission
from channels.models import Platform
from channels.selectors import store_list
from finance.exports.formats import XERO_MAX_LINES, JournalExportError
from finance.exports.models import ExportFormat
from finance.exports.selectors import (
    journal_export_file_get_or_404,
    journal_export_get_or_404,
    journal_export_list,
)
from finance.exports.services import JournalExportOptions, journals_export
from finance.forms import (
    JOURNAL_EXPORT_STATEMENTS_SHOWN,
    AccountForm,
    CategoryMapForm,
    ChannelMappingForm,
    JournalExportForm,
    JournalFilterForm,
    MappingOverrideForm,
    PeriodForm,
    PeriodReopenForm,
    SettlementFilterForm,
    SettlementUploadForm,
    StoreFilterForm,
)
from finance.ledger.models import JournalSource, LedgerRole
from finance.ledger.selectors import (
    account_get_or_404,
    account_ids_mapped,
    account_in_locked_journals,
    account_list,
    account_mapping_get_or_404,
    account_mapping_list,
    journal_get_or_404,
    journal_lines,
    journal_list,
    mapping_marketplaces,
    period_closed_get,
    period_rows,
    settlement_journal_list,
)
from finance.ledger.services import (
    AccountInUseError,
    ClosedPeriodError,
    account_create,
    account_delete,
    account_mapping_delete,
    account_mapping_set,
    account_update,
    channel_mapping_update,
    period_close,
    period_reopen,
    settlement_journals_build,
)
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
from finance.settlements.deferred import deferred_money
from finance.settlements.files import settlement_file_import, settlement_upload_queue
from finance.settlements.models import Category, Settlement, SettlementKind, SettlementStatus
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
    settlement_upload_get_or_404,
    unclassified_type_rows,
)
from finance.settlements.services import SettlementImportError, category_rule_set
from finance.settlements.woocommerce import (
    GATEWAY_FEES_UNKNOWN,
    STATEMENT_STATES,
    woocommerce_statement_gateways,
)

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
        ("journals", _("Journals"), "finance:journal-list", "finance.view"),
        ("accounts", _("Accounts"), "finance:account-list", "finance.view"),
        ("mapping", _("Account mapping"), "finance:account-mapping", "finance.view"),
        ("periods", _("Periods"), "finance:period-list", "finance.view"),
        ("journal-exports", _("Journal exports"), "finance:journal-export-list", "finance.export"),
        ("quickbooks", _("QuickBooks"), "finance:quickbooks", "finance.view"),
    ]
    return section_tabs_for(request, candidates, active)


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
            "pending": [
                {
                    "pending": pending,
                    "money": Money(pending.total, pending.currency).quantized(),
                    "releases": min((o.releases_at for o in pending.orders if o.releases_at), default=None),
                }
                for pending in deferred_money(tenant=request.tenant, store_id=filters.get("store_id"))
            ],
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


def _statement_extras(settlement: Settlement) -> dict[str, Any]:
    """A WooCommerce statement's money per payment gateway, its unknown fees and whether its month is open."""
    if settlement.kind != SettlementKind.WOOCOMMERCE_STATEMENT:
        return {"gateways": None}
    return {
        "gateways": woocommerce_statement_gateways(settlement=settlement),
        "fees_unknown": GATEWAY_FEES_UNKNOWN,
        "month_state": STATEMENT_STATES.get(settlement.vendor_status, ""),
    }


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
        **_statement_extras(settlement),
        "journals": list(settlement_journal_list(settlement=settlement)),
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
    if fmt not in ("csv", "xlsx"):
        raise Http404
    if fmt == "xlsx" and settlement.line_count > exports.XLSX_MAX_LINES:
        return HttpResponse(
            _("This statement has more than %(max)d lines: export CSV, which has no limit.")
            % {"max": exports.XLSX_MAX_LINES},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    queued = export_queued_if_large(
        request,
        records=settlement_lines(settlement=settlement),
        kind=exports.SETTLEMENT_LINES_EXPORT.key,
        file_format=fmt,
        filters=exports.SettlementLinesFilters(settlement_id=settlement.pk),
    )
    if queued is not None:
        return queued
    name = f"settlement-{settlement.store_id}-{settlement.external_id}"
    name = "".join(char if char.isalnum() or char in "-_." else "-" for char in name)
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.settlement_lines_csv(settlement, tenant=request.tenant), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
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
    queued = export_queued_if_large(
        request,
        records=orders,
        kind=exports.NOT_YET_SETTLED_EXPORT.key,
        file_format="csv",
        filters=exports.NotYetSettledFilters(store_id=form.store_id()),
    )
    if queued is not None:
        return queued
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
    line and column of the problem. A large file is imported by a worker; its page shows how it goes."""
    stores = store_list(tenant=request.tenant).filter(platform=Platform.AMAZON)
    form = SettlementUploadForm(request.POST or None, request.FILES or None, stores=stores)
    problem: SettlementImportError | None = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > settings.ACORN_SETTLEMENT_INLINE_BYTES:
            queued = settlement_upload_queue(
                store=form.cleaned_data["store"], file=upload, filename=upload.name, actor=request.user
            )
            return redirect("finance:settlement-upload-status", upload_pk=queued.pk)
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


@tenant_member_required("finance.view")
def settlement_upload_status_view(request: TenantRequest, upload_pk: int) -> HttpResponse:
    """A large upload while a worker imports it (the page polls itself until it is done), then its outcome."""
    upload = settlement_upload_get_or_404(tenant=request.tenant, pk=upload_pk)
    template = "finance/settlement_upload_status.html"
    if request.headers.get("HX-Request"):
        template = "finance/settlement_upload_progress.html"
    return render(request, template, {"upload": upload})


# Ledger
# --- the chart of accounts, the category → account mapping, journals and periods ---------------------------------

JOURNAL_PER_PAGE = 50


@tenant_member_required("finance.view")
def account_list_view(request: TenantRequest) -> HttpResponse:
    accounts = list(account_list(tenant=request.tenant))
    mapped = account_ids_mapped(tenant=request.tenant)
    return render(
        request,
        "finance/account_list.html",
        {
            "tabs": section_tabs(request, "accounts"),
            "rows": [{"account": account, "mapped": account.pk in mapped} for account in accounts],
            "can_manage": has_permission(request.membership, "finance.manage"),
        },
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("finance.manage")
def account_create_view(request: TenantRequest) -> HttpResponse:
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = account_create(
                tenant=request.tenant,
                name=data["name"],
                code=data["code"],
                account_type=data["account_type"],
                tax_rate=data["tax_rate"],
                platform=data["platform"],
                actor=request.user,
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Account “%(name)s” added.") % {"name": account.name})
            return redirect("finance:account-list")
    del form.fields["active"]
    return render(
        request,
        "finance/account_form.html",
        {"tabs": section_tabs(request, "accounts"), "form": form, "account": None},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("finance.view")
def account_edit_view(request: TenantRequest, account_pk: int) -> HttpResponse:
    account = account_get_or_404(tenant=request.tenant, pk=account_pk)
    can_manage = has_permission(request.membership, "finance.manage")
    if request.method == "POST" and not can_manage:
        raise PermissionDenied
    initial = {name: getattr(account, name) for name in ("name", "code", "account_type", "tax_rate", "platform")}
    form = AccountForm(request.POST or None, initial={**initial, "active": account.active})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account_update(
                tenant=request.tenant,
                account=account,
                name=data["name"],
                code=data["code"],
                account_type=data["account_type"],
                tax_rate=data["tax_rate"],
                platform=data["platform"],
                active=data["active"],
                actor=request.user,
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Account “%(name)s” saved.") % {"name": account.name})
            return redirect("finance:account-list")
    if not can_manage:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "finance/account_form.html",
        {
            "tabs": section_tabs(request, "accounts"),
            "form": form,
            "account": account,
            "can_manage": can_manage,
            "in_locked_journals": account_in_locked_journals(tenant=request.tenant, account=account),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@tenant_member_required("finance.manage")
def account_delete_view(request: TenantRequest, account_pk: int) -> HttpResponse:
    account = account_get_or_404(tenant=request.tenant, pk=account_pk)
    try:
        account_delete(tenant=request.tenant, account=account, actor=request.user)
    except AccountInUseError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("finance:account-edit", account_pk=account.pk)
    messages.success(request, _("Account “%(name)s” deleted.") % {"name": account.name})
    return redirect("finance:account-list")


def _mapping_platform(request: TenantRequest) -> str:
    platform = request.POST.get("channel") or request.GET.get("channel") or Platform.AMAZON
    return platform if platform in Platform.values else Platform.AMAZON


def _mapping_context(
    request: TenantRequest,
    platform: str,
    form: ChannelMappingForm | None = None,
    override_form: MappingOverrideForm | None = None,
) -> dict[str, Any]:
    tenant = request.tenant
    mappings = list(account_mapping_list(tenant=tenant, platform=platform))
    accounts = list(account_list(tenant=tenant).filter(active=True))
    channel_wide = {m.role: m for m in mappings if m.store_id is None and not m.marketplace}
    current = {role: mapping.account_id for role, mapping in channel_wide.items()}
    if form is None:
        form = ChannelMappingForm(accounts=accounts, current=current)
    stores = [(store.pk, store.name) for store in store_list(tenant=tenant).filter(platform=platform)]
    if override_form is None:
        override_form = MappingOverrideForm(
            accounts=accounts, stores=stores, marketplaces=mapping_marketplaces(tenant=tenant, platform=platform)
        )
    rows = []
    for role, label in LedgerRole.choices:
        if role == LedgerRole.SUSPENSE:
            continue
        mapping = channel_wide.get(role)
        mapped = mapping is not None and mapping.account.active
        rows.append({"role": role, "label": label, "field": form[role], "mapping": mapping, "mapped": mapped})
    return {
        "tabs": section_tabs(request, "mapping"),
        "platform": platform,
        "platform_label": Platform(platform).label,
        "channels": [{"key": value, "label": label, "active": value == platform} for value, label in Platform.choices],
        "form": form,
        "rows": rows,
        "unmapped": sum(1 for row in rows if not row["mapped"]),
        "overrides": [m for m in mappings if m.store_id is not None or m.marketplace],
        "override_form": override_form,
        "has_stores": bool(stores),
        "can_manage": has_permission(request.membership, "finance.manage"),
    }


def _rebuild_note(request: TenantRequest) -> None:
    messages.info(
        request,
        _(
            "The journals of this channel's statements are being built again with the new mapping; journals "
            "already exported or posted stay as they are and get an adjustment journal."
        ),
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("finance.view")
def account_mapping_view(request: TenantRequest) -> HttpResponse:
    """Per channel, which account each role goes to; a POST (finance.manage) saves the channel-wide table."""
    platform = _mapping_platform(request)
    if request.method != "POST":
        return render(request, "finance/account_mapping.html", _mapping_context(request, platform))
    if not has_permission(request.membership, "finance.manage"):
        raise PermissionDenied
    accounts = list(account_list(tenant=request.tenant).filter(active=True))
    by_pk = {account.pk: account for account in accounts}
    form = ChannelMappingForm(request.POST, accounts=accounts, current={})
    if not form.is_valid():
        context = _mapping_context(request, platform, form=form)
        return render(request, "finance/account_mapping.html", context, status=400)
    changed = channel_mapping_update(
        tenant=request.tenant,
        platform=platform,
        accounts={role: by_pk.get(pk) if pk is not None else None for role, pk in form.cleaned_data.items()},
        actor=request.user,
    )
    if changed:
        messages.success(
            request,
            ngettext("%(count)d role mapped anew.", "%(count)d roles mapped anew.", changed) % {"count": changed},
        )
        _rebuild_note(request)
    else:
        messages.info(request, _("Nothing changed."))
    return redirect(f"{reverse('finance:account-mapping')}?channel={platform}")


@require_POST
@tenant_member_required("finance.manage")
def account_mapping_override_view(request: TenantRequest) -> HttpResponse:
    """Add (or replace) an override for one store and / or marketplace."""
    platform = _mapping_platform(request)
    tenant = request.tenant
    accounts = list(account_list(tenant=tenant).filter(active=True))
    stores = {store.pk: store for store in store_list(tenant=tenant).filter(platform=platform)}
    form = MappingOverrideForm(
        request.POST,
        accounts=accounts,
        stores=[(pk, store.name) for pk, store in stores.items()],
        marketplaces=mapping_marketplaces(tenant=tenant, platform=platform),
    )
    if not form.is_valid():
        context = _mapping_context(request, platform, override_form=form)
        return render(request, "finance/account_mapping.html", context, status=400)
    data = form.cleaned_data
    account = next(account for account in accounts if account.pk == data["account"])
    store = stores.get(data["store"]) if data["store"] is not None else None
    account_mapping_set(
        tenant=tenant,
        role=data["role"],
        platform=platform,
        account=account,
        store=store,
        marketplace=data["marketplace"],
        actor=request.user,
    )
    messages.success(request, _("Override saved."))
    _rebuild_note(request)
    return redirect(f"{reverse('finance:account-mapping')}?channel={platform}")


@require_POST
@tenant_member_required("finance.manage")
def account_mapping_delete_view(request: TenantRequest, account_mapping_pk: int) -> HttpResponse:
    mapping = account_mapping_get_or_404(tenant=request.tenant, pk=account_mapping_pk)
    platform = mapping.platform
    account_mapping_delete(tenant=request.tenant, mapping=mapping, actor=request.user)
    messages.success(request, _("Override removed."))
    _rebuild_note(request)
    return redirect(f"{reverse('finance:account-mapping')}?channel={platform}")


@tenant_member_required("finance.view")
def journal_list_view(request: TenantRequest) -> HttpResponse:
    stores = _stores(request)
    form = JournalFilterForm(request.GET or None, stores=stores)
    filters = form.filters()
    journals = journal_list(tenant=request.tenant, **filters)
    page = keyset_paginate(journals, ordering="-date", cursor=request.GET.get("cursor"), per_page=JOURNAL_PER_PAGE)
    return render(
        request,
        "finance/journal_list.html",
        {
            "tabs": section_tabs(request, "journals"),
            "form": form,
            "page": page,
            "filtered": any(value not in (None, "") for value in filters.values()) or bool(form.errors),
        },
        status=400 if form.errors else 200,
    )


@tenant_member_required("finance.view")
def journal_detail_view(request: TenantRequest, journal_pk: int) -> HttpResponse:
    entry = journal_get_or_404(tenant=request.tenant, pk=journal_pk)
    lines = list(journal_lines(entry=entry))
    debits = sum((line.amount for line in lines if line.amount > 0), Decimal(0))
    credits = sum((-line.amount for line in lines if line.amount < 0), Decimal(0))
    siblings = (
        list(settlement_journal_list(settlement=entry.settlement).exclude(pk=entry.pk))
        if entry.settlement is not None
        else []
    )
    return render(
        request,
        "finance/journal_detail.html",
        {
            "tabs": section_tabs(request, "journals"),
            "entry": entry,
            "lines": lines,
            "debits": debits,
            "credits": credits,
            "balance": debits - credits,
            "suspense_lines": sum(1 for line in lines if line.role in ("suspense", "unclassified")),
            "siblings": siblings,
            "period_closed": period_closed_get(tenant=request.tenant, month=entry.period) is not None,
        },
    )


@require_POST
@tenant_member_required("finance.manage")
def settlement_journals_view(request: TenantRequest, settlement_pk: int) -> HttpResponse:
    """ "Build journals" on the statement's page: build (or rebuild) them and say what was written."""
    settlement = settlement_get_or_404(tenant=request.tenant, pk=settlement_pk)
    target = reverse("finance:settlement-detail", args=[settlement.pk]) + "#journals"
    try:
        written = settlement_journals_build(settlement=settlement, actor=request.user)
    except ClosedPeriodError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(target)
    adjustments = [entry.number for entry in written if entry.source == JournalSource.ADJUSTMENT]
    journals = [entry.number for entry in written if entry.source != JournalSource.ADJUSTMENT]
    if journals:
        messages.success(request, _("Journals written: %(numbers)s.") % {"numbers": ", ".join(journals)})
    if adjustments:
        messages.warning(
            request,
            _(
                "Journals already exported or posted were not changed; what changed in them went into the "
                "adjustment journal %(numbers)s."
            )
            % {"numbers": ", ".join(adjustments)},
        )
    if not written:
        messages.info(request, _("Nothing changed: the journals already say what the statement says."))
    return redirect(target)


@tenant_member_required("finance.view")
def period_list_view(request: TenantRequest) -> HttpResponse:
    rows = period_rows(tenant=request.tenant, today=timezone.now().date())
    return render(
        request,
        "finance/period_list.html",
        {
            "tabs": section_tabs(request, "periods"),
            "rows": rows,
            "can_manage": has_permission(request.membership, "finance.manage"),
            "can_reopen": request.membership.role == Role.OWNER,
        },
    )


@require_POST
@tenant_member_required("finance.manage")
def period_close_view(request: TenantRequest) -> HttpResponse:
    form = PeriodForm(request.POST)
    if not form.is_valid():
        problems = [str(error) for errors in form.errors.values() for error in errors]
        messages.error(request, _("The month was not closed: %(problems)s") % {"problems": " ".join(problems)})
        return redirect("finance:period-list")
    month = form.cleaned_data["month"]
    period_close(tenant=request.tenant, month=month, actor=request.user)
    messages.success(
        request,
        _("%(month)s is closed: no journal can be dated in it; later changes go to the first open month.")
        % {"month": format_month(month)},
    )
    return redirect("finance:period-list")


@require_http_methods(["GET", "POST"])
@tenant_member_required("finance.manage")
def period_reopen_view(request: TenantRequest) -> HttpResponse:
    """Reopen a closed month: the owner only, after a confirmation."""
    if request.membership.role != Role.OWNER:
        raise PermissionDenied
    form = PeriodReopenForm(request.POST or None, initial={"month": request.GET.get("month", "")})
    if request.method == "POST" and form.is_valid():
        month = form.cleaned_data["month"]
        period_reopen(tenant=request.tenant, month=month, actor=request.user)
        messages.success(request, _("%(month)s is open again.") % {"month": format_month(month)})
        return redirect("finance:period-list")
    month_text = request.POST.get("month") or request.GET.get("month", "")
    closed = None
    month_field = PeriodForm({"month": month_text})
    if month_field.is_valid():
        closed = period_closed_get(tenant=request.tenant, month=month_field.cleaned_data["month"])
    if closed is None and request.method == "GET":
        messages.info(request, _("That month is not closed."))
        return redirect("finance:period-list")
    return render(
        request,
        "finance/period_reopen.html",
        {"tabs": section_tabs(request, "periods"), "form": form, "closed": closed, "month": month_text},
        status=400 if form.errors else 200,
    )


# Journal exports -------------------------------------------------------------------------------------------------

EXPORTS_PER_PAGE = 25


def _journal_export_form(request: TenantRequest) -> JournalExportForm:
    stores = store_list(tenant=request.tenant)
    statements = settlement_list(tenant=request.tenant).select_related("store").order_by("-period_end", "-pk")
    recent = statements.values_list("pk", flat=True)[:JOURNAL_EXPORT_STATEMENTS_SHOWN]
    settlements = statements.filter(pk__in=list(recent))
    initial = {"tracking": True, "format": ExportFormat.QBO}
    chosen = request.GET.get("settlement", "")
    if chosen.isdigit():
        initial["settlement"] = int(chosen)
    data = request.POST if request.method == "POST" else None
    return JournalExportForm(data, stores=stores, settlements=settlements, initial=initial)


@require_http_methods(["GET", "POST"])
@tenant_member_required("finance.export")
def journal_export_view(request: TenantRequest) -> HttpResponse:
    """Export journals: choose a format and a scope; the journals are built when missing, written, locked and kept
    in the history for download."""
    form = _journal_export_form(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            export = journals_export(
                tenant=request.tenant,
                format=data["format"],
                settlement=data["settlement"],
                month=data["month"],
                store=data["store"],
                actor=request.user,
                options=JournalExportOptions(date_format=data["date_format"] or "", tracking=data["tracking"]),
            )
        except JournalExportError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)d journal exported and locked: download the file below.",
                    "%(count)d journals exported and locked: download the files below.",
                    export.journal_count,
                )
                % {"count": export.journal_count},
            )
            return redirect(f"{reverse('finance:journal-export-list')}?new={export.pk}")
    context = {"tabs": section_tabs(request, "journal-exports"), "form": form, "xero_max": XERO_MAX_LINES}
    return render(request, "finance/journal_export_form.html", context, status=400 if form.errors else 200)


@tenant_member_required("finance.export")
def journal_export_list_view(request: TenantRequest) -> HttpResponse:
    """The export history: who, when, format, scope, journals, files with their checksum, download."""
    exports = journal_export_list(tenant=request.tenant)
    page = keyset_paginate(exports, ordering="-created_at", cursor=request.GET.get("cursor"), per_page=EXPORTS_PER_PAGE)
    new = request.GET.get("new", "")
    return render(
        request,
        "finance/journal_export_list.html",
        {
            "tabs": section_tabs(request, "journal-exports"),
            "page": page,
            "new": int(new) if new.isdigit() else None,
        },
    )


@tenant_member_required("finance.export")
def journal_export_download_view(request: TenantRequest, export_pk: int) -> HttpResponse:
    """One file of an export, exactly the bytes written then (`?file=2` for Xero's second file)."""
    export = journal_export_get_or_404(tenant=request.tenant, pk=export_pk)
    position = request.GET.get("file", "1")
    if not position.isdigit():
        raise Http404
    file = journal_export_file_get_or_404(export=export, position=int(position))
    response = HttpResponse(bytes(file.content), content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.name}"'
    response["X-Content-SHA256"] = file.sha256
    return response


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

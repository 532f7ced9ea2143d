"""The refund-rate console: the alerts page (open / acknowledged / resolved) with each alert's trend and its
acknowledgement, the refund-rate table per master SKU and one SKU's page (trend chart, channels, reason tags),
the threshold settings, and the dashboard's refund-rate figures.

Everyone in the company may look (`refunds.view`); acknowledging alerts and changing thresholds needs
`refunds.alerts` (owner, admin, operator). Figures come from refunds.rates (the daily rollup), alerts and
thresholds are changed through refunds.alerts (audited). Another company's alert, threshold or SKU answers 404.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from acorn.forms import form_add_errors
from acorn.pagination import keyset_paginate
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.models import Tenant
from acorn.tenancy.permissions import has_permission
from channels.models import Platform, Store
from channels.selectors import store_list
from inventory.selectors import product_get_or_404
from refunds import alerts, rates
from refunds.forms_alerts import (
    STATUS_TABS,
    AlertAcknowledgeForm,
    AlertFilterForm,
    DefaultThresholdForm,
    RateFilterForm,
    ThresholdForm,
    TrendFilterForm,
    product_choices,
)
from refunds.models import (
    AlertStatus,
    ReasonTag,
    RefundRateAlert,
    RefundRateThreshold,
)
from refunds.views import section_tabs

PER_PAGE = 50
# Who may acknowledge alerts and edit thresholds.
MANAGE = "refunds.alerts"
_TAG_LABELS = dict(ReasonTag.choices)
_PLATFORM_LABELS = dict(Platform.choices)


def _can_manage(request: TenantRequest) -> bool:
    return has_permission(request.membership, MANAGE)


def _stores(request: TenantRequest) -> list[Store]:
    return list(store_list(tenant=request.tenant))


def _tag_rows(top_tags: Any) -> list[dict[str, Any]]:
    """An alert's stored top tags ([{"tag": "defective", "count": 3}, …] or [["defective", 3], …]) for display."""
    rows = []
    for item in top_tags or []:
        if isinstance(item, dict):
            tag, count = item.get("tag", ""), item.get("count", item.get("units", 0))
        elif isinstance(item, (list, tuple)) and item:
            tag, count = item[0], item[1] if len(item) > 1 else 0
        else:
            tag, count = item, 0
        rows.append({"tag": tag, "label": _TAG_LABELS.get(str(tag), tag or _("No tag")), "count": count})
    return rows


def _chart_data(
    trend: list[tuple[Any, Decimal | None]], threshold_percent: Decimal | None, *, label: str
) -> dict[str, Any]:
    """The trend chart's data for json_script: rates as strings (Decimal, no float), None for "nothing sold"."""
    return {
        "labels": [day.isoformat() for day, _rate in trend],
        "rates": [None if rate is None else str(rate) for _day, rate in trend],
        "threshold": None if threshold_percent is None else str(threshold_percent),
        "rate_label": label,
        "threshold_label": _("Threshold"),
    }


# Alerts ----------------------------------------------------------------------------------------------------


def _alert_or_404(request: TenantRequest, alert_pk: int) -> RefundRateAlert:
    alert = alerts.alert_get(tenant=request.tenant, pk=alert_pk)
    if alert is None:
        raise Http404
    return alert


@tenant_member_required("refunds.view")
def alert_list_view(request: TenantRequest) -> HttpResponse:
    stores = _stores(request)
    form = AlertFilterForm(request.GET or None, stores=stores)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    status = data.get("status") or AlertStatus.OPEN
    store = data.get("store") or ""
    sku = (data.get("sku") or "").strip()
    base = alerts.alert_list(tenant=request.tenant, store=store, sku=sku)
    counts = alerts.alert_status_counts(base)
    alerts_shown = base if status == "all" else base.filter(status=status)
    page = keyset_paginate(
        alerts_shown,
        ordering="-opened_at",
        cursor=request.GET.get("cursor"),
        per_page=PER_PAGE,
    )
    rows = [{"alert": alert, "tags": _tag_rows(alert.top_tags)[:3]} for alert in page.object_list]
    query = {key: value for key, value in (("store", store), ("sku", sku)) if value}
    status_tabs = [
        {
            "value": value,
            "label": label,
            "count": counts[value],
            "active": value == status,
            "url": "?" + urlencode({**query, "status": value}),
        }
        for value, label in STATUS_TABS
    ]
    return render(
        request,
        "refunds/alert_list.html",
        {
            "tabs": section_tabs(request, "alerts"),
            "form": form,
            "page": page,
            "rows": rows,
            "status": status,
            "status_tabs": status_tabs,
            "filtered": bool(query),
            "can_manage": _can_manage(request),
        },
    )


def _alert_detail(request: TenantRequest, alert: RefundRateAlert, form: AlertAcknowledgeForm | None) -> HttpResponse:
    can_manage = _can_manage(request)
    if form is None and can_manage and alert.status == AlertStatus.OPEN:
        form = AlertAcknowledgeForm()
    trend = rates.refund_rate_trend(
        tenant=request.tenant, product_id=alert.product_id, window_days=alert.window_days, store_id=alert.store_id
    )
    label = _("Refund rate over %(days)s days (%%)") % {"days": alert.window_days}
    return render(
        request,
        "refunds/alert_detail.html",
        {
            "tabs": section_tabs(request, "alerts"),
            "alert": alert,
            "tags": _tag_rows(alert.top_tags),
            "chart": _chart_data(trend, alert.threshold_percent, label=label),
            "form": form if can_manage and alert.status == AlertStatus.OPEN else None,
            "can_manage": can_manage,
            "refunds_url": reverse("refunds:refund-list") + "?" + urlencode({"sku": alert.product.sku}),
        },
        status=400 if form is not None and form.errors else 200,
    )


@tenant_member_required("refunds.view")
def alert_detail_view(request: TenantRequest, alert_pk: int) -> HttpResponse:
    return _alert_detail(request, _alert_or_404(request, alert_pk), None)


@require_POST
@tenant_member_required(MANAGE)
def alert_acknowledge_view(request: TenantRequest, alert_pk: int) -> HttpResponse:
    alert = _alert_or_404(request, alert_pk)
    form = AlertAcknowledgeForm(request.POST)
    if alert.status != AlertStatus.OPEN:
        messages.info(request, _("This alert is not open any more."))
        return redirect("refunds:alert-detail", alert_pk=alert.pk)
    if not form.is_valid():
        return _alert_detail(request, alert, form)
    try:
        alerts.alert_acknowledge(tenant=request.tenant, alert=alert, actor=request.user, note=form.cleaned_data["note"])
    except ValidationError as error:
        form_add_errors(form, error)
        return _alert_detail(request, alert, form)
    messages.success(request, _("Alert for %(sku)s acknowledged.") % {"sku": alert.product.sku})
    return redirect("refunds:alert-detail", alert_pk=alert.pk)


# Refund rates ----------------------------------------------------------------------------------------------


_SORT_KEYS: dict[str, Any] = {
    "-rate": lambda row: (row["rate"] is None, -(row["rate"] or 0), -row["sku"].units_sold),
    "rate": lambda row: (row["rate"] is None, row["rate"] or 0, -row["sku"].units_sold),
    "-sold": lambda row: (-row["sku"].units_sold, row["sku"].sku),
    "-refunded": lambda row: (-row["sku"].units_refunded, row["sku"].sku),
}


@tenant_member_required("refunds.view")
def rate_list_view(request: TenantRequest) -> HttpResponse:
    stores = _stores(request)
    form = RateFilterForm(request.GET or None, stores=stores)
    chosen = form.values()
    figures = rates.refund_rates(
        tenant=request.tenant,
        window_days=chosen["window"],
        basis=chosen["basis"],
        store_id=chosen["store"],
        platform=chosen["platform"] or None,
    )
    thresholds = alerts.threshold_table(tenant=request.tenant)
    rows = []
    for row in figures:
        applied = thresholds.applied(row, window_days=chosen["window"], store_id=chosen["store"])
        rows.append({"sku": row, "rate": row.rate_percent, "threshold": applied.threshold, "above": applied.above})
    rows.sort(key=_SORT_KEYS[chosen["sort"]])
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    detail_query = urlencode({"window": chosen["window"], "basis": chosen["basis"]})
    return render(
        request,
        "refunds/rate_list.html",
        {
            "tabs": section_tabs(request, "rates"),
            "form": form,
            "page": page,
            "chosen": chosen,
            "above_count": sum(1 for row in rows if row["above"]),
            "detail_query": detail_query,
            "filtered": bool(chosen["store"] or chosen["platform"]),
            "has_stores": bool(stores),
        },
    )


def _reason_rows(*, tenant: Tenant, product_id: int, since: datetime) -> list[dict[str, Any]]:
    return [
        {**row, "label": _TAG_LABELS.get(row["tag"], _("No tag"))}
        for row in rates.reason_breakdown(tenant=tenant, product_id=product_id, since=since)
    ]


@tenant_member_required("refunds.view")
def rate_detail_view(request: TenantRequest, product_pk: int) -> HttpResponse:
    product = product_get_or_404(tenant=request.tenant, pk=product_pk)
    form = TrendFilterForm(request.GET or None)
    window, basis = form.values()
    figures = rates.refund_rates(tenant=request.tenant, window_days=window, basis=basis, product_ids=[product.pk])
    current = figures[0] if figures else rates.SkuRate(product.pk, product.sku, product.name, 0, 0)
    threshold = alerts.threshold_for(tenant=request.tenant, product=product)
    trend = rates.refund_rate_trend(tenant=request.tenant, product_id=product.pk, window_days=window, basis=basis)
    channels = [
        {"platform": platform, "label": _PLATFORM_LABELS.get(platform, platform), "sku": row}
        for platform, row in rates.refund_rates_by_channel(
            tenant=request.tenant, product_id=product.pk, window_days=window, basis=basis
        )
    ]
    since = rates.window_start(window)
    label = _("Refund rate over %(days)s days (%%)") % {"days": window}
    open_alerts = list(
        alerts.alert_list(tenant=request.tenant, product_id=product.pk).exclude(status=AlertStatus.RESOLVED)
    )
    return render(
        request,
        "refunds/rate_detail.html",
        {
            "tabs": section_tabs(request, "rates"),
            "product": product,
            "form": form,
            "window": window,
            "basis": basis,
            "current": current,
            "threshold": threshold,
            "above": alerts.threshold_passed(threshold, current, window_days=window),
            "chart": _chart_data(trend, threshold.rate_percent if threshold else None, label=label),
            "channels": channels,
            "reasons": _reason_rows(tenant=request.tenant, product_id=product.pk, since=since),
            "open_alerts": open_alerts,
            "refunds_url": reverse("refunds:refund-list")
            + "?"
            + urlencode({"sku": product.sku, "date_from": since.date().isoformat()}),
            "returns_url": reverse("refunds:return-list") + "?" + urlencode({"sku": product.sku}),
        },
    )


# Threshold settings ----------------------------------------------------------------------------------------


def _threshold_or_404(request: TenantRequest, threshold_pk: int) -> RefundRateThreshold:
    threshold = alerts.threshold_override_get(tenant=request.tenant, pk=threshold_pk)
    if threshold is None:
        raise Http404
    return threshold


@require_http_methods(["GET", "POST"])
@tenant_member_required("refunds.view")
def threshold_list_view(request: TenantRequest) -> HttpResponse:
    """The default (edited in place, POST here) and the overrides."""
    can_manage = _can_manage(request)
    default = alerts.threshold_default(tenant=request.tenant)
    form = DefaultThresholdForm(request.POST if request.method == "POST" else None, instance=default)
    if request.method == "POST":
        if not can_manage:
            return render(request, "403.html", status=403)
        if form.is_valid():
            try:
                alerts.threshold_save(tenant=request.tenant, threshold=form.instance, actor=request.user)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, _("Company default saved."))
                return redirect("refunds:threshold-list")
    overrides = list(alerts.threshold_overrides(tenant=request.tenant))
    return render(
        request,
        "refunds/threshold_list.html",
        {
            "tabs": section_tabs(request, "thresholds"),
            "default": default,
            "form": form,
            "overrides": overrides,
            "can_manage": can_manage,
        },
        status=400 if form.errors else 200,
    )


def _threshold_editor(request: TenantRequest, threshold: RefundRateThreshold | None) -> HttpResponse:
    form = ThresholdForm(
        request.POST if request.method == "POST" else None,
        instance=threshold,
        products=product_choices(tenant=request.tenant),
        stores=store_list(tenant=request.tenant),
    )
    if request.method == "POST" and form.is_valid():
        try:
            alerts.threshold_save(tenant=request.tenant, threshold=form.instance, actor=request.user)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("Threshold saved.") if threshold else _("Threshold added."))
            return redirect("refunds:threshold-list")
    return render(
        request,
        "refunds/threshold_form.html",
        {"tabs": section_tabs(request, "thresholds"), "form": form, "threshold": threshold},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required(MANAGE)
def threshold_create_view(request: TenantRequest) -> HttpResponse:
    return _threshold_editor(request, None)


@require_http_methods(["GET", "POST"])
@tenant_member_required(MANAGE)
def threshold_edit_view(request: TenantRequest, threshold_pk: int) -> HttpResponse:
    return _threshold_editor(request, _threshold_or_404(request, threshold_pk))


@require_POST
@tenant_member_required(MANAGE)
def threshold_delete_view(request: TenantRequest, threshold_pk: int) -> HttpResponse:
    threshold = _threshold_or_404(request, threshold_pk)
    alerts.threshold_delete(tenant=request.tenant, threshold=threshold, actor=request.user)
    messages.success(request, _("Threshold deleted."))
    return redirect("refunds:threshold-list")

"""The refund-rate console: the alerts page (open / acknowledged / resolved) with each alert's trend and its
acknowledgement, the refund-rate table per master SKU and one SKU's page (trend chart, channels, reason tags),
the threshold settings, and the dashboard's refund-rate figures.

Everyone in the company may look (`refunds.view`); acknowledging alerts and changing thresholds needs
`refunds.alerts` (owner, admin, operator). Figures come from refunds.rates (the daily rollup), alerts and
thresholds are changed through refunds.alerts (audited). Another company's alert, threshold or SKU answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
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
from inventory.models import Product
from refunds import alerts, rates
from refunds.forms_alerts import (
    ALL_CHANNELS,
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
    RefundLine,
    RefundRateAlert,
    RefundRateThreshold,
    RefundStatus,
    ThresholdScope,
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


# Thresholds ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """The threshold that applies to a row, and whether the row's rate is above it."""

    threshold: RefundRateThreshold | None
    above: bool


class ThresholdIndex:
    """Every enabled threshold of a tenant, loaded with one query, resolved per SKU in memory the way
    refunds.alerts.threshold_for does (without a query per SKU): the SKU's own, then the chosen store's, then
    the company's main category's, then the default."""

    def __init__(self, *, tenant: Tenant) -> None:
        self.by_product: dict[int, RefundRateThreshold] = {}
        self.by_store: dict[int, RefundRateThreshold] = {}
        self.category: RefundRateThreshold | None = None
        self.default: RefundRateThreshold | None = None
        alerts.threshold_default(tenant=tenant)  # created on first use, as the alerts engine does
        for threshold in RefundRateThreshold.objects.filter(tenant=tenant, enabled=True).order_by("pk"):
            if threshold.scope == ThresholdScope.PRODUCT and threshold.product_id:
                self.by_product[threshold.product_id] = threshold
            elif threshold.scope == ThresholdScope.STORE and threshold.store_id:
                self.by_store[threshold.store_id] = threshold
            elif threshold.scope == ThresholdScope.CATEGORY and threshold.category == tenant.main_category:
                self.category = threshold
            elif threshold.scope == ThresholdScope.DEFAULT:
                self.default = threshold

    def for_sku(self, *, product_id: int, store_id: int | None = None) -> RefundRateThreshold | None:
        return (
            self.by_product.get(product_id)
            or (self.by_store.get(store_id) if store_id else None)
            or self.category
            or self.default
        )

    def applied(self, row: rates.SkuRate, *, window_days: int, store_id: int | None = None) -> Applied:
        threshold = self.for_sku(product_id=row.product_id, store_id=store_id)
        rate = row.rate_percent
        above = (
            threshold is not None
            and rate is not None
            and threshold.window_days == window_days
            and row.units_sold >= threshold.min_units_sold
            and rate > threshold.rate_percent
        )
        return Applied(threshold, above)


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
    base = alerts.alert_list(tenant=request.tenant)
    store = data.get("store") or ""
    if store == ALL_CHANNELS:
        base = base.filter(store__isnull=True)
    elif store:
        base = base.filter(store_id=int(store))
    sku = (data.get("sku") or "").strip()
    if sku:
        base = base.filter(product__sku__icontains=sku)
    counts = base.aggregate(
        **{value: Count("pk", filter=Q(status=value)) for value in AlertStatus.values},
        all=Count("pk"),
    )
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
    thresholds = ThresholdIndex(tenant=request.tenant)
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


def window_start(window_days: int) -> datetime:
    """Midnight UTC of the first day of the window ending today (the rates' UTC days)."""
    return datetime.combine(rates.utc_today() - timedelta(days=window_days - 1), time.min, tzinfo=UTC)


def reason_breakdown(*, tenant: Tenant, product_id: int, since: datetime) -> list[dict[str, Any]]:
    """Refunds and units of one SKU per reason tag since `since` (one aggregate query), most refunds first.
    Refunds counted like the rates: succeeded ones."""
    rows = (
        RefundLine.objects.filter(
            tenant=tenant, product_id=product_id, refund__refunded_at__gte=since, refund__status=RefundStatus.SUCCEEDED
        )
        .values("refund__tag")
        .annotate(refunds=Count("refund", distinct=True), units=Sum("quantity"))
        .order_by("-refunds", "refund__tag")
    )
    total = sum(row["refunds"] for row in rows) or 1
    return [
        {
            "tag": row["refund__tag"],
            "label": _TAG_LABELS.get(row["refund__tag"], _("No tag")),
            "refunds": row["refunds"],
            "units": row["units"] or 0,
            "share": (Decimal(100) * row["refunds"] / total).quantize(Decimal("1")),
        }
        for row in rows
    ]


@tenant_member_required("refunds.view")
def rate_detail_view(request: TenantRequest, product_pk: int) -> HttpResponse:
    product = Product.objects.filter(tenant=request.tenant, pk=product_pk).first()
    if product is None:
        raise Http404
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
    since = window_start(window)
    label = _("Refund rate over %(days)s days (%%)") % {"days": window}
    open_alerts = list(
        RefundRateAlert.objects.filter(tenant=request.tenant, product=product)
        .exclude(status=AlertStatus.RESOLVED)
        .select_related("store")
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
            "above": threshold is not None
            and current.rate_percent is not None
            and threshold.window_days == window
            and current.units_sold >= threshold.min_units_sold
            and current.rate_percent > threshold.rate_percent,
            "chart": _chart_data(trend, threshold.rate_percent if threshold else None, label=label),
            "channels": channels,
            "reasons": reason_breakdown(tenant=request.tenant, product_id=product.pk, since=since),
            "open_alerts": open_alerts,
            "refunds_url": reverse("refunds:refund-list")
            + "?"
            + urlencode({"sku": product.sku, "date_from": since.date().isoformat()}),
            "returns_url": reverse("refunds:return-list") + "?" + urlencode({"sku": product.sku}),
        },
    )


# Threshold settings ----------------------------------------------------------------------------------------


def _threshold_or_404(request: TenantRequest, threshold_pk: int) -> RefundRateThreshold:
    threshold = (
        RefundRateThreshold.objects.filter(tenant=request.tenant, pk=threshold_pk)
        .exclude(scope=ThresholdScope.DEFAULT)
        .select_related("product", "store")
        .first()
    )
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
    overrides = list(
        RefundRateThreshold.objects.filter(tenant=request.tenant)
        .exclude(scope=ThresholdScope.DEFAULT)
        .select_related("product", "store")
        .order_by("scope", "category", "product__sku", "store__name", "pk")
    )
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


# Dashboard -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateSummary:
    open_alerts: int
    top: list[rates.SkuRate]
    window_days: int
    min_units: int


def rate_dashboard_summary(*, tenant: Tenant, limit: int = 3) -> RateSummary:
    """Open alerts and the SKUs with the highest 30-day refund rate that sold at least the default's minimum
    (one count and one refund_rates query)."""
    min_units = alerts.threshold_default(tenant=tenant).min_units_sold
    eligible = [
        row
        for row in rates.refund_rates(tenant=tenant, window_days=30)
        if row.units_sold >= min_units and row.units_refunded
    ]
    eligible.sort(key=lambda row: (-(row.rate_percent or 0), -row.units_sold, row.sku))
    open_alerts = alerts.alert_list(tenant=tenant, status=AlertStatus.OPEN).count()
    return RateSummary(open_alerts=open_alerts, top=eligible[:limit], window_days=30, min_units=min_units)

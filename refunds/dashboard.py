"""The dashboard's refunds card (from the refunds read side and the review queue) and its refund-rate
figures (open alerts, the SKUs with the highest rates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from acorn.money import Money
from acorn.tenancy.models import Tenant
from refunds import alerts, rates
from refunds.models import AlertStatus, Refund, RefundStatus
from refunds.review import review_counts


@dataclass(frozen=True)
class RefundSummary:
    days: int
    count: int
    reporting_currency: str
    reporting_amount: Decimal
    without_rate: int  # refunds in the period whose amount has no rate to the reporting currency
    waiting_approval: int
    needs_review: int
    needs_review_more: bool

    @property
    def reporting_money(self) -> Money:
        return Money(self.reporting_amount, self.reporting_currency)


def refund_dashboard_summary(*, tenant: Tenant, days: int = 30) -> RefundSummary:
    """The dashboard's refunds card: refunds of the last `days` days, requests waiting and the review queue."""
    since = timezone.now() - timedelta(days=days)
    refunded = Refund.objects.filter(tenant=tenant, refunded_at__gte=since, status=RefundStatus.SUCCEEDED)
    converted = Q(reporting_currency=tenant.reporting_currency, reporting_amount__isnull=False)
    totals = refunded.aggregate(
        count=Count("pk"),
        amount=Sum("reporting_amount", filter=converted),
        without_rate=Count("pk", filter=~converted),
    )
    counts = review_counts(tenant=tenant)
    return RefundSummary(
        days=days,
        count=totals["count"] or 0,
        reporting_currency=tenant.reporting_currency,
        reporting_amount=totals["amount"] or Decimal(0),
        without_rate=totals["without_rate"] or 0,
        waiting_approval=Refund.objects.filter(tenant=tenant, status=RefundStatus.PENDING_APPROVAL).count(),
        needs_review=sum(count for count, _more in counts.values()),
        needs_review_more=any(more for _count, more in counts.values()),
    )


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

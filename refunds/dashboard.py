"""The dashboard's refunds card, from the refunds read side and the review queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from acorn.money import Money
from acorn.tenancy.models import Tenant
from refunds.models import Refund, RefundStatus
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

"""Sales at a glance, for the dashboard: a window of the last 1, 7 or 30 UTC days against the window just
before it — orders, units, revenue, refunds and net profit in the reporting currency, the leading stores,
buyer countries and SKUs, and the trend — read from the same rollups as the Profit page (`selectors`), so
the two never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from acorn.money import quantize_amount
from acorn.tenancy.models import Tenant
from finance.profit.selectors import BreakdownRow, Period, Totals, profit_breakdown, profit_totals, profit_trend

WINDOWS = (1, 7, 30)
TOP = 5
CHART_DAYS = 30  # the trend shows a month whatever the window, so "today" has a shape around it


def change_percent(current: Decimal, previous: Decimal) -> Decimal | None:
    """The change in percent against the previous period (1 place), None when there was nothing before."""
    if not previous:
        return None
    return (Decimal(100) * (current - previous) / abs(previous)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Figure:
    key: str
    current: Decimal
    previous: Decimal
    money: bool
    good_when_up: bool = True

    @property
    def change(self) -> Decimal | None:
        return change_percent(self.current, self.previous)

    @property
    def change_size(self) -> Decimal | None:
        """The change without its sign (the arrow beside it says which way)."""
        change = self.change
        return abs(change) if change is not None else None

    @property
    def good(self) -> bool | None:
        """Whether the change reads as good news (None: no change to judge)."""
        change = self.change
        if not change:
            return None
        return (change > 0) == self.good_when_up


@dataclass(frozen=True)
class SalesGlance:
    days: int
    period: Period
    previous_period: Period
    currency: str
    totals: Totals
    figures: list[Figure]
    stores: list[BreakdownRow]
    countries: list[BreakdownRow]
    skus: list[BreakdownRow]
    chart: dict[str, Any]

    @property
    def has_any(self) -> bool:
        return any(figure.current or figure.previous for figure in self.figures)

    @property
    def settled(self) -> bool:
        return self.totals.settled


def sales_glance(*, tenant: Tenant, days: int, today: date) -> SalesGlance:
    """The window of `days` (one of WINDOWS) ending `today`, and the window before it."""
    if days not in WINDOWS:
        raise ValueError(f"days must be one of {WINDOWS}, not {days!r}.")
    period = Period.last(days, today=today)
    previous_period = period.previous()
    totals = profit_totals(tenant=tenant, period=period)
    before = profit_totals(tenant=tenant, period=previous_period)
    figures = [
        Figure("orders", Decimal(totals["orders"]), Decimal(before["orders"]), money=False),
        Figure("units", Decimal(totals["units"]), Decimal(before["units"]), money=False),
        Figure("revenue", totals.revenue, before.revenue, money=True),
        # Refunds are negative money in the P&L; shown as what was given back, more is bad news.
        Figure("refunds", -Decimal(totals["refunds"]), -Decimal(before["refunds"]), money=True, good_when_up=False),
        Figure("net", Decimal(totals["net"]), Decimal(before["net"]), money=True),
    ]
    currency = tenant.reporting_currency
    trend = profit_trend(tenant=tenant, period=Period.last(max(days, CHART_DAYS), today=today))
    return SalesGlance(
        days=days,
        period=period,
        previous_period=previous_period,
        currency=currency,
        totals=totals,
        figures=figures,
        stores=profit_breakdown(tenant=tenant, period=period, by="store", sort="-sales")[:TOP],
        countries=profit_breakdown(tenant=tenant, period=period, by="country", sort="-sales")[:TOP],
        skus=profit_breakdown(tenant=tenant, period=period, by="sku", sort="-sales")[:TOP],
        chart=trend_chart(trend, currency),
    )


def trend_chart(trend: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    """What static/js/profit-chart.js draws: revenue and net profit per day (labels are set by the page)."""
    return {
        "labels": [row["day"].isoformat() for row in trend],
        "revenue": [str(quantize_amount(row["revenue"], currency)) for row in trend],
        "net": [str(quantize_amount(row["net"], currency)) for row in trend],
    }

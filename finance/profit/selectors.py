"""Reads of the P&L, all from the daily rollup (ProfitDaily) but the drill-down to orders (ProfitFact): one
indexed aggregate query each (by SKU: products and unmapped SKUs apart; by SKU or store, then one for the
labels), in the tenant's reporting currency.

A `Period` is a span of UTC days with optional filters (store, marketplace, buyer country, product);
`previous()` is the span of the same length just before it. Margin is net profit over revenue (sales and
shipping charged, before promotions and refunds), as peers show it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum

from acorn.tenancy.models import Tenant
from channels.models import Store
from finance.profit.models import COMPONENTS, FactKind, ProfitDaily, ProfitFact
from inventory.models import Product

SUMMED = (*COMPONENTS, "tax", "net", "units", "units_refunded", "orders", "facts", "estimated", "cost_missing")
BREAKDOWNS = ("sku", "store", "country")
GROUP_KEYS = {"store": "store_id", "country": "country"}  # by SKU: product_id, or sku when no product
SORTS = ("net", "sales", "units", "margin", "refunds", "cogs", "advertising", "label")
# What a person reads as one line of the statement: fees together, costs of no order together.
SUMMARY = {
    "fees": ("referral_fees", "fba_fees", "other_fees"),
    "other": ("storage", "other_costs", "fulfilment"),
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    store_id: int | None = None
    marketplace: str = ""
    country: str = ""
    product_id: int | None = None
    sku: str = ""  # a channel SKU mapped to no product

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    @classmethod
    def last(cls, days: int, *, today: date, **filters: Any) -> Period:
        return cls(start=today - timedelta(days=days - 1), end=today, **filters)


def _filtered(model: Any, *, tenant: Tenant, period: Period) -> QuerySet[Any]:
    rows = model.objects.filter(tenant=tenant, day__gte=period.start, day__lte=period.end)
    rows = rows.filter(**{"currency" if model is ProfitDaily else "reporting_currency": tenant.reporting_currency})
    if period.store_id is not None:
        rows = rows.filter(store_id=period.store_id)
    if period.marketplace:
        rows = rows.filter(marketplace=period.marketplace)
    if period.country:
        rows = rows.filter(country=period.country)
    if period.product_id is not None:
        rows = rows.filter(product_id=period.product_id)
    elif period.sku:
        rows = rows.filter(product__isnull=True, sku=period.sku)
    return rows


def _sums() -> dict[str, Any]:
    return {name: Sum(name) for name in SUMMED}


@dataclass(frozen=True)
class Totals:
    """Summed figures of a period with what a person reads off them."""

    values: dict[str, Any]
    currency: str

    def __getitem__(self, name: str) -> Any:
        if name in SUMMARY:
            return sum((self.values[part] for part in SUMMARY[name]), Decimal(0))
        return self.values[name]

    @property
    def revenue(self) -> Decimal:
        return Decimal(self.values["sales"]) + Decimal(self.values["shipping"])

    @property
    def margin(self) -> Decimal | None:
        """Net profit over revenue in percent (1 place), None without revenue."""
        if self.revenue <= 0:
            return None
        return (Decimal(100) * Decimal(self.values["net"]) / self.revenue).quantize(Decimal("0.1"))

    @property
    def settled(self) -> bool:
        return not self.values["estimated"]


def _totals(values: dict[str, Any], currency: str) -> Totals:
    return Totals({name: values.get(name) or 0 for name in SUMMED}, currency)


def profit_totals(*, tenant: Tenant, period: Period) -> Totals:
    """The period's figures summed (one aggregate)."""
    return _totals(_filtered(ProfitDaily, tenant=tenant, period=period).aggregate(**_sums()), tenant.reporting_currency)


@dataclass(frozen=True)
class BreakdownRow:
    key: Any  # product id / "sku:<channel sku>" / store id / country code
    label: str
    detail: str
    totals: Totals


def profit_breakdown(*, tenant: Tenant, period: Period, by: str, sort: str = "-net") -> list[BreakdownRow]:
    """The period per SKU (master product, or channel SKU when unmapped; costs of no product as one row),
    per store, or per buyer country, sorted by a figure (`-net` descending) or by label."""
    if by not in BREAKDOWNS:
        raise ValueError(f"Unknown breakdown {by!r}; one of {', '.join(BREAKDOWNS)}.")
    rows = _filtered(ProfitDaily, tenant=tenant, period=period)
    # Summed per key first and labelled after: joining products or stores before grouping hashes or sorts
    # every rollup row by their names too (a million order lines, 90 days: 200,000 rows). By SKU, rows of a
    # product and rows of an unmapped channel SKU are summed apart: grouped by (product, SKU) together, the
    # planner takes the two for independent, expects 40 times the groups there are and sorts every row
    # instead of hashing them (PostgreSQL: 2x slower); the unmapped few are found through the product index.
    if by == "sku":
        groups = [
            {**group, "sku": ""}
            for group in rows.filter(product_id__isnull=False).values("product_id").annotate(**_sums()).order_by()
        ]
        groups += [
            {**group, "product_id": None}
            for group in rows.filter(product_id__isnull=True).values("sku").annotate(**_sums()).order_by()
        ]
    else:
        groups = list(rows.values(GROUP_KEYS[by]).annotate(**_sums()).order_by())
    labels = _labels(tenant=tenant, by=by, groups=groups)
    found = []
    for group in groups:
        totals = _totals(group, tenant.reporting_currency)
        if by == "sku":
            if group["product_id"] is not None:
                key = group["product_id"]
                label, detail = labels.get(key, ("", ""))
            elif group["sku"]:
                key, label, detail = f"sku:{group['sku']}", group["sku"], "unmapped"
            else:
                key, label, detail = "none", "", "no-product"
        elif by == "store":
            key = group["store_id"]
            label, detail = labels.get(key, ("", "")) if key is not None else ("", "company")
        else:
            key, label, detail = group["country"], group["country"], ""
        found.append(BreakdownRow(key, label or "", detail or "", totals))
    return _sorted(found, sort)


def _labels(*, tenant: Tenant, by: str, groups: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """Label and detail of the products (by SKU) or stores (by store) the groups name; one query."""
    if by == "sku":
        wanted = {group["product_id"] for group in groups if group["product_id"] is not None}
        products = Product.objects.filter(tenant=tenant, pk__in=wanted).values_list("pk", "sku", "name")
        return {pk: (sku, name) for pk, sku, name in products} if wanted else {}
    if by == "store":
        wanted = {group["store_id"] for group in groups if group["store_id"] is not None}
        stores = Store.objects.filter(tenant=tenant, pk__in=wanted).values_list("pk", "name")
        return {pk: (name, "") for pk, name in stores} if wanted else {}
    return {}


def _sorted(rows: list[BreakdownRow], sort: str) -> list[BreakdownRow]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in SORTS:
        name, descending = "net", True
    if name == "label":
        return sorted(rows, key=lambda row: row.label.lower(), reverse=descending)

    def value(row: BreakdownRow) -> Decimal:
        if name == "margin":
            return row.totals.margin if row.totals.margin is not None else Decimal("-Infinity")
        return Decimal(row.totals[name])

    return sorted(rows, key=lambda row: (value(row), row.label), reverse=descending)


def profit_trend(*, tenant: Tenant, period: Period) -> list[dict[str, Any]]:
    """Revenue and net profit per day of the period (days without figures are zero)."""
    found = {
        row["day"]: row
        for row in _filtered(ProfitDaily, tenant=tenant, period=period)
        .values("day")
        .annotate(sales=Sum("sales"), shipping=Sum("shipping"), net=Sum("net"))
        .order_by()
    }
    days = []
    for offset in range(period.days):
        day = period.start + timedelta(days=offset)
        row = found.get(day, {})
        revenue = (row.get("sales") or Decimal(0)) + (row.get("shipping") or Decimal(0))
        days.append({"day": day, "revenue": revenue, "net": row.get("net") or Decimal(0)})
    return days


def profit_orders(*, tenant: Tenant, period: Period) -> QuerySet[Any]:
    """Orders of the period's product (or channel SKU) with what each earned in it: its sales and refunds
    summed (refunds counted on their own day), newest order first. For the drill-down from a SKU."""
    facts = _filtered(ProfitFact, tenant=tenant, period=period).filter(order__isnull=False)
    return (
        facts.values(
            "order_id",
            external_id=F("order__external_id"),
            purchased_at=F("order__purchased_at"),
            store_name=F("order__store__name"),
            order_currency=F("order__currency"),
        )
        .annotate(
            units=Sum("units"),
            units_refunded=Sum("units_refunded"),
            sales=Sum("sales"),
            refunds=Sum("refunds"),
            fees=Sum(F("referral_fees") + F("fba_fees") + F("other_fees")),
            cogs=Sum("cogs"),
            net=Sum("net"),
            net_own=Sum("net_amount"),
            estimated=Count("pk", filter=Q(settled=False)),
            cost_missing=Count("pk", filter=Q(cost_missing=True)),
            sales_facts=Count("pk", filter=Q(kind=FactKind.SALE)),
        )
        .order_by("-purchased_at", "-order_id")
    )


def profit_filter_choices(*, tenant: Tenant) -> dict[str, list[str]]:
    """The marketplaces and buyer countries the tenant's P&L has, for the filters."""
    rows = ProfitDaily.objects.filter(tenant=tenant)
    return {
        "marketplaces": sorted(m for m in rows.values_list("marketplace", flat=True).distinct() if m),
        "countries": sorted(c for c in rows.values_list("country", flat=True).distinct() if c),
    }

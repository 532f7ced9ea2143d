"""Reads of the P&L, all from the rollups but the drill-down to orders (ProfitFact): one indexed aggregate
query each (by store, and by SKU with a store filter, then one for the labels), in the tenant's reporting
currency.

Each read takes the coarsest rollup that holds the columns it filters and groups on (finance.profit.models):
`ProfitDailyStore` for totals, trend, by store and by country (any store, marketplace or country filter);
`ProfitDailyProduct` for totals and trend of a product or channel SKU, and for by SKU with the whole weeks
of the period from `ProfitWeeklyProduct` (no store, marketplace or country filter); `ProfitDaily` when a read
needs both a product and a store column. The three are summed from `ProfitDaily`, so every source gives the
same figures (`coarse=False` in the internals reads `ProfitDaily` alone, for the tests).

A `Period` is a span of UTC days with optional filters (store, marketplace, buyer country, product);
`previous()` is the span of the same length just before it. Margin is net profit over revenue (sales and
shipping charged, before promotions and refunds), as peers show it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Context, Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, Model, Q, QuerySet, Sum

from acorn.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS
from acorn.tenancy.models import Tenant
from channels.models import Store
from finance.profit.models import (
    COMPONENTS,
    FactKind,
    ProfitDaily,
    ProfitDailyProduct,
    ProfitDailyStore,
    ProfitFact,
    ProfitWeeklyProduct,
)
from inventory.models import Product

MONEY = (*COMPONENTS, "tax", "net")
_CONTEXT = Context(prec=AMOUNT_MAX_DIGITS)
_PLACES = Decimal(1).scaleb(-AMOUNT_DECIMAL_PLACES)
SUMMED = (*MONEY, "units", "units_refunded", "orders", "facts", "estimated", "cost_missing")
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

    @property
    def by_product(self) -> bool:
        """A product or channel SKU filter: only rollups with a product column can serve it."""
        return self.product_id is not None or bool(self.sku)

    @property
    def by_store(self) -> bool:
        """A store, marketplace or country filter: only rollups with those columns can serve it."""
        return self.store_id is not None or bool(self.marketplace) or bool(self.country)


def _source(period: Period, *, coarse: bool, needs_store: bool = False) -> type[Model]:
    """The coarsest daily rollup with the columns the period's filters and the grouping need (by SKU has its
    own: `_breakdown_groups`)."""
    if not coarse:
        return ProfitDaily
    if period.by_product:
        return ProfitDaily if needs_store or period.by_store else ProfitDailyProduct
    return ProfitDailyStore


def _filtered(model: Any, *, tenant: Tenant, period: Period, days: Q | None = None) -> QuerySet[Any]:
    """The model's rows of the tenant, its reporting currency and the period (or `days`, over the model's day
    column), with the period's filters; a filter the model has no column for is refused."""
    if days is None:
        days = Q(day__gte=period.start, day__lte=period.end)
    rows = model.objects.filter(days, tenant=tenant)
    rows = rows.filter(**{"reporting_currency" if model is ProfitFact else "currency": tenant.reporting_currency})
    names = {field.name for field in model._meta.get_fields()}
    if (period.by_store and "store" not in names) or (period.by_product and "product" not in names):
        raise ValueError(f"{model.__name__} cannot serve the filters of {period}.")
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
    return _totals(_totals_sums(tenant=tenant, period=period, coarse=True), tenant.reporting_currency)


def _totals_sums(*, tenant: Tenant, period: Period, coarse: bool) -> dict[str, Any]:
    rows = _filtered(_source(period, coarse=coarse), tenant=tenant, period=period)
    return dict(rows.aggregate(**_sums()))


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
    groups = _breakdown_groups(tenant=tenant, period=period, by=by, coarse=True)
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


def _breakdown_groups(*, tenant: Tenant, period: Period, by: str, coarse: bool) -> list[dict[str, Any]]:
    """The period's figures summed per SKU (`product_id` and `sku`), store (`store_id`) or country."""
    # Summed per key first and labelled after: joining products or stores before grouping hashes or sorts
    # every rollup row by their names too.
    if by != "sku":
        model = _source(period, coarse=coarse, needs_store=True)
        return list(
            _filtered(model, tenant=tenant, period=period).values(GROUP_KEYS[by]).annotate(**_sums()).order_by()
        )
    if not coarse or period.by_store:
        return _sku_sums(_filtered(ProfitDaily, tenant=tenant, period=period))
    weeks = _whole_weeks(period)
    if weeks is None:
        return _sku_sums(_filtered(ProfitDailyProduct, tenant=tenant, period=period))
    # Whole weeks from the weekly rollup, the days before the first and after the last from the daily one:
    # a 90-day period reads 12 weeks and at most 12 days of rows, not 90 days'. One aggregate over both
    # (UNION ALL), labels joined: two aggregates merged in Python fetch and convert twice the rows, and the
    # labels' IN list of a thousand ids costs more to build than to read (PostgreSQL, a million order lines,
    # 90 days, a busy machine: 82 ms median in all, against 150 for two aggregates and a labels query).
    first, last = weeks
    after = last + timedelta(days=7)
    parts = [
        _filtered(
            ProfitWeeklyProduct, tenant=tenant, period=period, days=Q(week_start__gte=first, week_start__lte=last)
        )
    ]
    if period.start < first or after <= period.end:
        edges = Q(day__gte=period.start, day__lt=first) | Q(day__gte=after, day__lte=period.end)
        parts.append(_filtered(ProfitDailyProduct, tenant=tenant, period=period, days=edges))
    return _sku_sums_of_union(tenant=tenant, parts=parts)


def _sku_sums_of_union(*, tenant: Tenant, parts: list[QuerySet[Any]]) -> list[dict[str, Any]]:
    """The rows of these querysets (each of a product rollup, its own filters) summed per product or channel
    SKU in one statement, with the products' SKU and name: SELECT … FROM (part UNION ALL part) GROUP BY. Read
    with a plain cursor: PostgreSQL sums into numeric, which the driver returns as Decimal (integers as int)."""
    selects: list[str] = []
    params: list[Any] = []
    for part in parts:
        sql, part_params = part.values("product_id", "sku", *SUMMED).order_by().query.sql_with_params()
        selects.append(sql)  # no ORDER BY nor LIMIT: SQLite takes no parentheses here
        params.extend(part_params)
    quote = connection.ops.quote_name
    # SQLite sums decimals as floating point: its money sums are read as text (15 significant digits) and made
    # Decimal here, never a Python float. PostgreSQL sums into numeric, which the driver returns as Decimal.
    as_text = connection.vendor != "postgresql"
    sums = ", ".join(
        f"CAST(SUM(u.{quote(name)}) AS TEXT) AS {quote(name)}"
        if as_text and name in MONEY
        else f"SUM(u.{quote(name)}) AS {quote(name)}"
        for name in SUMMED
    )
    product = quote(Product._meta.db_table)
    statement = (
        f"SELECT g.*, p.sku AS product_sku, p.name AS product_name FROM ("  # noqa: S608 - model SQL
        f"SELECT u.product_id, u.sku, {sums} FROM ({' UNION ALL '.join(selects)}) u GROUP BY u.product_id, u.sku"
        f") g LEFT JOIN {product} p ON p.id = g.product_id AND p.tenant_id = %s"
    )
    params.append(tenant.pk)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if as_text:
        for row in rows:
            for name in MONEY:
                row[name] = _decimal(row[name])
    return rows


def _decimal(value: str | None) -> Decimal:
    """A money sum SQLite wrote as text, as Django's DecimalField reads it: 20 digits, 4 places."""
    return _CONTEXT.create_decimal(value or "0").quantize(_PLACES, context=_CONTEXT)


def _whole_weeks(period: Period) -> tuple[date, date] | None:
    """The first and the last Monday of the weeks (Monday to Sunday) wholly inside the period; None if none is."""
    first = period.start + timedelta(days=-period.start.weekday() % 7)
    last = period.end - timedelta(days=(period.end.weekday() + 1) % 7 + 6)
    return (first, last) if first <= last else None


def _sku_sums(rows: QuerySet[Any]) -> list[dict[str, Any]]:
    """Rows summed per product, or per channel SKU when there is none (`sku` is empty on a product's rows)."""
    if rows.model is not ProfitDaily:
        return list(rows.values("product_id", "sku").annotate(**_sums()).order_by())
    # On the finest rollup (a store filter: every product row of the store's days), a product's rows and an
    # unmapped channel SKU's are summed apart: grouped by (product, SKU) together, the planner takes the two for
    # independent, expects 40 times the groups there are and sorts every row instead of hashing them
    # (PostgreSQL: 2x slower); the unmapped few are found through the product index.
    groups = [
        {**group, "sku": ""}
        for group in rows.filter(product_id__isnull=False).values("product_id").annotate(**_sums()).order_by()
    ]
    groups += [
        {**group, "product_id": None}
        for group in rows.filter(product_id__isnull=True).values("sku").annotate(**_sums()).order_by()
    ]
    return groups


def _labels(*, tenant: Tenant, by: str, groups: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """Label and detail of the products (by SKU) or stores (by store) the groups name; one query."""
    if by == "sku" and groups and "product_name" in groups[0]:
        return {group["product_id"]: (group["product_sku"], group["product_name"]) for group in groups}
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
    found = _trend_days(tenant=tenant, period=period, coarse=True)
    days = []
    for offset in range(period.days):
        day = period.start + timedelta(days=offset)
        row = found.get(day, {})
        revenue = (row.get("sales") or Decimal(0)) + (row.get("shipping") or Decimal(0))
        days.append({"day": day, "revenue": revenue, "net": row.get("net") or Decimal(0)})
    return days


def _trend_days(*, tenant: Tenant, period: Period, coarse: bool) -> dict[date, dict[str, Any]]:
    rows = _filtered(_source(period, coarse=coarse), tenant=tenant, period=period)
    summed = rows.values("day").annotate(sales=Sum("sales"), shipping=Sum("shipping"), net=Sum("net")).order_by()
    return {row["day"]: row for row in summed}


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
    rows = ProfitDailyStore.objects.filter(tenant=tenant)
    return {
        "marketplaces": sorted(m for m in rows.values_list("marketplace", flat=True).distinct() if m),
        "countries": sorted(c for c in rows.values_list("country", flat=True).distinct() if c),
    }

"""`manage.py bench profit --json [--scale N]`: p50 / p95 of the profit console's reads (finance.profit.selectors)
over a million order lines, against the same figures summed straight from the facts in the same run.

The target is PostgreSQL with 1,000,000 order lines (the default there); SQLite defaults to 20,000.

Fill: a throwaway tenant (slug `bench-profit-…`, deleted afterwards, reporting currency USD) gets 1,500 master
products and five stores (Amazon NA, EU and FE with their marketplaces, a Shopify shop, a WooCommerce site:
twelve buyer countries, seven currencies), then `--scale` sale facts (`ProfitFact`, kind "sale": one per order
line) over the last 400 days (more recent days busier; popularity skewed: a few products sell most), about
8 % of them refunded 3 to 40 days later (a "refund" fact each, never after today), and costs of no order
(advertising per product and day, monthly storage per Amazon store, a monthly subscription for the whole
company). Each fact carries plausible figures in whole cents of the reporting currency — sales, shipping
charged by web shops, promotions, referral or payment fees (Amazon returns the referral fee on a refund less
its refund commission), FBA fees, a closing fee now and then, cost of goods (given back by a sellable return),
fulfilment for merchant orders, tax kept apart — with `net` their sum, the transaction's currency, the rate of
its day and `net_amount` in that currency. 1 % of sales map to no product (a channel SKU only), 1 % have no
cost, and facts are "estimated" (not settled) mostly in the last 14 days, 2 % before. The facts are written
by PostgreSQL COPY (executemany INSERT on SQLite) and reference **no real orders**: `order`, `order_line`,
`refund` and `refund_line` are null (the model allows it), so the rollup's `orders` count is 0 everywhere;
the measured reads do not depend on it. Then `VACUUM (ANALYZE)` of the facts, products and stores (ANALYZE
on SQLite: what autovacuum would have done meanwhile) and the rollup built by
the product's own code: `finance.profit.rollup.rollup_refresh` over every (store, day) of the history,
timed (`rollup_seconds`: the daily rollup and the coarser ones summed from it — per store-day, product-day
and product-week, `rollup.coarse_rows`), then analysed.

Measure, 3 warm-ups then 30 timed runs each: `profit_breakdown` by SKU, store and country, `profit_totals`
and `profit_trend`, for the last 30 and the last 90 days — what the Profit page reads. Baseline, in the same
run and timed the same way (fewer runs: see BASELINE_RUNS): one plain SQL aggregate over `ProfitFact` per
case (GROUP BY over the facts of the window, no rollup). Each case's `ratio` = its baseline p95 / its p95;
the top-level `ratio` = the slowest baseline p95 / the slowest selector p95. `figures_equal` says whether
every selector case gave, per group (product or channel SKU, store, country, day), exactly the figures of
the raw aggregate: every component, tax, net, units sold and refunded, facts, estimated and cost-missing
counts (`orders` aside: the rollup counts an order once per day and product, not once per group). A
difference raises after clean-up, naming the cases. Target: every selector case's p95 at most 200 ms at a
million lines; `slow_cases` names any that is not; `explain` holds the plan (EXPLAIN ANALYZE, BUFFERS on
PostgreSQL) of the slowest selector case's slowest statement.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from acorn.money import minor_unit_exponent
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from benchmarks import Benchmark, BenchOptions
from benchmarks.support import (
    StatementLog,
    TableLoader,
    bench_tenant,
    bulk_method,
    dangerously_delete_bench_tenant,
    database_figures,
    percentile,
)
from channels.models import Platform, Region, Store, StoreStatus
from finance.profit.models import (
    COMPONENTS,
    FactKind,
    ProfitDaily,
    ProfitDailyProduct,
    ProfitDailyStore,
    ProfitFact,
    ProfitWeeklyProduct,
)
from finance.profit.rollup import rollup_refresh
from finance.profit.selectors import BreakdownRow, Period, Totals, profit_breakdown, profit_totals, profit_trend
from inventory.models import Product

SEED = 31
TARGET_DATABASE = "postgresql"
DEFAULT_SCALE = {"postgresql": 1_000_000}
OTHER_DEFAULT_SCALE = 20_000
CHUNK = 100_000
WARMUPS = 3
RUNS = 30
# The raw aggregate reads every fact of the window (a quarter of a million for 90 days): fewer runs.
BASELINE_WARMUPS, BASELINE_RUNS = 1, 10
SLOW_MS = 200.0
PRODUCTS = 1500
HISTORY_DAYS = 400
REFUNDED_SHARE = 0.08  # of sales, on average over the products
UNMAPPED_SHARE = 0.01
COST_MISSING_SHARE = 0.01
RECENT_DAYS = 14  # sales and refunds this young are mostly not settled yet
OLD_ESTIMATED_SHARE = 0.02
ADS_PER_STORE_DAY = 3
WINDOWS = (30, 90)
BREAKDOWNS = ("sku", "store", "country")
RATE_SOURCE = "benchmark"
# What the figures are compared on (orders aside: see the module docstring).
MONEY = (*COMPONENTS, "tax", "net")
COUNTS = ("units", "units_refunded", "facts", "estimated", "cost_missing")


@dataclass(frozen=True)
class _StoreSpec:
    name: str
    platform: str
    region: str
    marketplaces: tuple[str, ...]  # Amazon marketplaces; empty for web shops
    share: int  # weight in the sales mix
    countries: tuple[str, ...] = ()  # web shops: where buyers are
    currency: str = ""  # web shops: the shop currency


STORES = (
    _StoreSpec("Amazon NA", Platform.AMAZON, Region.NA, ("US", "CA", "MX"), 34),
    _StoreSpec("Amazon EU", Platform.AMAZON, Region.EU, ("UK", "DE", "FR", "IT", "ES"), 26),
    _StoreSpec("Amazon FE", Platform.AMAZON, Region.FE, ("JP", "AU"), 10),
    _StoreSpec("Shopify Outfitters", Platform.SHOPIFY, "", (), 18, ("US", "CA", "GB", "AU", "DE"), "USD"),
    _StoreSpec("WooCommerce DE", Platform.WOOCOMMERCE, "", (), 12, ("DE", "AT", "FR", "NL"), "EUR"),
)
MARKETPLACE = {  # code → (buyer country, currency)
    "US": ("US", "USD"),
    "CA": ("CA", "CAD"),
    "MX": ("MX", "MXN"),
    "UK": ("GB", "GBP"),
    "DE": ("DE", "EUR"),
    "FR": ("FR", "EUR"),
    "IT": ("IT", "EUR"),
    "ES": ("ES", "EUR"),
    "JP": ("JP", "JPY"),
    "AU": ("AU", "AUD"),
}
# Rough US dollars per unit (a plausible level; each day moves it a little): the figures are made in USD.
USD_PER_UNIT = {
    "USD": Decimal(1),
    "CAD": Decimal("0.73"),
    "MXN": Decimal("0.058"),
    "GBP": Decimal("1.27"),
    "EUR": Decimal("1.08"),
    "JPY": Decimal("0.0067"),
    "AUD": Decimal("0.66"),
}
VAT_PERCENT = {"GB": 20, "DE": 19, "FR": 20, "IT": 22, "ES": 21, "AT": 20, "NL": 21}
RATE_QUANTUM = Decimal("0.0000000001")
ROLLUPS = (ProfitDaily, ProfitDailyStore, ProfitDailyProduct, ProfitWeeklyProduct)


@dataclass
class _Catalogue:
    products: list[Product]
    cumulative: list[float]  # popularity, for rng.choices(cum_weights=…)
    price: list[int]  # cents
    cost: list[int]  # cents, landed
    fba_fee: list[int]  # cents per unit
    refund_share: list[float]


@dataclass
class _Fill:
    sales: int = 0
    refunds: int = 0
    costs: int = 0
    estimated: int = 0
    unmapped: int = 0
    cost_missing: int = 0
    seconds: float = 0.0


def run(options: BenchOptions) -> dict[str, Any]:
    vendor = connection.vendor
    count = max(1, options.scale or DEFAULT_SCALE.get(vendor, OTHER_DEFAULT_SCALE))
    today = timezone.now().astimezone(UTC).date()
    tenant = bench_tenant("profit")
    cases: dict[str, _Case] = {}
    try:
        with tenant_scope(tenant):
            stores = _stores(tenant)
            catalogue = _catalogue(tenant)
            fill = _fill(tenant, stores, catalogue, count, today)
        analyze = _analyze([ProfitFact, Product, Store])
        first = today - timedelta(days=HISTORY_DAYS - 1)
        store_days = [
            (store_id, first + timedelta(days=offset))
            for store_id in [*(store.pk for store in stores), None]
            for offset in range(HISTORY_DAYS)
        ]
        begin = time.perf_counter()
        rollup_rows = rollup_refresh(tenant=tenant, store_days=store_days)
        rollup_seconds = time.perf_counter() - begin
        _analyze(list(ROLLUPS))
        with tenant_scope(tenant):
            coarse_rows = {
                model.__name__: model.objects.filter(tenant=tenant).count()
                for model in ROLLUPS
                if model is not ProfitDaily
            }
            cases = _cases(tenant, today)
            selectors = {name: case for name, case in cases.items() if not case.baseline}
            slowest = max(selectors, key=lambda name: percentile(selectors[name].times, 0.95))
            explain = {slowest: selectors[slowest].explain()}
    finally:
        dangerously_delete_bench_tenant(tenant)
        _analyze([ProfitFact, *ROLLUPS])
    differ = {name: case.difference(cases[f"{name}_raw"]) for name, case in selectors.items()}
    differ = {name: found for name, found in differ.items() if found}
    if differ:
        raise FiguresDiffer(f"The rollup's figures differ from the raw aggregate's: {differ}")
    results = {name: case.figures() for name, case in cases.items()}
    for name in selectors:
        results[name]["ratio"] = round(
            percentile(cases[f"{name}_raw"].times, 0.95) / max(percentile(cases[name].times, 0.95), 1e-9), 2
        )
    selector_p95 = max(percentile(case.times, 0.95) for case in selectors.values())
    raw_p95 = max(percentile(case.times, 0.95) for case in cases.values() if case.baseline)
    slow = sorted(name for name, case in selectors.items() if percentile(case.times, 0.95) > SLOW_MS)
    return {
        "benchmark": "profit",
        **database_figures(),
        "target": f"{TARGET_DATABASE} with 1,000,000 order lines, every case p95 <= {SLOW_MS:.0f} ms"
        + ("" if vendor == TARGET_DATABASE else f" (this run: {vendor}, {count:,} lines)"),
        "scale": count,
        "facts": {
            "sales": fill.sales,
            "refunds": fill.refunds,
            "costs_of_no_order": fill.costs,
            "estimated": fill.estimated,
            "unmapped": fill.unmapped,
            "cost_missing": fill.cost_missing,
            "orders_referenced": 0,
        },
        "products": PRODUCTS,
        "stores": len(stores),
        "history_days": HISTORY_DAYS,
        "fill": {"method": bulk_method(), "seconds": round(fill.seconds, 1), "analyze": analyze},
        "rollup_seconds": round(rollup_seconds, 2),
        "rollup": {
            "rows": rollup_rows,
            "store_days": len(store_days),
            "facts_per_row": round((fill.sales + fill.refunds + fill.costs) / max(rollup_rows, 1), 2),
            "coarse_rows": coarse_rows,
            "how": "finance.profit.rollup.rollup_refresh over every (store, day) of the history",
        },
        "runs_per_case": RUNS,
        "warmups": WARMUPS,
        "baseline_runs_per_case": BASELINE_RUNS,
        "baseline_warmups": BASELINE_WARMUPS,
        "cases": results,
        "selector_p95_ms": round(selector_p95, 2),
        "baseline_p95_ms": round(raw_p95, 2),
        "ratio": round(raw_p95 / max(selector_p95, 1e-9), 2),
        "figures_equal": not differ,
        "slow_cases": slow,
        "slow_threshold_ms": SLOW_MS,
        "slowest_case": slowest,
        "explain": explain,
    }


class FiguresDiffer(AssertionError):
    """A selector gave other figures than the raw aggregate over the same facts."""


# --- the throwaway tenant's stores, products and facts ----------------------------------------------------


def _stores(tenant: Tenant) -> list[Store]:
    return [
        Store.objects.create(
            tenant=tenant,
            platform=spec.platform,
            name=spec.name,
            region=spec.region,
            marketplaces=list(spec.marketplaces),
            seller_id=f"BENCH{index}",
            status=StoreStatus.DISABLED,  # no credentials; nothing syncs it
        )
        for index, spec in enumerate(STORES)
    ]


def _catalogue(tenant: Tenant) -> _Catalogue:
    rng = random.Random(SEED)  # noqa: S311 - a reproducible benchmark, not security
    kinds = ("CASE", "CABLE", "MUG", "LAMP", "BAG", "SOCK", "BOTTLE", "STAND", "PEN", "TOWEL")
    products = Product.objects.bulk_create(
        [
            Product(tenant=tenant, sku=f"{kinds[n % len(kinds)]}-{n:04d}", name=f"{kinds[n % len(kinds)].title()} {n}")
            for n in range(PRODUCTS)
        ]
    )
    weights = [1.0 / (rank + 5) for rank in range(PRODUCTS)]  # a long tail: a few products sell most
    rng.shuffle(weights)
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    price = [rng.randrange(599, 8999) for _ in range(PRODUCTS)]
    return _Catalogue(
        products=products,
        cumulative=cumulative,
        price=price,
        cost=[cents * rng.randrange(20, 46) // 100 for cents in price],
        fba_fee=[rng.randrange(306, 720) for _ in range(PRODUCTS)],
        refund_share=[rng.uniform(0.01, 2 * REFUNDED_SHARE - 0.01) for _ in range(PRODUCTS)],
    )


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class _Rates:
    """The rate of each currency to USD on each day: a level that moves a little from day to day."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, date], Decimal] = {}

    def rate(self, currency: str, day: date) -> Decimal:
        key = (currency, day)
        if key not in self._found:
            drift = Decimal(day.toordinal() % 41 - 20) / 1000  # within ±2 %
            self._found[key] = (USD_PER_UNIT[currency] * (1 + drift)).quantize(RATE_QUANTUM)
        return self._found[key]


class _Writer:
    """Turns figures in cents into fact rows and writes them in chunks (COPY / executemany)."""

    def __init__(self, tenant: Tenant, fill: _Fill) -> None:
        self.tenant = tenant
        self.fill = fill
        self.loader = TableLoader(ProfitFact, with_pk=False)
        self.rates = _Rates()
        self.now = timezone.now()
        self.rows: list[dict[str, Any]] = []
        self.keys = 0

    def add(
        self,
        *,
        kind: str,
        day: date,
        currency: str,
        figures: dict[str, int],
        settled: bool,
        **rest: Any,
    ) -> None:
        rate = self.rates.rate(currency, day)
        net = sum(cents for name, cents in figures.items() if name != "tax")
        self.keys += 1
        self.fill.estimated += not settled
        self.rows.append(
            {
                "tenant_id": self.tenant.pk,
                "key": f"{kind}:bench-{self.keys}",
                "kind": kind,
                "day": day,
                "settled": settled,
                "currency": currency,
                "net_amount": (_money(net) / rate).quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP),
                "reporting_currency": self.tenant.reporting_currency,
                "rate": rate,
                "rate_date": day,
                "rate_source": RATE_SOURCE,
                "updated_at": self.now,
                "net": _money(net),
                **{name: _money(cents) for name, cents in figures.items() if cents},
                **rest,
            }
        )

    def flush(self) -> None:
        if self.rows:
            with transaction.atomic():
                self.loader.insert(self.rows)
            self.rows = []


def _settled(rng: random.Random, day: date, today: date) -> bool:
    if (today - day).days < RECENT_DAYS:
        return rng.random() < 0.1
    return rng.random() >= OLD_ESTIMATED_SHARE


def _fill(tenant: Tenant, stores: list[Store], catalogue: _Catalogue, count: int, today: date) -> _Fill:
    """`count` sale facts (and their refunds), then the costs of no order; written CHUNK rows at a time."""
    rng = random.Random(SEED + 1)  # noqa: S311 - a reproducible benchmark, not security
    fill = _Fill()
    writer = _Writer(tenant, fill)
    weights = [spec.share for spec in STORES]
    begin = time.perf_counter()
    for _index in range(count):
        position = rng.choices(range(len(STORES)), weights=weights)[0]
        _sale(rng, writer, stores[position], STORES[position], catalogue, today)
        if len(writer.rows) >= CHUNK:
            writer.flush()
    _costs(rng, writer, stores, catalogue, today)
    writer.flush()
    fill.seconds = time.perf_counter() - begin
    return fill


def _sale(
    rng: random.Random, writer: _Writer, store: Store, spec: _StoreSpec, catalogue: _Catalogue, today: date
) -> None:
    """One order line's sale fact, and its refund fact when it was refunded (by today)."""
    fill = writer.fill
    amazon = spec.platform == Platform.AMAZON
    if amazon:
        marketplace = rng.choices(spec.marketplaces, weights=[4] + [1] * (len(spec.marketplaces) - 1))[0]
        country, currency = MARKETPLACE[marketplace]
        fba = rng.random() < 0.6
    else:
        marketplace, country, currency, fba = "", rng.choice(spec.countries), spec.currency, False
    pick = rng.choices(range(PRODUCTS), cum_weights=catalogue.cumulative)[0]
    quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
    day = today - timedelta(days=min(HISTORY_DAYS - 1, int(HISTORY_DAYS * rng.random() ** 1.15)))
    product = catalogue.products[pick]
    unmapped = rng.random() < UNMAPPED_SHARE
    cost_missing = rng.random() < COST_MISSING_SHARE
    sales = catalogue.price[pick] * quantity
    shipping = 0 if amazon or rng.random() < 0.5 else 499
    promotions = -(sales * rng.choice((5, 10, 15, 20)) // 100) if rng.random() < 0.15 else 0
    referral = -(sales * 15 // 100) if amazon else -(sales * 29 // 1000 + 30)
    cogs = 0 if cost_missing else -catalogue.cost[pick] * quantity
    tax = (sales + shipping + promotions) * VAT_PERCENT.get(country, 0) // 100
    figures = {
        "sales": sales,
        "shipping": shipping,
        "promotions": promotions,
        "referral_fees": referral,
        "fba_fees": -catalogue.fba_fee[pick] * quantity if fba else 0,
        "other_fees": -99 if amazon and rng.random() < 0.05 else 0,
        "cogs": cogs,
        "fulfilment": 0 if fba else -(250 + 60 * quantity),
        "tax": tax,
    }
    where = {
        "store_id": store.pk,
        "marketplace": marketplace,
        "country": country,
        "product_id": None if unmapped else product.pk,
        "sku": f"UNMAPPED-{pick % 40:02d}" if unmapped else product.sku,
        "cost_missing": cost_missing,
    }
    writer.add(
        kind=FactKind.SALE,
        day=day,
        currency=currency,
        figures=figures,
        settled=_settled(rng, day, today),
        units=quantity,
        **where,
    )
    fill.sales += 1
    fill.unmapped += unmapped
    fill.cost_missing += cost_missing
    if rng.random() >= catalogue.refund_share[pick]:
        return
    refunded = day + timedelta(days=rng.randrange(3, 41))
    if refunded > today:
        return
    # Amazon gives the referral fee back less its refund commission (20 %, at most $5); web shops keep theirs.
    returned = -referral - min(500, -referral * 20 // 100) if amazon else 0
    sellable = rng.random() < 0.6
    writer.add(
        kind=FactKind.REFUND,
        day=refunded,
        currency=currency,
        figures={
            "refunds": -(sales + shipping + promotions),
            "referral_fees": returned,
            "cogs": -cogs if sellable else 0,
            "tax": -tax,
        },
        settled=_settled(rng, refunded, today),
        units_refunded=quantity,
        **where,
    )
    fill.refunds += 1


def _costs(rng: random.Random, writer: _Writer, stores: list[Store], catalogue: _Catalogue, today: date) -> None:
    """Advertising per product and day (Amazon and Shopify), storage per Amazon store and month, and the
    software subscription of the whole company each month."""
    for offset in range(HISTORY_DAYS):
        day = today - timedelta(days=offset)
        for store, spec in zip(stores, STORES, strict=True):
            if spec.platform == Platform.WOOCOMMERCE:
                continue
            marketplace = spec.marketplaces[0] if spec.marketplaces else ""
            currency = MARKETPLACE[marketplace][1] if marketplace else spec.currency
            for _ad in range(ADS_PER_STORE_DAY):
                pick = rng.choices(range(PRODUCTS), cum_weights=catalogue.cumulative)[0]
                writer.add(
                    kind=FactKind.COST,
                    day=day,
                    currency=currency,
                    figures={"advertising": -rng.randrange(500, 8000)},
                    settled=True,
                    store_id=store.pk,
                    marketplace=marketplace,
                    product_id=catalogue.products[pick].pk,
                    sku=catalogue.products[pick].sku,
                )
                writer.fill.costs += 1
            if spec.platform == Platform.AMAZON and day.day == 7:
                writer.add(
                    kind=FactKind.COST,
                    day=day,
                    currency=currency,
                    figures={"storage": -rng.randrange(20_000, 90_000)},
                    settled=True,
                    store_id=store.pk,
                    marketplace=marketplace,
                )
                writer.fill.costs += 1
        if day.day == 1:
            writer.add(kind=FactKind.COST, day=day, currency="USD", figures={"other_costs": -3999}, settled=True)
            writer.fill.costs += 1


def _analyze(models_: list[Any]) -> str:
    tables = [model._meta.db_table for model in models_]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            for table in tables:
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")
            return f"VACUUM (ANALYZE) {', '.join(tables)}"
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        return f"ANALYZE {', '.join(tables)}"


# --- the raw baseline: straight from the facts --------------------------------------------------------------


def _raw_sums() -> str:
    quote = connection.ops.quote_name
    money = ", ".join(f"SUM({quote(name)}) AS {quote(name)}" for name in MONEY)
    return (
        f"{money}, SUM(units) AS units, SUM(units_refunded) AS units_refunded, COUNT(*) AS facts,"
        " SUM(CASE WHEN settled THEN 0 ELSE 1 END) AS estimated,"
        " SUM(CASE WHEN cost_missing THEN 1 ELSE 0 END) AS cost_missing"
    )


_WINDOW = "tenant_id = %(tenant)s AND reporting_currency = %(currency)s AND day >= %(start)s AND day <= %(end)s"


def _raw_sql(what: str) -> str:
    """One aggregate over the facts of [%(start)s, %(end)s]: per product or channel SKU, store, country or day,
    or all of them (`totals`)."""
    quote = connection.ops.quote_name
    fact, product, store = (quote(model._meta.db_table) for model in (ProfitFact, Product, Store))
    sums = _raw_sums()
    if what == "sku":
        return f"""
            SELECT g.*, p.sku AS product_sku, p.name AS product_name FROM (
                SELECT product_id, CASE WHEN product_id IS NULL THEN sku ELSE '' END AS sku_key, {sums}
                FROM {fact} WHERE {_WINDOW}
                GROUP BY product_id, CASE WHEN product_id IS NULL THEN sku ELSE '' END
            ) g LEFT JOIN {product} p ON p.id = g.product_id
        """  # noqa: S608 - model table names and fixed fragments; values are parameters
    if what == "store":
        return f"""
            SELECT g.*, s.name AS store_name FROM (
                SELECT store_id, {sums} FROM {fact} WHERE {_WINDOW} GROUP BY store_id
            ) g LEFT JOIN {store} s ON s.id = g.store_id
        """  # noqa: S608
    if what == "country":
        return f"SELECT country, {sums} FROM {fact} WHERE {_WINDOW} GROUP BY country"  # noqa: S608
    if what == "totals":
        return f"SELECT {sums} FROM {fact} WHERE {_WINDOW}"  # noqa: S608
    return (
        f"SELECT day, SUM(sales) AS sales, SUM(shipping) AS shipping, SUM(net) AS net"  # noqa: S608
        f" FROM {fact} WHERE {_WINDOW} GROUP BY day"
    )


def _raw(tenant: Tenant, period: Period, what: str) -> Callable[[], Any]:
    sql = _raw_sql(what)
    params: dict[str, Any] = {
        "tenant": tenant.pk,
        "currency": tenant.reporting_currency,
        "start": period.start,
        "end": period.end,
    }

    def query() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if what == "sku":
            return {
                row["product_id"]
                if row["product_id"] is not None
                else (f"sku:{row['sku_key']}" if row["sku_key"] else "none"): _figures(row)
                for row in rows
            }
        if what == "store":
            return {row["store_id"]: _figures(row) for row in rows}
        if what == "country":
            return {row["country"]: _figures(row) for row in rows}
        if what == "totals":
            return _figures(rows[0])
        found = {_day(row["day"]): row for row in rows}
        trend = []
        for offset in range(period.days):
            day = period.start + timedelta(days=offset)
            row = found.get(day, {})
            revenue = _exact(row.get("sales")) + _exact(row.get("shipping"))
            trend.append((day, revenue, _exact(row.get("net"))))
        return trend

    return query


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _exact(value: Any) -> Decimal:
    """A sum as an exact Decimal to 4 places (SQLite sums decimals as floating point; PostgreSQL exactly)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.0001"))


def _figures(values: dict[str, Any]) -> tuple[Any, ...]:
    return (*(_exact(values.get(name)) for name in MONEY), *(int(values.get(name) or 0) for name in COUNTS))


def _breakdown_answer(rows: list[BreakdownRow]) -> dict[Any, tuple[Any, ...]]:
    return {row.key: _figures(row.totals.values) for row in rows}


def _totals_answer(totals: Totals) -> tuple[Any, ...]:
    return _figures(totals.values)


def _trend_answer(days: list[dict[str, Any]]) -> list[tuple[date, Decimal, Decimal]]:
    return [(row["day"], _exact(row["revenue"]), _exact(row["net"])) for row in days]


# --- measuring ------------------------------------------------------------------------------------------


@dataclass
class _Case:
    call: Callable[[], Any]
    answer_of: Callable[[Any], Any] | None = None  # the selector's result in the raw aggregate's shape
    baseline: bool = False
    times: list[float] = field(default_factory=list)  # milliseconds
    queries: list[int] = field(default_factory=list)
    rows: int = 0
    answer: Any = None
    last_slowest: tuple[str, Any] | None = None

    def measure(self) -> None:
        warmups, runs = (BASELINE_WARMUPS, BASELINE_RUNS) if self.baseline else (WARMUPS, RUNS)
        for attempt in range(warmups + runs):
            log = StatementLog()
            begin = time.perf_counter()
            with connection.execute_wrapper(log):
                result = self.call()
            elapsed = (time.perf_counter() - begin) * 1000
            if attempt >= warmups:
                self.times.append(elapsed)
                self.queries.append(log.count)
                self.last_slowest = log.slowest
        self.answer = result if self.answer_of is None else self.answer_of(result)
        self.rows = len(self.answer) if isinstance(self.answer, dict | list) else 1

    def figures(self) -> dict[str, Any]:
        return {
            "p50_ms": round(percentile(self.times, 0.5), 2),
            "p95_ms": round(percentile(self.times, 0.95), 2),
            "max_ms": round(max(self.times), 2),
            "queries": max(self.queries),
            "rows": self.rows,
            "baseline": self.baseline,
        }

    def difference(self, raw: _Case) -> str:
        """'' when both answers are equal; else what differs first."""
        if self.answer == raw.answer:
            return ""
        if isinstance(self.answer, dict) and isinstance(raw.answer, dict):
            keys = sorted(set(self.answer) ^ set(raw.answer), key=str)
            if keys:
                return f"groups on one side only: {keys[:5]}"
            key = next(key for key in self.answer if self.answer[key] != raw.answer[key])
            return f"group {key!r}: rollup {self.answer[key]} raw {raw.answer[key]}"
        return f"rollup {str(self.answer)[:300]} raw {str(raw.answer)[:300]}"

    def explain(self) -> dict[str, Any] | None:
        if self.last_slowest is None:
            return None
        sql, params = self.last_slowest
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = [" ".join(str(part) for part in row) for row in cursor.fetchall()]
        return {"sql": sql, "params": [str(param) for param in params or ()], "plan": plan}


def _cases(tenant: Tenant, today: date) -> dict[str, _Case]:
    cases: dict[str, _Case] = {}
    for window in WINDOWS:
        period = Period.last(window, today=today)
        for by in BREAKDOWNS:
            name = f"by_{by}_{window}d"
            cases[name] = _Case(partial(profit_breakdown, tenant=tenant, period=period, by=by), _breakdown_answer)
            cases[f"{name}_raw"] = _Case(_raw(tenant, period, by), baseline=True)
        cases[f"totals_{window}d"] = _Case(partial(profit_totals, tenant=tenant, period=period), _totals_answer)
        cases[f"totals_{window}d_raw"] = _Case(_raw(tenant, period, "totals"), baseline=True)
        cases[f"trend_{window}d"] = _Case(partial(profit_trend, tenant=tenant, period=period), _trend_answer)
        cases[f"trend_{window}d_raw"] = _Case(_raw(tenant, period, "trend"), baseline=True)
    for case in cases.values():
        case.measure()
    return cases


BENCHMARK = Benchmark(
    name="profit",
    summary="p50 / p95 of the profit tables (by SKU, store, country), totals and trend over a million order "
    "lines, against raw aggregates over the facts.",
    default_scale=DEFAULT_SCALE[TARGET_DATABASE],
    run=run,
)

"""`manage.py bench refund_rate --json [--scale N]`: p50 / p95 of the refund-rate queries (refunds.rates) over
a million order lines, against the same figures computed straight from order and refund lines.

The target is PostgreSQL with 1,000,000 order lines (the default there); SQLite defaults to 20,000.

Fill: a throwaway tenant (slug `bench-refund_rate-…`, deleted afterwards) gets 500 master SKUs, three stores
(Amazon NA selling by channel SKU, one SKU in ten as a 2-pack; a Shopify shop mapped by the channel's product
id; a WooCommerce site selling under the master SKUs, unmapped) and `--scale` orders of one line each over
the last year (popularity skewed: a few SKUs sell most), 5 % cancelled, written by PostgreSQL COPY (executemany
INSERT on SQLite). About 8 % of the other lines are refunded, 3 to 40 days after the purchase (never after
now), every SKU at its own rate (1 % to 20 %): SUCCEEDED channel refunds with one line each, the product
resolved as the ingest does. Then `VACUUM (ANALYZE)` (or ANALYZE), the rollup rebuilt from scratch through
`refunds.rates.rollup_rebuild_tenant` (timed: `rollup`) and analysed.

Measure, 3 warm-ups then 30 timed runs each: `refund_rates` for windows 30 and 90 by refund date and by order
date, 30 days for one store, and `refund_rate_trend` (90 days of a 30-day rate) of the best seller. Baseline,
in the same run (1 warm-up and 5 runs: it takes seconds a query): the same figures straight from order lines
and refund lines — one SQL aggregate per case, resolving SKU mappings the same way, no rollup. `ratio` = the
slowest rollup case's p95 / the slowest baseline case's p95; `figures_match` says whether both gave the same
numbers. Target: every rollup case's p95 under 200 ms at a million lines; `slow_cases` names any that is not,
with its plan in `explain`.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

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
    reserve_ids,
)
from channels.models import Platform, Region, Store, StoreStatus
from inventory.models import Product, SkuMapping
from orders.models import FulfillmentChannel, Order, OrderLine, OrderStatus
from refunds.models import Refund, RefundLine, RefundOrigin, RefundRateDaily, RefundSource, RefundStatus
from refunds.rates import ORDER_DATE, REFUND_DATE, refund_rate_trend, refund_rates, rollup_rebuild_tenant

SEED = 29
TARGET_DATABASE = "postgresql"
DEFAULT_SCALE = {"postgresql": 1_000_000}
OTHER_DEFAULT_SCALE = 20_000
CHUNK = 100_000
WARMUPS = 3
RUNS = 30
# The raw baseline takes seconds a query at a million lines: fewer runs (its p95 is then its slowest run).
BASELINE_WARMUPS, BASELINE_RUNS = 1, 5
SLOW_MS = 200.0
SKUS = 500
HISTORY_DAYS = 365
CANCELLED_SHARE = 0.05
REFUNDED_SHARE = 0.08  # of the lines not cancelled, on average over the SKUs
TREND_DAYS, TREND_WINDOW = 90, 30


@dataclass(frozen=True)
class _StoreSpec:
    name: str
    platform: str
    region: str
    share: int
    currency: str


STORES = (
    _StoreSpec("Amazon NA", Platform.AMAZON, Region.NA, 55, "USD"),
    _StoreSpec("Shopify Outfitters", Platform.SHOPIFY, "", 30, "USD"),
    _StoreSpec("WooCommerce DE", Platform.WOOCOMMERCE, "", 15, "EUR"),
)


@dataclass
class _Catalogue:
    products: list[Product]
    weights: list[float]  # popularity
    refund_share: list[float]  # per product
    # per store: product index → (channel sku, channel product id, multiplier)
    listings: dict[int, list[tuple[str, str, int]]]


@dataclass
class _Fill:
    lines: int = 0
    cancelled: int = 0
    refunds: int = 0
    seconds: float = 0.0


def run(options: BenchOptions) -> dict[str, Any]:
    vendor = connection.vendor
    count = max(1, options.scale or DEFAULT_SCALE.get(vendor, OTHER_DEFAULT_SCALE))
    today = timezone.now().astimezone(UTC).date()
    tenant = bench_tenant("refund_rate")
    try:
        with tenant_scope(tenant):
            stores = _stores(tenant)
            catalogue = _catalogue(tenant, stores)
            fill = _fill(tenant, stores, catalogue, count)
        analyze = _analyze([Order, OrderLine, Refund, RefundLine])
        begin = time.perf_counter()
        rebuilt = rollup_rebuild_tenant(tenant=tenant, today=today)
        rollup_seconds = time.perf_counter() - begin
        _analyze([RefundRateDaily])
        with tenant_scope(tenant):
            rollup_rows = RefundRateDaily.objects.filter(tenant=tenant).count()
            best = _best_seller(tenant, today)
            cases = _cases(tenant, stores, best, today)
            results = {name: case.figures() for name, case in cases.items()}
            slow = sorted(
                name for name, case in cases.items() if not case.baseline and percentile(case.times, 0.95) > SLOW_MS
            )
            explain = {name: cases[name].explain() for name in slow}
            matches = {
                name[: -len("_raw")]: cases[name].answer == cases[name[: -len("_raw")]].answer
                for name in cases
                if name.endswith("_raw")
            }
    finally:
        dangerously_delete_bench_tenant(tenant)
        _analyze([Order, OrderLine, Refund, RefundLine, RefundRateDaily])
    rollup_p95 = max(percentile(case.times, 0.95) for case in cases.values() if not case.baseline)
    raw_p95 = max(percentile(case.times, 0.95) for case in cases.values() if case.baseline)
    return {
        "benchmark": "refund_rate",
        **database_figures(),
        "target": f"{TARGET_DATABASE} with 1,000,000 order lines, p95 < {SLOW_MS:.0f} ms"
        + ("" if vendor == TARGET_DATABASE else f" (this run: {vendor}, {count:,} lines)"),
        "scale": count,
        "lines": fill.lines,
        "cancelled_lines": fill.cancelled,
        "refunds": fill.refunds,
        "skus": SKUS,
        "stores": len(stores),
        "fill": {"method": bulk_method(), "seconds": round(fill.seconds, 1), "analyze": analyze},
        "rollup": {
            "seconds": round(rollup_seconds, 2),
            "rows": rollup_rows,
            "unmapped_sold_units": rebuilt.unmapped_sold_units,
            "unmapped_refunded_units": rebuilt.unmapped_refunded_units,
            "how": "refunds.rates.rollup_rebuild_tenant: store by store, 31 days per transaction",
        },
        "runs_per_case": RUNS,
        "warmups": WARMUPS,
        "baseline_runs_per_case": BASELINE_RUNS,
        "cases": results,
        "rollup_p95_ms": round(rollup_p95, 2),
        "baseline_p95_ms": round(raw_p95, 2),
        "ratio": round(rollup_p95 / max(raw_p95, 1e-9), 4),
        "figures_match": all(matches.values()),
        "figures_match_by_case": matches,
        "slow_cases": slow,
        "slow_threshold_ms": SLOW_MS,
        "explain": explain or None,
    }


# --- the throwaway tenant's catalogue, orders and refunds -----------------------------------------------


def _stores(tenant: Tenant) -> list[Store]:
    return [
        Store.objects.create(
            tenant=tenant,
            platform=spec.platform,
            name=spec.name,
            region=spec.region,
            marketplaces=["US"] if spec.platform == Platform.AMAZON else [],
            seller_id=f"BENCH{index}",
            status=StoreStatus.DISABLED,  # no credentials; nothing syncs it
        )
        for index, spec in enumerate(STORES)
    ]


def _catalogue(tenant: Tenant, stores: list[Store]) -> _Catalogue:
    rng = random.Random(SEED)  # noqa: S311 - a reproducible benchmark, not security
    kinds = ("CASE", "CABLE", "MUG", "LAMP", "BAG", "SOCK", "BOTTLE", "STAND", "PEN", "TOWEL")
    products = Product.objects.bulk_create(
        [
            Product(tenant=tenant, sku=f"{kinds[n % len(kinds)]}-{n:04d}", name=f"{kinds[n % len(kinds)].title()} {n}")
            for n in range(SKUS)
        ]
    )
    weights = [1.0 / (rank + 5) for rank in range(SKUS)]  # a long tail: a few SKUs sell most
    rng.shuffle(weights)
    refund_share = [min(0.2, max(0.01, rng.gauss(REFUNDED_SHARE, 0.04))) for _ in range(SKUS)]
    listings: dict[int, list[tuple[str, str, int]]] = {}
    mappings = []
    for store, spec in zip(stores, STORES, strict=True):
        rows = []
        for n, product in enumerate(products):
            if spec.platform == Platform.AMAZON:
                multiplier = 2 if n % 10 == 0 else 1
                sku = f"AMZ-{product.sku}" + ("-2PK" if multiplier == 2 else "")
                rows.append((sku, "", multiplier))
                mappings.append(
                    SkuMapping(
                        tenant=tenant, store=store, channel_sku=sku, product=product, quantity_multiplier=multiplier
                    )
                )
            elif spec.platform == Platform.SHOPIFY:
                rows.append((f"shop-{n}", f"gid://shopify/ProductVariant/{40_000_000 + n}", 1))
                mappings.append(SkuMapping(tenant=tenant, store=store, channel_product_id=rows[-1][1], product=product))
            else:
                rows.append((product.sku, str(700 + n), 1))  # the master SKU itself: no mapping needed
        listings[store.pk] = rows
    SkuMapping.objects.bulk_create(mappings)
    return _Catalogue(products=products, weights=weights, refund_share=refund_share, listings=listings)


def _fill(tenant: Tenant, stores: list[Store], catalogue: _Catalogue, count: int) -> _Fill:
    """`count` orders of one line each over the last year, and their refunds, chunk by chunk."""
    rng = random.Random(SEED + 1)  # noqa: S311 - a reproducible benchmark, not security
    now = timezone.now().replace(microsecond=0)
    fill = _Fill()
    loaders = [TableLoader(model) for model in (Order, OrderLine, Refund)]
    refund_line_loader = TableLoader(RefundLine, with_pk=False)
    store_weights = [spec.share for spec in STORES]
    product_indexes = range(SKUS)
    begin = time.perf_counter()
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        with transaction.atomic():
            order_ids, line_ids = reserve_ids(Order, size), reserve_ids(OrderLine, size)
            positions = rng.choices(range(len(STORES)), weights=store_weights, k=size)
            picks = rng.choices(product_indexes, weights=catalogue.weights, k=size)
            orders, lines, refunds, refund_lines = [], [], [], []
            for offset in range(size):
                index = start + offset
                store, spec, pick = stores[positions[offset]], STORES[positions[offset]], picks[offset]
                sku, product_id_text, _multiplier = catalogue.listings[store.pk][pick]
                purchased = now - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
                cancelled = rng.random() < CANCELLED_SHARE
                quantity = rng.choices((1, 2, 3), weights=(85, 12, 3))[0]
                price = Decimal(rng.randrange(599, 8999)) / 100
                external_id = f"BR-{index:09d}"
                status = OrderStatus.CANCELLED if cancelled else OrderStatus.SHIPPED
                orders.append(
                    {
                        "id": order_ids[offset],
                        "tenant_id": tenant.pk,
                        "store_id": store.pk,
                        "external_id": external_id,
                        "purchased_at": purchased,
                        "channel_updated_at": purchased,
                        "status": status,
                        "raw_status": status.upper(),
                        "fulfillment_channel": FulfillmentChannel.MERCHANT,
                        "currency": spec.currency,
                        "item_amount": price * quantity,
                        "total_amount": price * quantity,
                        "first_seen_at": purchased,
                        "synced_at": purchased,
                    }
                )
                lines.append(
                    {
                        "id": line_ids[offset],
                        "tenant_id": tenant.pk,
                        "order_id": order_ids[offset],
                        "external_id": f"{index:012d}",
                        "sku": sku,
                        "channel_product_id": product_id_text,
                        "title": "Benchmark product",
                        "quantity": quantity,
                        "currency": spec.currency,
                        "unit_price_amount": price,
                        "item_amount": price * quantity,
                    }
                )
                fill.cancelled += cancelled
                if cancelled or rng.random() >= catalogue.refund_share[pick]:
                    continue
                refunded_at = min(now, purchased + timedelta(days=rng.uniform(3, 40)))
                amount = price * quantity
                refunds.append(
                    {
                        "tenant_id": tenant.pk,
                        "store_id": store.pk,
                        "order_id": order_ids[offset],
                        "order_external_id": external_id,
                        "external_id": f"RF-{index:09d}",
                        "dedupe_key": f"RF-{index:09d}",
                        "sources": [RefundSource.SHOPIFY],
                        "origin": RefundOrigin.CHANNEL,
                        "status": RefundStatus.SUCCEEDED,
                        "currency": spec.currency,
                        "amount": amount,
                        "net_amount": -amount,
                        "principal_amount": -amount,
                        "refunded_at": refunded_at,
                        "idempotency_key": _uuid(rng),
                        "created_at": refunded_at,
                        "updated_at": refunded_at,
                    }
                )
                refund_lines.append(
                    {
                        "tenant_id": tenant.pk,
                        "order_line_id": line_ids[offset],
                        "order_item_id": f"{index:012d}",
                        "sku": sku,
                        "product_id": catalogue.products[pick].pk,
                        "quantity": quantity,
                        "amount": amount,
                        "principal_amount": -amount,
                    }
                )
            refund_ids = reserve_ids(Refund, len(refunds))
            for refund, refund_line, refund_id in zip(refunds, refund_lines, refund_ids, strict=True):
                refund["id"] = refund_line["refund_id"] = refund_id
            fill.lines += loaders[1].insert(lines) if loaders[0].insert(orders) else 0
            fill.refunds += loaders[2].insert(refunds)
            refund_line_loader.insert(refund_lines)
    fill.seconds = time.perf_counter() - begin
    return fill


def _uuid(rng: random.Random) -> Any:
    """A reproducible UUID, as the database takes it (PostgreSQL COPY a uuid, SQLite the 32 hex digits)."""
    value = uuid.UUID(int=rng.getrandbits(128))
    return value if connection.vendor == "postgresql" else value.hex


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


def _best_seller(tenant: Tenant, today: date) -> int:
    rates = refund_rates(tenant=tenant, window_days=90, today=today)
    return max(rates, key=lambda rate: rate.units_sold).product_id if rates else 0


# --- the raw baseline: straight from order lines and refund lines -----------------------------------------


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "order": quote(Order._meta.db_table),
        "line": quote(OrderLine._meta.db_table),
        "refund": quote(Refund._meta.db_table),
        "rline": quote(RefundLine._meta.db_table),
        "mapping": quote(SkuMapping._meta.db_table),
        "product": quote(Product._meta.db_table),
    }


_LOOKUP = (
    "(SELECT m.{col} FROM {mapping} m WHERE m.store_id = o.store_id AND m.{key} = {value} AND m.{key} <> '' LIMIT 1)"
)
_MASTER = "(SELECT p.id FROM {product} p WHERE p.tenant_id = o.tenant_id AND p.sku = {alias}.sku AND p.active)"


def _resolve_sql(alias: str, product_id_sql: str) -> tuple[str, str]:
    """The master product and multiplier of a channel line `alias` (sku) in store `o` — as mapping_resolve."""
    tables = _tables()

    def lookup(col: str, key: str, value: str) -> str:
        return _LOOKUP.format(col=col, mapping=tables["mapping"], key=key, value=value)

    master = _MASTER.format(product=tables["product"], alias=alias)
    sku = f"{alias}.sku"
    product = ", ".join(
        (lookup("product_id", "channel_product_id", product_id_sql), lookup("product_id", "channel_sku", sku), master)
    )
    multiplier = ", ".join(
        (
            lookup("quantity_multiplier", "channel_product_id", product_id_sql),
            lookup("quantity_multiplier", "channel_sku", sku),
            "1",
        )
    )
    return f"COALESCE({product})", f"COALESCE({multiplier})"


def _day_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"date({column})"


def _raw_sql(*, basis: str, by_day: bool, store_id: int | None, product_id: int | None) -> str:
    """One aggregate: units sold and refunded per product (or per day of one product) in [%(start)s, %(end)s)."""
    sold_product, sold_mult = _resolve_sql("l", "l.channel_product_id")
    refund_product, refund_mult = _resolve_sql("rl", "COALESCE(ol.channel_product_id, '')")
    refund_product = f"COALESCE(rl.product_id, {refund_product})"
    refund_moment = "r.refunded_at" if basis == REFUND_DATE else "o.purchased_at"
    store_sql = " AND o.store_id = %(store)s" if store_id is not None else ""
    sold_cols = f"{sold_product} AS product"
    refund_cols = f"{refund_product} AS product"
    if by_day:
        sold_cols += f", {_day_sql('o.purchased_at')} AS day"
        refund_cols += f", {_day_sql(refund_moment)} AS day"
    group = "day" if by_day else "product"
    only = " WHERE product = %(product)s" if product_id is not None else ""
    sql = f"""
        SELECT {group}, SUM(sold), SUM(refunded) FROM (
            SELECT {sold_cols},
                   l.quantity * {sold_mult} AS sold, 0 AS refunded
            FROM {{line}} l JOIN {{order}} o ON o.id = l.order_id
            WHERE o.tenant_id = %(tenant)s AND o.purchased_at >= %(start)s AND o.purchased_at < %(end)s
              AND o.status <> 'cancelled'{store_sql}
            UNION ALL
            SELECT {refund_cols},
                   0 AS sold, rl.quantity * {refund_mult} AS refunded
            FROM {{rline}} rl JOIN {{refund}} r ON r.id = rl.refund_id
                 JOIN {{order}} o ON o.id = r.order_id
                 LEFT JOIN {{line}} ol ON ol.id = rl.order_line_id
            WHERE r.tenant_id = %(tenant)s AND r.status = 'succeeded' AND o.status <> 'cancelled'
              AND {refund_moment} >= %(start)s AND {refund_moment} < %(end)s{store_sql}
        ) units{only}
        GROUP BY {group} HAVING SUM(sold) > 0 OR SUM(refunded) > 0
    """  # noqa: S608 - model table names and fixed fragments; values are parameters
    return sql.format(**_tables())


def _raw(
    tenant: Tenant, start: date, end: date, *, basis: str, store_id: int | None = None, product_id: int | None = None
) -> Callable[[], Any]:
    by_day = product_id is not None
    sql = _raw_sql(basis=basis, by_day=by_day, store_id=store_id, product_id=product_id)
    params: dict[str, Any] = {
        "tenant": tenant.pk,
        "start": datetime.combine(start, datetime.min.time(), tzinfo=UTC),
        "end": datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
        "store": store_id,
        "product": product_id,
    }

    def query() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if by_day:
            return {(date.fromisoformat(str(day)[:10])): (int(sold), int(refunded)) for day, sold, refunded in rows}
        return sorted((int(product), int(sold), int(refunded)) for product, sold, refunded in rows)

    return query


# --- measuring ------------------------------------------------------------------------------------------


@dataclass
class _Case:
    call: Callable[[], Any]
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
        self.rows = len(result)
        self.answer = _comparable(result)

    def figures(self) -> dict[str, Any]:
        return {
            "p50_ms": round(percentile(self.times, 0.5), 2),
            "p95_ms": round(percentile(self.times, 0.95), 2),
            "max_ms": round(max(self.times), 2),
            "queries": max(self.queries),
            "rows": self.rows,
            "baseline": self.baseline,
        }

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
        return {"sql": sql, "plan": plan}


def _comparable(result: Any) -> Any:
    """Rates as (product, sold, refunded), trends as day → (sold, refunded) — what both sides can give."""
    if isinstance(result, list) and result and isinstance(result[0], tuple) and isinstance(result[0][0], date):
        return [(day, str(rate)) for day, rate in result]
    if isinstance(result, list) and result and hasattr(result[0], "units_sold"):
        return sorted((rate.product_id, rate.units_sold, rate.units_refunded) for rate in result)
    return result


def _trend_from_daily(daily: dict[date, tuple[int, int]], today: date) -> list[tuple[date, str]]:
    """The raw baseline's daily sums turned into the same rolling rates as refund_rate_trend."""
    first = today - timedelta(days=TREND_DAYS - 1)
    trend = []
    for n in range(TREND_DAYS):
        day = first + timedelta(days=n)
        window = [daily.get(day - timedelta(days=k), (0, 0)) for k in range(TREND_WINDOW)]
        sold, refunded = sum(w[0] for w in window), sum(w[1] for w in window)
        rate = None if not sold else (Decimal(100) * refunded / sold).quantize(Decimal("0.01"))
        trend.append((day, str(rate)))
    return trend


def _cases(tenant: Tenant, stores: list[Store], best: int, today: date) -> dict[str, _Case]:
    cases: dict[str, _Case] = {}
    for window in (30, 90):
        for basis in (REFUND_DATE, ORDER_DATE):
            name = f"rates_{window}d_{basis}"
            cases[name] = _Case(partial(refund_rates, tenant=tenant, window_days=window, basis=basis, today=today))
            cases[f"{name}_raw"] = _Case(
                _raw(tenant, today - timedelta(days=window - 1), today, basis=basis), baseline=True
            )
    store = stores[0]
    cases["rates_30d_one_store"] = _Case(
        lambda: refund_rates(tenant=tenant, window_days=30, store_id=store.pk, today=today)
    )
    cases["rates_30d_one_store_raw"] = _Case(
        _raw(tenant, today - timedelta(days=29), today, basis=REFUND_DATE, store_id=store.pk), baseline=True
    )
    cases["trend_90d_of_30d_rate"] = _Case(
        lambda: refund_rate_trend(
            tenant=tenant, product_id=best, window_days=TREND_WINDOW, days=TREND_DAYS, today=today
        )
    )
    daily = _raw(
        tenant,
        today - timedelta(days=TREND_DAYS + TREND_WINDOW - 2),
        today,
        basis=REFUND_DATE,
        product_id=best,
    )
    cases["trend_90d_of_30d_rate_raw"] = _Case(lambda: _trend_from_daily(daily(), today), baseline=True)
    for case in cases.values():
        case.measure()
    return cases


BENCHMARK = Benchmark(
    name="refund_rate",
    summary="p50 / p95 of the refund-rate queries (rollup) over a million order lines, against raw aggregates.",
    default_scale=DEFAULT_SCALE[TARGET_DATABASE],
    run=run,
)

"""`manage.py bench backfill --json`: a store's first sync of `--scale` orders (default 100,000) from Amazon —
the channel simulator over real HTTP, through ACORN's Amazon adapter (python-amazon-sp-api) and the sync
engine — with orders per second, statements per order, pages and the peak RSS of the process that syncs.

Amazon runs in a child process (`benchmarks.backfill_simulator`): a seeded `World` on a clock that stands
still, one North American seller (US, CA, MX) with `--scale` orders created over the last 60 days, served
over plain HTTP on 127.0.0.1 with no usage plan and no faults. It sends back its URL, the seller's refresh
token and its SKUs over a pipe, so that the orders the simulator holds do not count in this process's RSS.

A throwaway tenant (slug `bench-backfill-…`, inactive, deleted afterwards, also on failure) gets the seller's
store, connected as `connect_store --credentials` would connect it but written directly (the connect
services audit, and audit events are append-only), master products for the seller's SKUs mapped to most of
them (one SKU in six stays unmapped), stock in one own warehouse (one product in five short of it, so lines
backorder), and a pick-list fulfilment target with a catch-all rule: what the first sync meets in production.

Service: `channels.sync.sync_run_execute(store=…, resource="orders", trigger=command)`, as `manage.py
sync_store --resource orders` runs it, with ACORN_SYNC_INITIAL_DAYS covering the orders and
ACORN_RATE_LIMIT_SCALE at the simulator's pace, not Amazon's (both overridden for the run only). A run has a
time budget (ACORN_SYNC_TIME_BUDGET_SECONDS) and may end "partial"; the benchmark starts the next run at
once, as the continuation task would, until one ends caught up, and sums the runs' counts. Statements are
those of this thread's connection (the database cache's, when the rate limiter keeps its buckets there,
counted apart as well).

Peak RSS: the process's high-water mark (getrusage ru_maxrss) right after the sync, next to the resident
size just before it (target: ≤ 400 MB at 100,000 orders).

Baseline: the same window fetched page by page through the same adapter (HTTP, JSON, parse into
ExternalOrder), nothing persisted, no rate limiter: what HTTP and parsing cost alone. `ratio` = sync orders
per second / baseline orders per second: the share of the time that is not ACORN's ingest.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from acorn.devtools import simulator_required
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from benchmarks import Benchmark, BenchOptions
from benchmarks.support import StatementLog, bench_tenant, dangerously_delete_bench_tenant, database_figures
from channels.adapters.registry import adapter_for
from channels.models import (
    DataPermission,
    Platform,
    Region,
    Store,
    StoreCredential,
    StoreStatus,
    SyncRun,
    SyncRunStatus,
    SyncTrigger,
)
from channels.sync import sync_run_execute
from inventory.ledger import stock_move
from inventory.models import MovementKind, Product, SkuMapping, Warehouse
from orders.models import FulfillmentRoute, FulfillmentTarget, FulfillmentTargetKind, Order, OrderLine

# Amazon is the simulator (a development tool), run in a child process: `manage.py bench backfill` says how to
# install it where it is not. Imported here only to find that out early; the child imports it again.
with simulator_required("manage.py bench backfill"):
    import simulator.server  # noqa: F401

SEED = 17
HISTORY_DAYS = 60  # the orders' creation times span the last 60 days
MAX_RUNS = 1000  # a sync that never catches up is a failure, not an endless benchmark
RSS_TARGET_MB = 400
UNMAPPED_EVERY = 6  # one SKU in six has no mapping
SCARCE_EVERY = 5  # one product in five is short
CHILD_READY_TIMEOUT_SECONDS = 600
CHILD = "benchmarks.backfill_simulator"


@dataclass(frozen=True)
class _Seller:
    """What the simulator child says of the seller it serves."""

    url: str
    refresh_token: str
    selling_partner_id: str
    region: str
    marketplaces: list[str]
    skus: list[str]
    orders: int


class _SimulatorChild:
    """The simulator in a child process (a context manager): started with the orders, stopped on exit."""

    def __init__(self, *, orders: int, days: int, seed: int) -> None:
        self.arguments = ["--orders", str(orders), "--days", str(days), "--seed", str(seed)]
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> _Seller:
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module, numbers only
            [sys.executable, "-m", CHILD, *self.arguments],
            cwd=Path(settings.BASE_DIR),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the child builds the world first: seconds at 100,000 orders
        if not line:
            code = self.process.wait(timeout=CHILD_READY_TIMEOUT_SECONDS)
            raise RuntimeError(f"The simulator child ended (exit status {code}) before it served; see stderr.")
        return _Seller(**json.loads(line))

    def __exit__(self, *exc_info: object) -> None:
        process = self.process
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child serves until its standard input closes
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _rss_now_mb() -> float:
    """The resident set size now (Linux: /proc/self/status VmRSS); elsewhere the peak so far."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return _rss_peak_mb()


def _rss_peak_mb() -> float:
    """The process's peak resident set size so far, in MB (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


class _CountingLog(StatementLog):
    """StatementLog that also counts the statements of the database cache (the rate limiter's buckets)."""

    def __init__(self, cache_table: str | None) -> None:
        super().__init__()
        self.cache_table = cache_table
        self.cache_count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.cache_table and self.cache_table in sql:
            self.cache_count += 1
        return super().__call__(execute, sql, params, many, context)


def _database_cache_table() -> str | None:
    default = settings.CACHES.get("default", {})
    if default.get("BACKEND") == "django.core.cache.backends.db.DatabaseCache":
        return str(default["LOCATION"])
    return None


def run(options: BenchOptions) -> dict[str, Any]:
    count = max(1, options.scale or BENCHMARK.default_scale)
    started = time.perf_counter()
    with _SimulatorChild(orders=count, days=HISTORY_DAYS, seed=SEED) as seller:
        simulator_seconds = time.perf_counter() - started
        tenant = bench_tenant("backfill")
        try:
            with (
                tenant_scope(tenant),
                override_settings(
                    ACORN_SYNC_INITIAL_DAYS=HISTORY_DAYS + 1,
                    ACORN_RATE_LIMIT_SCALE=100_000,  # the simulator's pace, not Amazon's
                ),
            ):
                store = _setup(tenant, seller, count)
                sync = _sync(store)
                outcome = _outcome(store)
                baseline = _fetch_only(store)
        finally:
            dangerously_delete_bench_tenant(tenant)
    sync_rate = sync["created"] / max(sync["seconds"], 1e-9)
    baseline_rate = baseline["fetched"] / max(baseline["seconds"], 1e-9)
    return {
        "benchmark": "backfill",
        **database_figures(),
        "scale": count,
        "orders_from": (
            f"simulator World(seed={SEED}) in a child process, one NA seller ({', '.join(seller.marketplaces)}), "
            f"orders created over the last {HISTORY_DAYS} days, served over HTTP at 127.0.0.1"
        ),
        "simulator_orders": seller.orders,
        "simulator_start_seconds": round(simulator_seconds, 2),
        "path": (
            "channels.sync.sync_run_execute(resource='orders') -> AmazonAdapter (python-amazon-sp-api, HTTP) "
            "-> orders.services.order_upsert_page, runs repeated until caught up"
        ),
        "sync_time_budget_seconds": settings.ACORN_SYNC_TIME_BUDGET_SECONDS,
        **{key: value for key, value in sync.items() if key != "summaries"},
        "orders_per_second": round(sync_rate, 1),
        "statements_per_order": round(sync["statements"] / max(sync["created"], 1), 3),
        **outcome,
        "rss_target_mb": RSS_TARGET_MB,
        "rss_note": "peak: getrusage ru_maxrss right after the sync; before: VmRSS just before the first run",
        "baseline": "the same window fetched and parsed through the same adapter, nothing persisted",
        "baseline_figures": baseline,
        "baseline_orders_per_second": round(baseline_rate, 1),
        "ratio": round(sync_rate / baseline_rate, 4) if baseline_rate else None,
        "ratio_of": "sync orders per second / fetch-and-parse orders per second",
        "last_run": sync["summaries"][-1] if sync["summaries"] else None,
    }


# --- the store, as connect_store makes it, and what the seller already keeps in ACORN ----------------------


def _setup(tenant: Tenant, seller: _Seller, count: int) -> Store:
    # Written directly, not through store_create / store_complete_amazon_authorization: those services audit,
    # and audit events are append-only (a database trigger on PostgreSQL), so the tenant could not go.
    store = Store.objects.create(
        tenant=tenant,
        platform=Platform.AMAZON,
        name=f"Amazon {seller.region}",
        region=Region(seller.region),
        marketplaces=list(seller.marketplaces),
        seller_id=seller.selling_partner_id,
        endpoint=seller.url,
        permissions=[DataPermission.ORDERS],
        status=StoreStatus.ACTIVE,
        authorized_at=timezone.now(),
    )
    StoreCredential.objects.create(tenant=tenant, store=store, secrets={"refresh_token": seller.refresh_token})
    warehouse = Warehouse.objects.create(tenant=tenant, name="Benchmark warehouse")
    # Master products: one per SKU ("ABC-TPL" → "M-TPL"), mapped except one in six; stock about twice what
    # the orders could want of each, a quarter of that for one product in five.
    units = max(10, 2 * 2 * count // max(1, len(seller.skus)))  # orders have 1 to 3 lines
    for position, sku in enumerate(seller.skus):
        product = Product.objects.create(tenant=tenant, sku="M-" + sku.split("-", 1)[-1], name=f"Benchmark {sku}")
        if position % UNMAPPED_EVERY != UNMAPPED_EVERY - 1:
            SkuMapping.objects.create(tenant=tenant, store=store, channel_sku=sku, product=product)
        scarce = position % SCARCE_EVERY == SCARCE_EVERY - 1
        stock_move(
            product=product,
            warehouse=warehouse,
            kind=MovementKind.RECEIPT,
            on_hand_delta=units // 4 if scarce else units,
        )
    # Written directly, not through fulfilment_target_create (it audits).
    pick_list = FulfillmentTarget.objects.create(
        tenant=tenant,
        name="Benchmark pick list",
        kind=FulfillmentTargetKind.PICK_LIST,
        warehouse=warehouse,
        callback_key=f"bench-{uuid.uuid4().hex}",
    )
    FulfillmentRoute.objects.create(tenant=tenant, target=pick_list, position=1)
    return store


# --- the sync, run after run until caught up --------------------------------------------------------------


def _sync(store: Store) -> dict[str, Any]:
    log = _CountingLog(_database_cache_table())
    summaries: list[dict[str, Any]] = []
    rss_before = _rss_now_mb()
    peak_before = _rss_peak_mb()
    begin = time.perf_counter()
    with connection.execute_wrapper(log):
        for _attempt in range(MAX_RUNS):
            run = sync_run_execute(store=store, resource="orders", trigger=SyncTrigger.COMMAND)
            summaries.append(run.summary())
            if run.caught_up:
                break
            if run.status != SyncRunStatus.PARTIAL:
                raise RuntimeError(f"The sync run ended {run.status}: {run.error_code} {run.message}")
        else:
            raise RuntimeError(f"The sync did not catch up in {MAX_RUNS} runs.")
    seconds = time.perf_counter() - begin
    peak = _rss_peak_mb()
    totals = {key: sum(summary[key] for summary in summaries) for key in _SUMMED}
    return {
        **totals,
        "runs": len(summaries),
        "run_statuses": [summary["status"] for summary in summaries],
        "pages_by_run": [summary["pages"] for summary in summaries],  # a slowdown as the tables grow shows here
        "seconds": round(seconds, 2),
        "statements": log.count,
        "cache_statements": log.cache_count,
        "database_seconds": round(log.total_seconds, 2),
        "slowest_statement": {
            "ms": round(log.slowest_seconds * 1000, 1),
            "sql": log.slowest[0][:300] if log.slowest else None,
        },
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "rss_growth_mb": round(peak - rss_before, 1),
        "peak_rss_before_mb": peak_before,
        "summaries": summaries,
    }


_SUMMED = ("pages", "fetched", "created", "updated", "skipped", "quarantined", "retries")


def _outcome(store: Store) -> dict[str, Any]:
    """What the store holds afterwards, read back from the database."""
    return {
        "orders_stored": Order.objects.filter(store=store).count(),
        "lines_stored": OrderLine.objects.filter(order__store=store).count(),
        "sync_runs_recorded": SyncRun.objects.filter(store=store, resource="orders").count(),
    }


# --- the baseline: the same pages, fetched and parsed only ----------------------------------------------


def _fetch_only(store: Store) -> dict[str, Any]:
    store.refresh_from_db()
    secrets: dict[str, Any] = store.credential.secrets  # type: ignore[assignment]
    adapter = adapter_for(store, secrets=secrets)
    log = StatementLog()
    start = timezone.now() - timedelta(days=settings.ACORN_SYNC_INITIAL_DAYS)
    fetched = pages = bad = 0
    token: str | None = None
    begin = time.perf_counter()
    try:
        with connection.execute_wrapper(log):
            window_end = None
            while True:
                page = adapter.fetch_orders(updated_after=start, updated_before=window_end, page_token=token)
                pages += 1
                fetched += len(page.items)
                bad += len(page.bad_records)
                window_end = window_end or page.window_end
                token = page.next_token
                if not token:
                    break
    finally:
        adapter.close()
    seconds = time.perf_counter() - begin
    return {
        "path": "AmazonAdapter.fetch_orders page by page (HTTP, JSON, parse_order), nothing persisted",
        "pages": pages,
        "fetched": fetched,
        "bad_records": bad,
        "seconds": round(seconds, 2),
        "statements": log.count,
    }


BENCHMARK = Benchmark(
    name="backfill",
    summary=(
        "A store's first sync of N orders from the simulated Amazon over HTTP through the real adapter and sync "
        "engine: orders/s, statements per order, pages, peak RSS; baseline: fetch and parse only."
    ),
    default_scale=100_000,
    run=run,
)

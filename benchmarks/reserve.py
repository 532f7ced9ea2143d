"""`manage.py bench reserve --json`: reservations per second under concurrency, through ACORN's reservation
service and through a raw conditional UPDATE (the baseline) on the same kind of rows, in the same run.

Before timing, `--scale` pending-payment merchant orders with one line of one unit each are stored through
`orders.services.order_upsert_page`, so their allocations exist in WAITING_PAYMENT as after a real sync.
Service path, timed: each attempt is what ingest does for one line when the payment arrives — in one
transaction, `inventory.allocation.allocate_line(store=…, order=<the order, now paid_unshipped>, line=…)`:
the allocation row locked, the mapping resolved, the conditional reserve, the RESERVATION movement and the
Reservation, the allocation saved, orders told of the line's stock state (the `allocations_changed` hook), and what
runs when it commits (channel quantities, low-stock check). The order row itself is not rewritten: that is
the ingest's part, measured by `bench ingest`.

Baseline: `UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %s AND on_hand >= reserved + 1`
in autocommit, the least a database can do to reserve a unit without overselling.

Both phases run `--threads` workers — processes, each with its own database connection, as gunicorn and Celery
run in production — against the same number of hot products holding 90 % of the units asked for, so the last
attempts find nothing left: `oversold`
says whether any level ended with more reserved than on hand, or with more reserved than the workers were
told they got (it must be false), and `ledger_matches` whether the service path's levels still equal
their movements. `ratio` = service reservations per second / baseline reservations per second.

SQLite serialises writers on the file lock, so its default is one worker; PostgreSQL's is eight. On a machine
with few cores the service path's rate is bounded by its Python time per attempt (the ORM, the hooks) as much
as by the database; `statements_per_attempt` says how much it asks of the database, the commit hooks included
(channel quantities and the low-stock check after each reservation). The
benchmark works in a throwaway tenant (slug `bench-reserve-…`, inactive) and deletes it afterwards.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Sum

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from benchmarks import Benchmark, BenchOptions
from benchmarks.support import bench_tenant, dangerously_delete_bench_tenant, database_figures
from channels.adapters.base import ExternalOrder, ExternalOrderLine, FulfillmentChannel, OrderStatus
from channels.models import Platform, Region, Store, StoreStatus
from inventory.allocation import allocate_line
from inventory.ledger import stock_move
from inventory.models import AllocationState, LineAllocation, MovementKind, Product, StockLevel, Warehouse
from inventory.services import levels_match_ledger
from orders.models import Order, OrderLine
from orders.services import order_upsert_page

HOT_PRODUCTS = 4  # few rows, so that workers contend for them
STOCK_SHARE = Decimal("0.9")  # the units on hand, as a share of the reservations asked for
PAGE_SIZE = 100  # pending orders are stored a sync page at a time
BASELINE_SQL = "UPDATE {table} SET reserved = reserved + %s WHERE id = %s AND on_hand >= reserved + %s"
PURCHASED_AT = datetime(2026, 1, 1, tzinfo=UTC)
CHILD_TIMEOUT = 600  # seconds a worker process may take for its share


@dataclass
class _Phase:
    """One measured phase: how many attempts, how many reserved, how long, what went wrong."""

    name: str
    attempts: int
    reserved: int = 0
    seconds: float = 0.0
    statements: int = 0  # SQL statements the workers sent
    errors: list[str] = field(default_factory=list)

    def figures(self, path: str) -> dict[str, Any]:
        seconds = max(self.seconds, 1e-9)
        return {
            "path": path,
            "attempts": self.attempts,
            "reserved": self.reserved,
            "short": self.attempts - self.reserved - len(self.errors),
            "errors": len(self.errors),
            "seconds": round(self.seconds, 4),
            "statements_per_attempt": round(self.statements / max(self.attempts, 1), 1),
            "attempts_per_second": round(self.attempts / seconds, 1),
            "reservations_per_second": round(self.reserved / seconds, 1),
        }


def run(options: BenchOptions) -> dict[str, Any]:
    attempts = max(1, options.scale or BENCHMARK.default_scale)
    vendor = connection.vendor
    threads = max(1, options.threads or (1 if vendor == "sqlite" else 8))
    stock = math.ceil(attempts * STOCK_SHARE / HOT_PRODUCTS)
    tenant = bench_tenant("reserve")
    try:
        with tenant_scope(tenant):
            store, warehouse = _bench_store(tenant)
            service_products = _products(tenant, warehouse, "SVC", stock)
            baseline_products = _products(tenant, warehouse, "RAW", stock)
            baseline_levels = [
                StockLevel.objects.get(product=product, warehouse=warehouse).pk for product in baseline_products
            ]
            prepared_started = time.perf_counter()
            paid_lines = _pending_orders(store, service_products, attempts)
            prepared_seconds = time.perf_counter() - prepared_started
            waiting = LineAllocation.objects.filter(store=store, state=AllocationState.WAITING_PAYMENT).count()
        service = _Phase("service", attempts)
        _measure(service, tenant, threads, lambda i: _reserve_through_allocation(store, *paid_lines[i]))
        with tenant_scope(tenant):
            # What ACORN told the orders: the lines it holds stock for (one unit each).
            service.reserved = LineAllocation.objects.filter(store=store, state=AllocationState.RESERVED).count()
            service_oversold = _oversold(service_products, warehouse, service.reserved)
            # Before the baseline, whose raw UPDATEs write no movements by design.
            ledger_problems = levels_match_ledger(tenant_id=tenant.pk)
        baseline = _Phase("baseline", attempts)
        _measure(baseline, tenant, threads, lambda i: _reserve_raw(baseline_levels, i))
        with tenant_scope(tenant):
            baseline_oversold = _oversold(baseline_products, warehouse, baseline.reserved)
    finally:
        dangerously_delete_bench_tenant(tenant)
    service_rate = service.reserved / max(service.seconds, 1e-9)
    baseline_rate = baseline.reserved / max(baseline.seconds, 1e-9)
    return {
        "benchmark": "reserve",
        **database_figures(),
        "threads": threads,
        "scale": attempts,
        "products": HOT_PRODUCTS,
        "stock_per_product": stock,
        "prepared": {
            "path": "orders.services.order_upsert_page (pending-payment merchant orders, untimed)",
            "orders": attempts,
            "waiting_payment": waiting,
            "seconds": round(prepared_seconds, 3),
        },
        "service": service.figures(
            "inventory.allocation.allocate_line (the line's order now paid_unshipped), one transaction each"
        ),
        "baseline": baseline.figures("raw conditional UPDATE of inventory_stocklevel"),
        "reservations_per_second": round(service_rate, 1),
        "baseline_reservations_per_second": round(baseline_rate, 1),
        "ratio": round(service_rate / baseline_rate, 4) if baseline_rate else None,
        "ratio_of": "service reservations per second / baseline reservations per second",
        "oversold": service_oversold or baseline_oversold,
        "ledger_matches": not ledger_problems,
        "errors": (service.errors + baseline.errors)[:5],
    }


# --- the pending orders the service path pays for -------------------------------------------------------


def _pending_orders(store: Store, products: list[Product], count: int) -> list[tuple[Order, OrderLine]]:
    """Store `count` pending-payment merchant orders of one unit each (a hot product each, in turn) as a sync
    page does, then return (order, line) per attempt with the order's status already moved to paid
    (in memory: what ingest holds when it allocates)."""
    external_ids = [f"BENCH-{index:09d}" for index in range(count)]
    for start in range(0, count, PAGE_SIZE):
        page = [
            _pending_order(external_id, products[index % len(products)].sku)
            for index, external_id in enumerate(external_ids[start : start + PAGE_SIZE], start=start)
        ]
        order_upsert_page(store=store, orders=page)
    lines = {
        line.order.external_id: line for line in OrderLine.objects.filter(order__store=store).select_related("order")
    }
    work = []
    for external_id in external_ids:
        line = lines[external_id]
        order = line.order
        order.status, order.raw_status = OrderStatus.PAID_UNSHIPPED, "UNSHIPPED"
        work.append((order, line))
    return work


def _pending_order(external_id: str, sku: str) -> ExternalOrder:
    line = ExternalOrderLine(
        external_id="L1",
        sku=sku,
        quantity=1,
        currency="USD",
        unit_price=Decimal("10.00"),
        item_amount=Decimal("10.00"),
    )
    return ExternalOrder(
        external_id=external_id,
        marketplace="US",
        purchased_at=PURCHASED_AT,
        updated_at=PURCHASED_AT,
        raw_status="PENDING",
        status=OrderStatus.PENDING_PAYMENT,
        fulfillment_channel=FulfillmentChannel.MERCHANT,
        currency="USD",
        item_amount=Decimal("10.00"),
        shipping_amount=Decimal(0),
        tax_amount=Decimal(0),
        discount_amount=Decimal(0),
        other_amount=Decimal(0),
        total_amount=Decimal("10.00"),
        buyer_country="US",
        lines=(line,),
    )


# --- the two ways to reserve ---------------------------------------------------------------------------


def _reserve_through_allocation(store: Store, order: Order, line: OrderLine) -> bool:
    """The payment arrived: allocate the line in its own transaction, as ingest does. True when it holds
    the unit (whether it did is also read from the allocations afterwards, outside the timing)."""
    with transaction.atomic():
        allocation = allocate_line(store=store, order=order, line=line)
    return allocation is not None and allocation.state == AllocationState.RESERVED


def _reserve_raw(level_ids: list[int], index: int) -> bool:
    """The baseline: one conditional UPDATE in autocommit. True when a unit was reserved."""
    with connection.cursor() as cursor:
        cursor.execute(
            BASELINE_SQL.format(table=connection.ops.quote_name(StockLevel._meta.db_table)),
            [1, level_ids[index % len(level_ids)], 1],
        )
        return cursor.rowcount == 1


def _measure(phase: _Phase, tenant: Tenant, workers: int, reserve: Callable[[int], bool]) -> None:
    """Run `phase.attempts` reservations over `workers` processes (one connection each, as gunicorn's and
    Celery's workers are in production) and time them; one worker runs on the caller's connection."""

    def attempts(number: int) -> tuple[int, int, list[str]]:
        reserved, statements, errors = 0, 0, []

        def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        with tenant_scope(tenant), connection.execute_wrapper(count):
            for index in range(number, phase.attempts, workers):
                try:
                    reserved += int(reserve(index))
                except Exception as error:  # a benchmark reports failures instead of stopping
                    errors.append(f"{type(error).__name__}: {error}"[:300])
        return reserved, statements, errors

    if workers == 1:  # on the caller's connection (SQLite, or inside a test's transaction)
        begin = time.perf_counter()
        phase.reserved, phase.statements, phase.errors = attempts(0)
        phase.seconds = time.perf_counter() - begin
        return
    # Forked children inherit the prepared rows and the callable; each opens its own connection.
    context = multiprocessing.get_context("fork")
    gate = context.Barrier(workers)
    results = context.Queue()

    def child(number: int) -> None:
        gate.wait()
        begin = time.monotonic()  # system-wide on Linux: comparable between processes
        outcome = attempts(number)
        results.put((number, begin, time.monotonic(), *outcome))
        connection.close()

    connections.close_all()  # never share the parent's connection with a child
    children = [context.Process(target=child, args=(number,)) for number in range(workers)]
    for process in children:
        process.start()
    finished = [results.get(timeout=CHILD_TIMEOUT) for _process in children]
    for process in children:
        process.join(timeout=CHILD_TIMEOUT)
    phase.seconds = max(end for _n, _begin, end, *_rest in finished) - min(begin for _n, begin, *_rest in finished)
    for _number, _begin, _end, reserved, statements, errors in finished:
        phase.reserved += reserved
        phase.statements += statements
        phase.errors.extend(errors)


# --- checking -------------------------------------------------------------------------------------------


def _oversold(products: list[Product], warehouse: Warehouse, reported: int) -> bool:
    """More reserved than on hand anywhere, or more reserved in total than the workers were told."""
    levels = StockLevel.objects.filter(product__in=products, warehouse=warehouse)
    if any(level.reserved > level.on_hand for level in levels):
        return True
    return (levels.aggregate(total=Sum("reserved"))["total"] or 0) > reported


# --- the throwaway tenant -------------------------------------------------------------------------------


def _bench_store(tenant: Tenant) -> tuple[Store, Warehouse]:
    store = Store.objects.create(
        tenant=tenant,
        platform=Platform.AMAZON,
        name="Benchmark store",
        region=Region.NA,
        marketplaces=["US"],
        seller_id="BENCHMARK",
        status=StoreStatus.DISABLED,  # no credentials; nothing syncs it
    )
    warehouse = Warehouse.objects.create(tenant=tenant, name="Benchmark warehouse")
    return store, warehouse


def _products(tenant: Tenant, warehouse: Warehouse, prefix: str, stock: int) -> list[Product]:
    products = []
    for number in range(HOT_PRODUCTS):
        product = Product.objects.create(tenant=tenant, sku=f"BENCH-{prefix}-{number}", name=f"Benchmark {number}")
        stock_move(product=product, warehouse=warehouse, kind=MovementKind.RECEIPT, on_hand_delta=stock)
        products.append(product)
    return products


BENCHMARK = Benchmark(
    name="reserve",
    summary="Reservations per second through allocate_line (a paid line) vs a raw conditional UPDATE, concurrently.",
    default_scale=1000,
    run=run,
)

"""`manage.py bench ingest --json`: orders per second through ACORN's real order ingest, and through a bulk
load of the same rows into the same tables (the baseline), in the same run.

The orders are the simulator's. A seeded `World` holds two Amazon sellers (NA: US, CA, MX; EU: UK, DE,
FR, IT, ES) and makes `--scale` orders over the last 30 days (`World.generate_orders`: 1 to 3 lines, the
seller's listings as SKUs, merchant-fulfilled and FBA). Each order is rendered as Orders API 2026-01-01
JSON with the datasets ACORN asks for (`simulator.amazon.order_shape.render_order`) at a random
event of its own timeline — pending, paid, partly shipped, shipped or cancelled, the states in which a sync
meets an order over its life — and parsed by ACORN's adapter (`channels.adapters.amazon.parse.parse_order`) into
ExternalOrder. Nothing goes over HTTP: the benchmark measures what happens to a page once it has arrived.

A throwaway tenant (slug `bench-ingest-…`, inactive, deleted afterwards) gets one store per seller, master
products for the sellers' SKUs mapped to most of them (one SKU in six stays unmapped), stock in one own
warehouse (one product in five is short of what its paid orders want, so lines backorder), and a pick-list
fulfilment target with a catch-all rule, so ready orders are queued as they would be in production.

Service: `orders.services.order_upsert_page(store=…, orders=page)` per page of 100, in page order, each in
its own transaction: orders, lines, status history, allocation of merchant lines (mapping, reservation,
movements, the lines' stock state) and fulfilment queueing, plus what runs when the page commits.

Baseline: the same orders written into the same two tables, orders_order and orders_orderline, one page
per transaction — PostgreSQL `COPY … FROM STDIN` (psycopg 3), or `executemany` INSERT on SQLite, which has
no COPY — for two other stores of the tenant, so nothing collides with the service's rows. Its time
includes building the rows from the ExternalOrders. It writes no status history, no allocation and no
fulfilment request: the ratio is what all of that, and the ORM, cost over the least a database can do.
`ratio` = service orders per second / baseline orders per second.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Count

from acorn.devtools import simulator_required
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
from channels.adapters.amazon.orders import ORDERS_INCLUDED_DATA, ORDERS_PAGE_SIZE
from channels.adapters.amazon.parse import parse_order
from channels.adapters.base import ExternalOrder, FulfillmentChannel, OrderStatus
from channels.models import Platform, Region, Store, StoreStatus
from inventory.ledger import stock_move
from inventory.models import AllocationState, LineAllocation, MovementKind, Product, SkuMapping, Warehouse
from orders.models import (
    FulfillmentRequest,
    FulfillmentRoute,
    FulfillmentTarget,
    FulfillmentTargetKind,
    Order,
    OrderLine,
    OrderStatusChange,
)
from orders.services import order_upsert_page

# The orders are the simulator's (a development tool): `manage.py bench ingest` says how to install it where
# it is not (the other benchmarks do not need it; `bench --list` imports no benchmark).
with simulator_required("manage.py bench ingest"):
    from simulator.amazon.order_shape import render_order
    from simulator.world import ManualClock, World

SEED = 13
PAGE_SIZE = ORDERS_PAGE_SIZE  # what the adapter asks Amazon for: 100 orders a page
WORLD_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SELLERS = (("NA", ("US", "CA", "MX"), 0.6), ("EU", ("UK", "DE", "FR", "IT", "ES"), 0.4))
UNMAPPED_EVERY = 6  # one SKU in six has no mapping (its paid lines wait as "unmapped")
SCARCE_EVERY = 5  # one product in five holds a quarter of what its paid orders want (backorders)
OPEN = (OrderStatus.PAID_UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED)


@dataclass(frozen=True)
class _SellerOrders:
    """One simulated seller: its region, the channel SKUs it lists, and its orders as ACORN parsed them."""

    region: str
    marketplaces: tuple[str, ...]
    skus: list[str]
    orders: list[ExternalOrder]


def run(options: BenchOptions) -> dict[str, Any]:
    count = max(1, options.scale or BENCHMARK.default_scale)
    simulated_started = time.perf_counter()
    sellers = _simulated_orders(count)
    simulated_seconds = time.perf_counter() - simulated_started
    everything = [order for seller in sellers for order in seller.orders]
    lines = sum(len(order.lines) for order in everything)
    tenant = bench_tenant("ingest")
    try:
        with tenant_scope(tenant):
            stores, baseline_stores = _setup(tenant, sellers)
            pages = _pages([(stores[seller.region], seller.orders) for seller in sellers])
            baseline_pages = _pages([(baseline_stores[seller.region], seller.orders) for seller in sellers])
            service = _measure(pages, _ingest_page)
            outcome = _outcome(tenant, list(stores.values()))
            baseline = _measure(
                baseline_pages,
                partial(_bulk_page, TableLoader(Order), TableLoader(OrderLine, with_pk=False)),
                # cursor.copy does not pass through execute wrappers: two COPYs a page, counted here
                uncounted_per_page=2 if connection.vendor == "postgresql" else 0,
            )
            baseline_written = Order.objects.filter(store__in=list(baseline_stores.values())).count()
    finally:
        dangerously_delete_bench_tenant(tenant)
    service_rate = count / max(service["seconds"], 1e-9)
    baseline_rate = count / max(baseline["seconds"], 1e-9)
    return {
        "benchmark": "ingest",
        **database_figures(),
        "scale": count,
        "page_size": PAGE_SIZE,
        "pages": len(pages),
        "orders_from": (
            f"simulator World(seed={SEED}) -> order_shape.render_order -> channels.adapters.amazon.parse.parse_order"
        ),
        "simulated_seconds": round(simulated_seconds, 2),
        "stores": len(sellers),
        "marketplaces": sorted({order.marketplace for order in everything}),
        "currencies": sorted({order.currency for order in everything}),
        "lines": lines,
        "orders_by_status": dict(sorted(Counter(str(order.status) for order in everything).items())),
        "orders_by_fulfilment": dict(sorted(Counter(str(o.fulfillment_channel) for o in everything).items())),
        "service": {
            "path": "orders.services.order_upsert_page (one page per transaction)",
            **_figures(service, count, lines),
            "created": service["written"],
        },
        "baseline": bulk_method(),
        "baseline_figures": {
            "path": f"{bulk_method()} into orders_order and orders_orderline (one page per transaction)",
            **_figures(baseline, count, lines),
            "written": baseline_written,
        },
        "orders_per_second": round(service_rate, 1),
        "baseline_orders_per_second": round(baseline_rate, 1),
        "ratio": round(service_rate / baseline_rate, 4) if baseline_rate else None,
        "ratio_of": "service orders per second / baseline orders per second",
        **outcome,
        "errors": (service["errors"] + baseline["errors"])[:5],
    }


# --- the simulator's orders -----------------------------------------------------------------------------


def _simulated_orders(count: int) -> list[_SellerOrders]:
    """`count` orders of the world's sellers, each as a sync meets it at one event of its life, in the
    order a sync pages them (by last update)."""
    world = World(SEED, ManualClock(WORLD_NOW), orders_per_day=0, live_orders_per_hour=0, malformed_rate=0)
    rng = random.Random(SEED)  # noqa: S311 - a reproducible benchmark, not security
    sellers = []
    remaining = count
    for index, (region, marketplaces, share) in enumerate(SELLERS):
        seller = world.add_seller(region, list(marketplaces), history_days=0, name=f"Benchmark seller {region}")
        wanted = remaining if index == len(SELLERS) - 1 else min(remaining, round(count * share))
        remaining -= wanted
        parsed = []
        for order_id in world.generate_orders(seller.selling_partner_id, wanted):
            order = world.order(order_id)
            if order is None:  # generate_orders makes them in the past: always there
                raise LookupError(order_id)
            moment = rng.choice(order.events).at
            parsed.append(parse_order(render_order(order, order.state_at(moment), ORDERS_INCLUDED_DATA)))
        parsed.sort(key=lambda order: (order.updated_at, order.external_id))
        skus = sorted({listing.sku for listings in seller.listings.values() for listing in listings})
        sellers.append(_SellerOrders(region, marketplaces, skus, parsed))
    return sellers


# --- the throwaway tenant's stores, catalogue, stock and fulfilment -------------------------------------


def _setup(tenant: Tenant, sellers: list[_SellerOrders]) -> tuple[dict[str, Store], dict[str, Store]]:
    warehouse = Warehouse.objects.create(tenant=tenant, name="Benchmark warehouse")
    stores: dict[str, Store] = {}
    baseline_stores: dict[str, Store] = {}
    for seller in sellers:
        for target, suffix in ((stores, ""), (baseline_stores, " (baseline)")):
            target[seller.region] = Store.objects.create(
                tenant=tenant,
                platform=Platform.AMAZON,
                name=f"Amazon {seller.region}{suffix}",
                region=Region(seller.region),
                marketplaces=list(seller.marketplaces),
                seller_id=f"BENCH{seller.region}{'B' if suffix else ''}",
                status=StoreStatus.DISABLED,  # no credentials; nothing syncs it
            )
    # Master products: one per listing template (the same product sold in both regions), mapped from each
    # store's channel SKU ("ABC-TPL" → "M-TPL"), except one SKU in six.
    products: dict[str, Product] = {}
    mapped: dict[tuple[str, str], Product] = {}
    for seller in sellers:
        for position, sku in enumerate(seller.skus):
            master = "M-" + sku.split("-", 1)[1]
            if master not in products:
                products[master] = Product.objects.create(tenant=tenant, sku=master, name=f"Benchmark {master}")
            if position % UNMAPPED_EVERY == UNMAPPED_EVERY - 1:
                continue
            SkuMapping.objects.create(
                tenant=tenant, store=stores[seller.region], channel_sku=sku, product=products[master]
            )
            mapped[(seller.region, sku)] = products[master]
    # Stock: twice what the paid merchant orders want, except the scarce products (a quarter of it).
    wanted: Counter[int] = Counter()
    for seller in sellers:
        for order in seller.orders:
            if order.fulfillment_channel == FulfillmentChannel.MERCHANT and order.status in OPEN:
                for line in order.lines:
                    product = mapped.get((seller.region, line.sku))
                    if product is not None:
                        wanted[product.pk] += line.quantity
    for position, product in enumerate(sorted(products.values(), key=lambda p: p.sku)):
        scarce = position % SCARCE_EVERY == SCARCE_EVERY - 1
        units = wanted[product.pk] // 4 if scarce else max(2 * wanted[product.pk], 10)
        if units:
            stock_move(product=product, warehouse=warehouse, kind=MovementKind.RECEIPT, on_hand_delta=units)
    # Written directly, not through fulfilment_target_create: that service audits, and audit events are
    # append-only (a database trigger on PostgreSQL), so the throwaway tenant could not be deleted.
    pick_list = FulfillmentTarget.objects.create(
        tenant=tenant,
        name="Benchmark pick list",
        kind=FulfillmentTargetKind.PICK_LIST,
        warehouse=warehouse,
        callback_key=f"bench-{uuid.uuid4().hex}",
    )
    FulfillmentRoute.objects.create(tenant=tenant, target=pick_list, position=1)
    return stores, baseline_stores


def _pages(sources: Sequence[tuple[Store, list[ExternalOrder]]]) -> list[tuple[Store, list[ExternalOrder]]]:
    """Pages of PAGE_SIZE per store, taken from the stores in turn (as a worker pool would meet them)."""
    chunked = [
        [(store, orders[start : start + PAGE_SIZE]) for start in range(0, len(orders), PAGE_SIZE)]
        for store, orders in sources
    ]
    pages: list[tuple[Store, list[ExternalOrder]]] = []
    for position in range(max((len(chunks) for chunks in chunked), default=0)):
        pages.extend(chunks[position] for chunks in chunked if position < len(chunks))
    return pages


# --- the two ways to write a page -----------------------------------------------------------------------


def _ingest_page(store: Store, page: list[ExternalOrder]) -> int:
    return order_upsert_page(store=store, orders=page).created


def _bulk_page(orders: TableLoader, lines: TableLoader, store: Store, page: list[ExternalOrder]) -> int:
    """The page's orders and lines as plain rows, in one transaction: order ids from their sequence, then
    two bulk writes (COPY on PostgreSQL)."""
    now = datetime.now(UTC)
    with transaction.atomic():
        ids = reserve_ids(Order, len(page))
        order_rows = []
        line_rows = []
        for order_id, incoming in zip(ids, page, strict=True):
            order_rows.append(
                {
                    "id": order_id,
                    "tenant_id": store.tenant_id,
                    "store_id": store.pk,
                    "external_id": incoming.external_id,
                    "merchant_order_id": incoming.merchant_order_id,
                    "marketplace": incoming.marketplace,
                    "purchased_at": incoming.purchased_at,
                    "channel_updated_at": incoming.updated_at,
                    "status": incoming.status,
                    "raw_status": incoming.raw_status[:50],
                    "fulfillment_channel": incoming.fulfillment_channel,
                    "currency": incoming.currency,
                    "item_amount": incoming.item_amount,
                    "shipping_amount": incoming.shipping_amount,
                    "tax_amount": incoming.tax_amount,
                    "discount_amount": incoming.discount_amount,
                    "other_amount": incoming.other_amount,
                    "total_amount": incoming.total_amount,
                    "buyer_country": incoming.buyer_country,
                    "presentment_currency": incoming.presentment_currency,
                    "presentment_total_amount": incoming.presentment_total,
                    "source_name": incoming.source_name,
                    "tags": list(incoming.tags),
                    "first_seen_at": now,
                    "synced_at": now,
                }
            )
            for line in incoming.lines:
                line_rows.append(
                    {
                        "tenant_id": store.tenant_id,
                        "order_id": order_id,
                        "external_id": line.external_id,
                        "sku": line.sku,
                        "asin": line.asin,
                        "channel_product_id": line.channel_product_id,
                        "title": line.title,
                        "quantity": line.quantity,
                        "currency": line.currency,
                        "unit_price_amount": line.unit_price,
                        "item_amount": line.item_amount,
                        "tax_amount": line.tax_amount,
                        "shipping_amount": line.shipping_amount,
                        "discount_amount": line.discount_amount,
                    }
                )
        written = orders.insert(order_rows)
        lines.insert(line_rows)
    return written


def _measure(
    pages: list[tuple[Store, list[ExternalOrder]]],
    write: Callable[[Store, list[ExternalOrder]], int],
    *,
    uncounted_per_page: int = 0,
) -> dict[str, Any]:
    """Write every page in order, timed; SQL statements counted (a COPY or an executemany counts as one)."""
    log = StatementLog()
    written = 0
    errors: list[str] = []
    page_ms: list[float] = []
    begin = time.perf_counter()
    with connection.execute_wrapper(log):
        for store, page in pages:
            page_begin = time.perf_counter()
            try:
                written += write(store, page)
            except Exception as error:  # a benchmark reports failures instead of stopping
                errors.append(f"{type(error).__name__}: {error}"[:300])
            page_ms.append((time.perf_counter() - page_begin) * 1000)
    seconds = time.perf_counter() - begin
    statements = log.count + uncounted_per_page * len(pages)
    return {"seconds": seconds, "statements": statements, "written": written, "errors": errors, "page_ms": page_ms}


def _figures(phase: dict[str, Any], orders: int, lines: int) -> dict[str, Any]:
    seconds = max(phase["seconds"], 1e-9)
    return {
        "orders": orders,
        "seconds": round(phase["seconds"], 3),
        "orders_per_second": round(orders / seconds, 1),
        "lines_per_second": round(lines / seconds, 1),
        "statements": phase["statements"],
        "statements_per_order": round(phase["statements"] / max(orders, 1), 2),
        # per page, commit included: a spread between p50 and max is the machine (fsync, neighbours), not the code
        "page_ms_p50": round(percentile(phase["page_ms"], 0.5), 1) if phase["page_ms"] else None,
        "page_ms_max": round(max(phase["page_ms"]), 1) if phase["page_ms"] else None,
        "errors": len(phase["errors"]),
    }


def _outcome(tenant: Tenant, stores: list[Store]) -> dict[str, Any]:
    """What the service made of the pages: merchant lines by stock state, and what else it wrote."""
    states = dict(
        LineAllocation.objects.filter(tenant=tenant, store__in=stores)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    fba_lines = OrderLine.objects.filter(
        tenant=tenant, order__store__in=stores, order__fulfillment_channel=FulfillmentChannel.FBA
    ).count()
    return {
        "reserved": states.get(AllocationState.RESERVED, 0),
        "backordered": states.get(AllocationState.BACKORDERED, 0),
        "unmapped": states.get(AllocationState.UNMAPPED, 0),
        "merchant_lines_by_state": dict(sorted(states.items())),
        "fba_lines": fba_lines,
        "status_changes": OrderStatusChange.objects.filter(tenant=tenant).count(),
        "fulfilment_requests": FulfillmentRequest.objects.filter(tenant=tenant).count(),
    }


BENCHMARK = Benchmark(
    name="ingest",
    summary="Orders per second through the real ingest (mapping, reservation) vs COPY of the same rows.",
    default_scale=5000,
    run=run,
)

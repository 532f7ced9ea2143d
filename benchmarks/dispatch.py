"""`manage.py bench dispatch --json`: one tick of the per-minute sync dispatcher (`channels.sync_dispatch`) over
`--scale` stores (default 10,000) with four sync resources each, against a raw `UPDATE … RETURNING` of the
same cursors, in the same run.

Fill (untimed, bulk_create): a throwaway tenant (slug `bench-dispatch-…`) with `--scale` active Amazon stores
whose data permissions make exactly four jobs apply (orders, inventory, refunds, returns), and their four
cursors each, never run (so all due).

Measure, inside ONE transaction that is rolled back at the end: the tenant is made active (the dispatcher only
serves active tenants; outside that transaction it never is, so a beat running against the same database
never sees the benchmark's stores), then

- `tick`: every cursor is due (the first tick after the stores connected, or after an outage): the time, the
  statements and the messages of `sync_dispatch_due()`, which claims and queues them all;
- `idle_tick`: the next tick, with nothing due;
- `steady_tick`: a tick in steady state, when the share of each job's cursors that its interval makes due each
  minute is due (orders every 10 minutes: one in ten; returns every hour: one in sixty …);
- `baseline` (measured first, on the same rows, and undone before the tick): one raw `UPDATE … SET
  next_run_at = … WHERE tenant_id = … AND due AND lease free RETURNING …` of the same cursors (one statement,
  no messages), the least a database can do to claim them. `ratio` = baseline seconds / tick seconds;
  `ratio_database` = baseline seconds / the tick's seconds in its statements.

Messages: Celery builds each message as it would for the broker, and kombu's `Producer.publish` is replaced,
for the duration of the benchmark only, by a counter (`published`), so nothing reaches a broker; the time a
broker round trip would add is not in the figures. The work of the tick runs in a transaction: the commits
of its three autocommit statements (a few milliseconds) are not in the figures either. While it runs, the
cursors it claimed stay locked (a worker taking one of them waits for the end of the benchmark), and on a
database with other active tenants their due cursors are claimed too, and rolled back with the rest.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from kombu import Producer

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped
from benchmarks import Benchmark, BenchOptions
from benchmarks.support import StatementLog, bench_tenant, dangerously_delete_bench_tenant, database_figures
from channels.models import Platform, Region, Store, StoreStatus, SyncCursor
from channels.sync import SyncJob, sync_jobs_applying
from channels.sync_dispatch import MIN_CLAIM, sync_dispatch_due

DEFAULT_SCALE = 10_000
PERMISSIONS = ["orders", "inventory", "returns"]  # on Amazon: orders, inventory, refunds and returns
RESOURCES_PER_STORE = 4
BATCH = 2000
BASELINE_SQL = (
    "UPDATE {table} SET next_run_at = %s WHERE tenant_id = %s "
    "AND (next_run_at IS NULL OR next_run_at <= %s) AND (lease_until IS NULL OR lease_until < %s) "
    "RETURNING id, tenant_id, store_id, resource"
)


class _Rollback(Exception):
    """Ends the measured transaction: nothing the ticks wrote stays."""


class _Published:
    """Counts what Celery hands to kombu instead of sending it."""

    def __init__(self) -> None:
        self.count = 0


@contextmanager
def _no_broker() -> Iterator[_Published]:
    """Replace kombu's Producer.publish with a counter, for this benchmark only."""
    published = _Published()

    def publish(producer: Producer, body: Any, **options: Any) -> None:
        published.count += 1

    with mock.patch.object(Producer, "publish", publish):
        yield published


def run(options: BenchOptions) -> dict[str, Any]:
    store_count = max(1, options.scale or DEFAULT_SCALE)
    jobs = sync_jobs_applying(platform=Platform.AMAZON, permissions=PERMISSIONS)
    if len(jobs) != RESOURCES_PER_STORE:
        raise RuntimeError(f"{PERMISSIONS} on Amazon gives {[job.resource for job in jobs]}, not four resources.")
    tenant = bench_tenant("dispatch")
    figures: dict[str, Any] = {}
    try:
        fill_started = time.perf_counter()
        store_ids = _fill(tenant, store_count, jobs)
        fill_seconds = time.perf_counter() - fill_started
        cursors = store_count * len(jobs)
        with _no_broker() as published:
            try:
                with transaction.atomic():
                    Tenant.objects.filter(pk=tenant.pk).update(is_active=True)
                    with transaction.atomic():  # on the same fresh rows as the tick, then undone
                        figures["baseline"] = _baseline(tenant)
                        transaction.set_rollback(True)
                    figures["tick"] = _tick(published)
                    figures["idle_tick"] = _tick(published)
                    steady_due = _make_steady_share_due(tenant, store_ids, jobs)
                    figures["steady_tick"] = {"due": steady_due, **_tick(published)}
                    raise _Rollback
            except _Rollback:
                pass
    finally:
        Tenant.objects.filter(pk=tenant.pk).update(is_active=False)
        tenant.is_active = False
        dangerously_delete_bench_tenant(tenant)
    tick, baseline = figures["tick"], figures["baseline"]
    return {
        "benchmark": "dispatch",
        **database_figures(),
        "scale": store_count,
        "stores": store_count,
        "resources_per_store": len(jobs),
        "resources": [job.resource for job in jobs],
        "cursors": cursors,
        "fill": {"method": "bulk_create", "seconds": round(fill_seconds, 2)},
        "seconds": tick["seconds"],
        "statements": tick["statements"],
        "dispatched": tick["dispatched"],
        "published": tick["published"],
        **figures,
        "target": "one tick over 10,000 stores x 4 resources in <= 2 s with a bounded number of statements",
        "ratio": round(baseline["seconds"] / tick["seconds"], 4) if tick["seconds"] else None,
        "ratio_of": "baseline seconds (one raw UPDATE ... RETURNING, no messages) / tick seconds",
        "ratio_database": round(baseline["seconds"] / tick["database_seconds"], 4)
        if tick["database_seconds"]
        else None,
        "ratio_database_of": "baseline seconds / the tick's seconds in the database (its statements)",
        "note": "messages are built by Celery and counted at kombu's Producer.publish, not sent to a broker; "
        "the ticks run in one transaction that is rolled back",
    }


def _fill(tenant: Tenant, count: int, jobs: list[SyncJob]) -> list[int]:
    """`count` active Amazon stores and their cursors (all due), in bulk; returns the stores' ids."""
    now = timezone.now()
    with dangerously_unscoped():
        stores = Store.objects.bulk_create(
            [
                Store(
                    tenant=tenant,
                    platform=Platform.AMAZON,
                    name=f"Bench store {index:06d}",
                    region=Region.NA,
                    marketplaces=["US"],
                    seller_id=f"BENCH{index:09d}",
                    status=StoreStatus.ACTIVE,
                    permissions=PERMISSIONS,
                    authorized_at=now,
                )
                for index in range(count)
            ],
            batch_size=BATCH,
        )
        SyncCursor.objects.bulk_create(
            [SyncCursor(tenant=tenant, store=store, resource=job.resource) for store in stores for job in jobs],
            batch_size=BATCH,
        )
    return [store.pk for store in stores]


def _tick(published: Any) -> dict[str, Any]:
    log = StatementLog()
    before = published.count
    begin = time.perf_counter()
    with connection.execute_wrapper(log):
        dispatched = sync_dispatch_due()
    seconds = time.perf_counter() - begin
    return {
        "seconds": round(seconds, 4),
        "statements": log.count,
        "database_seconds": round(log.total_seconds, 4),
        # the stores' jobs worked out in memory, and Celery building each message (the larger part)
        "python_seconds": round(seconds - log.total_seconds, 4),
        "dispatched": dispatched,
        "published": published.count - before,
        "messages_per_second": round(dispatched / seconds) if seconds else None,
    }


def _make_steady_share_due(tenant: Tenant, store_ids: list[int], jobs: list[SyncJob]) -> int:
    """Spread each job's cursors over its interval (in minutes), as runs ending at their own times leave them,
    and make due the ones whose minute is now. Returns how many are due."""
    now = timezone.now()
    due = 0
    with dangerously_unscoped():
        for job in jobs:
            minutes = max(1, int(max(job.interval, MIN_CLAIM).total_seconds() // 60))
            due_stores = store_ids[::minutes]
            due += len(due_stores)
            SyncCursor.objects.filter(tenant=tenant, resource=job.resource).filter(~Q(store_id__in=due_stores)).update(
                next_run_at=now + job.interval
            )
            SyncCursor.objects.filter(tenant=tenant, resource=job.resource, store_id__in=due_stores).update(
                next_run_at=now
            )
    return due


def _baseline(tenant: Tenant) -> dict[str, Any]:
    """One raw conditional UPDATE … RETURNING of the tenant's due cursors (one next-run time for all)."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    table = connection.ops.quote_name(SyncCursor._meta.db_table)
    sql = BASELINE_SQL.format(table=table)
    log = StatementLog()
    begin = time.perf_counter()
    with connection.execute_wrapper(log), connection.cursor() as cursor:
        cursor.execute(sql, [adapt(now + MIN_CLAIM), tenant.pk, adapt(now), adapt(now)])
        claimed = len(cursor.fetchall())
    seconds = time.perf_counter() - begin
    return {
        "path": "one raw UPDATE ... RETURNING over the tenant's due cursors",
        "seconds": round(seconds, 4),
        "statements": log.count,
        "claimed": claimed,
    }


BENCHMARK = Benchmark(
    name="dispatch",
    summary="One tick of the sync dispatcher over 10,000 stores x 4 resources, against a raw UPDATE ... RETURNING.",
    default_scale=DEFAULT_SCALE,
    run=run,
)

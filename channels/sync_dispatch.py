"""The per-minute sync dispatcher: queue one run for each (store, resource) that is due, in a bounded number of
statements whatever the number of stores.

A tick:

1. reads the stores that sync (active, of an active tenant) with, per registered resource, whether their
   cursor exists: one query. Which jobs a store wants is `sync_jobs_for`'s rule (what its platform's channel
   can do, the data permissions it granted), worked out in memory once per (platform, permissions);
2. creates the cursors they lack in one bulk INSERT … ON CONFLICT DO NOTHING (only when some are missing: a
   new store, a newly granted permission);
3. reads the due cursors of those stores (next run unset or past, lease free): one query;
4. claims the due cursors of the jobs their stores want in ONE conditional UPDATE … RETURNING that pushes
   each one's next run forward (its job's interval, at least two minutes), so the next tick does not queue it
   again while its message waits; the run sets the real next time when it ends. The UPDATE re-checks "due and
   free" on the row it writes, so of two ticks at once only one claims a cursor; on PostgreSQL the rows are
   taken with FOR UPDATE SKIP LOCKED, so the other tick passes over them instead of waiting;
5. sends one `channels.run_store_sync` message per claimed cursor (trigger "schedule") through one producer —
   or, when a tick claims more than `FAN_OUT_ABOVE` (a SaaS-sized minute: thousands of stores due at once),
   one `channels.dispatch_claimed` message per `FAN_OUT_BATCH` of them, which workers expand into the runs in
   parallel. Building a Celery message costs 0.1 to 0.25 ms, so 40,000 of them in the beat process alone take
   longer than its minute; the claim already holds every cursor, so a batch delivered twice (acks_late) only
   queues runs that their cursor's lease turns away.

The tick spans every tenant (`dangerously_unscoped`): each run re-enters its own tenant's scope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from acorn.tasks import enqueue_now_many
from acorn.tenancy.scoping import dangerously_unscoped
from channels.models import Store, StoreStatus, SyncCursor, SyncTrigger
from channels.sync import SyncJob, sync_jobs, sync_jobs_applying

MIN_CLAIM = timedelta(minutes=2)
FAN_OUT_ABOVE = 1000  # claimed runs a tick sends itself; above this, workers send them in batches
FAN_OUT_BATCH = 500


@dataclass(frozen=True)
class _Due:
    cursor_pk: int
    tenant_id: int
    store_id: int
    resource: str


def _claim_until(job: SyncJob, now: datetime) -> datetime:
    return now + max(job.interval, MIN_CLAIM)


def _wanted_resources() -> dict[tuple[int, int], set[str]]:
    """(tenant id, store id) → the resources its sync jobs want, for every store that syncs; creates the
    cursors they lack."""
    resources = [job.resource for job in sync_jobs()]
    flags = {f"has_{index}": resource for index, resource in enumerate(resources)}
    stores = (
        Store.objects.filter(status=StoreStatus.ACTIVE, tenant__is_active=True)
        .annotate(
            **{
                flag: Exists(SyncCursor.objects.filter(store=OuterRef("pk"), resource=resource))
                for flag, resource in flags.items()
            }
        )
        .values_list("pk", "tenant_id", "platform", "permissions", *flags)
    )
    jobs_by_kind: dict[tuple[str, frozenset[str]], set[str]] = {}
    wanted: dict[tuple[int, int], set[str]] = {}
    missing: list[SyncCursor] = []
    for store_id, tenant_id, platform, permissions, *present in stores:
        kind = (platform, frozenset(permissions or ()))
        if kind not in jobs_by_kind:
            applying = sync_jobs_applying(platform=platform, permissions=permissions)
            jobs_by_kind[kind] = {job.resource for job in applying}
        store_wants = jobs_by_kind[kind]
        wanted[(tenant_id, store_id)] = store_wants
        missing.extend(
            SyncCursor(tenant_id=tenant_id, store_id=store_id, resource=resource)
            for resource, exists in zip(resources, present, strict=True)
            if resource in store_wants and not exists
        )
    if missing:
        # ignore_conflicts: a cursor created meanwhile (by a run, or another tick) is already there
        SyncCursor.objects.bulk_create(missing, ignore_conflicts=True)
    return wanted


def _due_cursors(now: datetime) -> list[_Due]:
    rows = (
        SyncCursor.objects.filter(store__status=StoreStatus.ACTIVE, store__tenant__is_active=True)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .values_list("pk", "tenant_id", "store_id", "resource")
    )
    return [_Due(*row) for row in rows]


def _claim(due: list[_Due], jobs: dict[str, SyncJob], now: datetime) -> list[_Due]:
    """Claim the cursors in one UPDATE … RETURNING that re-checks that each is still due and free."""
    if not due:
        return []
    table = connection.ops.quote_name(SyncCursor._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    when = " ".join("WHEN %s THEN %s" for _ in jobs)
    when_params: list[Any] = []
    for resource, job in jobs.items():
        when_params += [resource, adapt(_claim_until(job, now))]
    still_due = "(next_run_at IS NULL OR next_run_at <= %s) AND (lease_until IS NULL OR lease_until < %s)"
    due_params = [adapt(now), adapt(now)]
    pks = [row.cursor_pk for row in due]
    if connection.vendor == "postgresql":
        chosen = f"SELECT id FROM {table} WHERE id = ANY(%s) AND {still_due} FOR UPDATE SKIP LOCKED"  # noqa: S608
        chosen_params: list[Any] = [pks, *due_params]
    else:
        chosen = "SELECT value FROM json_each(%s)"
        chosen_params = [json.dumps(pks)]
    # The table is the model's own (quoted); every value is a parameter.
    sql = (
        f"UPDATE {table} SET next_run_at = CASE resource {when} ELSE next_run_at END "  # noqa: S608
        f"WHERE id IN ({chosen}) AND {still_due} "
        "RETURNING id, tenant_id, store_id, resource"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*when_params, *chosen_params, *due_params])
        claimed = [_Due(*row) for row in cursor.fetchall()]
    order = {resource: index for index, resource in enumerate(jobs)}
    return sorted(claimed, key=lambda row: (row.store_id, order.get(row.resource, len(order))))


def sync_dispatch_due(*, now: datetime | None = None) -> int:
    """Queue one scheduled run for each (store, resource) that is due and not leased, creating the cursors
    that are missing; claims each cursor it queues. Returns the count."""
    now = now or timezone.now()
    jobs = {job.resource: job for job in sync_jobs()}
    with dangerously_unscoped():  # the beat spans every tenant; each run re-enters its tenant's scope
        wanted = _wanted_resources()
        due = [
            row
            for row in _due_cursors(now)
            if row.resource in jobs and row.resource in wanted.get((row.tenant_id, row.store_id), ())
        ]
        claimed = _claim(due, jobs, now)
    runs = [[row.tenant_id, row.store_id, row.resource] for row in claimed]
    try:
        if len(runs) > FAN_OUT_ABOVE:
            enqueue_now_many(
                "channels.dispatch_claimed",
                ({"runs": runs[start : start + FAN_OUT_BATCH]} for start in range(0, len(runs), FAN_OUT_BATCH)),
            )
            return len(runs)
        return sync_runs_enqueue(runs)
    except Exception:
        _unclaim(claimed, jobs, now)
        raise


def _unclaim(claimed: list[_Due], jobs: dict[str, SyncJob], now: datetime) -> None:
    """The tick could not send its runs (the broker is down): its cursors are due again now, instead of waiting
    out their claim (an hour and more for some jobs). A cursor whose run started meanwhile (a message did go
    out) holds another next run or a lease and is left alone; a run sent twice is turned away by the lease."""
    by_resource: dict[str, list[int]] = {}
    for row in claimed:
        by_resource.setdefault(row.resource, []).append(row.cursor_pk)
    with dangerously_unscoped():
        for resource, pks in by_resource.items():
            SyncCursor.objects.filter(pk__in=pks, next_run_at=_claim_until(jobs[resource], now)).filter(
                Q(lease_until__isnull=True) | Q(lease_until__lt=now)
            ).update(next_run_at=now)


def sync_runs_enqueue(runs: list[list[Any]]) -> int:
    """Send one scheduled `channels.run_store_sync` per claimed [tenant id, store id, resource]."""
    return enqueue_now_many(
        "channels.run_store_sync",
        (
            {
                "tenant_id": tenant_id,
                "store_id": store_id,
                "resource": resource,
                "trigger": str(SyncTrigger.SCHEDULE.value),
            }
            for tenant_id, store_id, resource in runs
        ),
    )

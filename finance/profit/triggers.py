"""When the P&L must be recomputed. Orders, refunds and statements that changed are written down as due
(`ProfitRefreshDue`) in the transaction that changed them, and after the commit one `finance.refresh_profit`
per tenant is queued, at most one per debounce window (`ACORN_PROFIT_REFRESH_DEBOUNCE_SECONDS`). The task
drains everything due for the tenant when it runs: a first sync of 100,000 orders commits a thousand pages,
which used to queue a thousand refreshes (each re-reading the rates and re-summing the same days) and kept a
worker busy long after the sync; now they are a handful, each as large as what arrived while it waited.
Nothing is lost if the message is: the rows stay due and the beat (`finance.dispatch_profit_refreshes`)
queues the tenant again. Costs enqueue their own refresh directly (finance.profit.costs, other_costs)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from acorn.tasks import enqueue_now, task_named
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from acorn.transactions import on_commit_gathered
from channels.models import Store
from finance.profit.models import ProfitRefreshDue, RefreshKind
from finance.profit.rollup import profit_refresh
from orders.models import Order

logger = logging.getLogger(__name__)

TASK = "finance.refresh_profit"
DRAIN_BATCH = 1_000  # due rows refreshed per transaction (a change to one of them waits for its commit)
DRAIN_BUDGET_SECONDS = 120.0  # then the task queues itself again, so one tenant cannot hold a worker for long
STALE_AFTER = timedelta(minutes=2)  # due this long with no refresh: the beat queues the tenant again
GRACE_SECONDS = 60  # the debounce key outlives the countdown by this much


def debounce_key(tenant_id: int) -> str:
    return f"profit-refresh:{tenant_id}:queued"


def profit_refresh_schedule(tenant_id: int) -> bool:
    """Queue the tenant's refresh unless one is already waiting (call it after the commit). True if queued."""
    delay = settings.ACORN_PROFIT_REFRESH_DEBOUNCE_SECONDS
    if not cache.add(debounce_key(tenant_id), "1", timeout=delay + GRACE_SECONDS):
        return False
    enqueue_now("finance.refresh_profit", countdown=delay or None, tenant_id=tenant_id)
    return True


def profit_due(
    *,
    tenant_id: int,
    order_ids: Iterable[int] = (),
    refund_ids: Iterable[int] = (),
    settlement_ids: Iterable[int] = (),
) -> None:
    """These orders, refunds or statements changed: they are due now (in the caller's transaction) and the
    tenant's refresh is queued once the transaction commits (never after a rollback)."""
    task_named("finance.refresh_profit")  # an unknown name fails here, in the caller's transaction
    rows = [
        ProfitRefreshDue(tenant_id=tenant_id, kind=kind, object_id=pk)
        for kind, ids in (
            (RefreshKind.ORDER, order_ids),
            (RefreshKind.REFUND, refund_ids),
            (RefreshKind.SETTLEMENT, settlement_ids),
        )
        for pk in sorted({pk for pk in ids if pk})
    ]
    if not rows:
        return
    ProfitRefreshDue.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    # One schedule per transaction and tenant, whatever the number of calls (the ids gathered are not used).
    on_commit_gathered(key=(TASK, tenant_id), ids=[0], run=lambda _ids: profit_refresh_schedule(tenant_id))


def on_orders_upserted(*, store: Store, external_ids: Sequence[str], updated_external_ids: Sequence[str]) -> None:
    """orders.hooks listener: new and changed orders of a page."""
    wanted = [*external_ids, *updated_external_ids]
    if wanted:
        ids = Order.objects.filter(store=store, external_id__in=wanted).values_list("pk", flat=True)
        profit_due(tenant_id=store.tenant_id, order_ids=list(ids))


def on_refunds_money_changed(*, tenant_id: int, refund_ids: Sequence[int]) -> None:
    """refunds.listeners listener: refunds arrived, succeeded or had a return decided."""
    profit_due(tenant_id=tenant_id, refund_ids=refund_ids)


def _drain_batch(tenant: Tenant) -> int:
    """Refresh up to DRAIN_BATCH due rows of the tenant and delete them, in one transaction (a failure leaves
    them due). Rows another worker is draining are skipped on PostgreSQL. Returns how many were drained."""
    with tenant_scope(tenant), transaction.atomic():
        due = ProfitRefreshDue.objects.filter(tenant=tenant).order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due.values_list("pk", "kind", "object_id")[:DRAIN_BATCH])
        if not rows:
            return 0
        ids: dict[str, list[int]] = {kind: [] for kind in RefreshKind.values}
        for _pk, kind, object_id in rows:
            ids[kind].append(object_id)
        profit_refresh(
            tenant=tenant,
            order_ids=ids[RefreshKind.ORDER],
            refund_ids=ids[RefreshKind.REFUND],
            settlement_ids=ids[RefreshKind.SETTLEMENT],
        )
        ProfitRefreshDue.objects.filter(pk__in=[pk for pk, _kind, _id in rows]).delete()
    return len(rows)


def profit_refresh_due(*, tenant: Tenant) -> int:
    """Refresh everything due for the tenant (the task's work). What becomes due while this runs queues a new
    task (the debounce key is cleared first). Returns how many due rows were refreshed."""
    cache.delete(debounce_key(tenant.pk))
    started, drained = time.monotonic(), 0
    while True:
        batch = _drain_batch(tenant)
        drained += batch
        if batch < DRAIN_BATCH:
            return drained
        if time.monotonic() - started > DRAIN_BUDGET_SECONDS:
            enqueue_now(
                "finance.refresh_profit", tenant_id=tenant.pk
            )  # go on in a fresh task; other tenants get a turn
            return drained


def tenants_with_stale_refreshes() -> list[int]:
    """Active tenants with rows due for longer than STALE_AFTER (their queued task was lost)."""
    with dangerously_unscoped():
        return sorted(
            set(
                ProfitRefreshDue.objects.filter(
                    created_at__lt=timezone.now() - STALE_AFTER, tenant__is_active=True
                ).values_list("tenant_id", flat=True)
            )
        )

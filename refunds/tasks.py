"""Celery tasks of the refunds app: thin wrappers that load by id and call one service.

Execution of approved console refunds on their channel (refunds.execution): a per-refund task queued on
commit, a per-refund Amazon feed poll, and a beat fan-out for due retries, lost tasks and feed polls.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task

from acorn.tenancy.models import Tenant
from acorn.tenancy.tasks import TenantTask
from refunds import rates
from refunds.alerts import alerts_evaluate
from refunds.execution import due_executions_unscoped, refund_execute, refund_feed_poll
from refunds.monitoring import service_notices_send_stale_unscoped, service_notices_window_end, weekly_digest_send
from refunds.restock import returns_restock_by_disposition_unscoped

logger = logging.getLogger(__name__)


@shared_task(name="refunds.execute_refund", base=TenantTask, bind=True, acks_late=True)
def execute_refund_task(self: TenantTask, *, tenant_id: int, refund_id: int) -> str:
    """Execute one approved refund on its channel. Safe to run twice: the send is claimed first."""
    return refund_execute(refund_pk=refund_id)


@shared_task(name="refunds.poll_refund_feed", base=TenantTask, bind=True, acks_late=True)
def poll_refund_feed_task(self: TenantTask, *, tenant_id: int, refund_id: int) -> str:
    """Read the processing report of an Amazon refund's adjustment feed and settle the refund."""
    return refund_feed_poll(refund_pk=refund_id)


@shared_task(name="refunds.dispatch_refund_executions", acks_late=True)
def dispatch_refund_executions_task() -> int:
    """Beat, every minute: queue due executions and retries (and ones whose task was lost) and due Amazon
    feed reads. Returns how many were queued."""
    due = due_executions_unscoped()
    for tenant_id, refund_id in due.executions:
        execute_refund_task.delay(tenant_id=tenant_id, refund_id=refund_id)
    for tenant_id, refund_id in due.polls:
        poll_refund_feed_task.delay(tenant_id=tenant_id, refund_id=refund_id)
    return len(due.executions) + len(due.polls)


@shared_task(name="refunds.restock_returns", acks_late=True)
def restock_returns_task() -> int:
    """Beat, every 15 minutes: received returns restocked by their disposition (FBA: left to Amazon)."""
    return returns_restock_by_disposition_unscoped()


# --- refund rates (refunds.rates): the nightly rollup rebuild ---------------------------------------------


@shared_task(name="refunds.rebuild_refund_rates", base=TenantTask, bind=True, acks_late=True)
def rebuild_refund_rates_task(self: TenantTask, *, tenant_id: int) -> int:
    """Recompute one tenant's refund-rate rollup of the last 120 days, store by store (mappings created or
    changed since re-resolve the history). Returns the rows written."""
    tenant = Tenant.objects.get(pk=tenant_id)
    # Through the module: the clock is read where tests can move it (refunds.rates.utc_today).
    since = rates.utc_today() - timedelta(days=rates.NIGHTLY_REBUILD_DAYS - 1)
    return rates.rollup_rebuild_tenant(tenant=tenant, since=since).rows


@shared_task(name="refunds.dispatch_refund_rate_rebuilds", acks_late=True)
def dispatch_refund_rate_rebuilds_task() -> int:
    """Beat, nightly: one rebuild task per active tenant. Returns how many were queued."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        rebuild_refund_rates_task.delay(tenant_id=tenant_id)
    return len(tenant_ids)


# --- refund-rate alerts, customer-service notices and the weekly digest (refunds.alerts, refunds.monitoring) --


@shared_task(name="refunds.evaluate_refund_alerts", base=TenantTask, bind=True, acks_late=True)
def evaluate_refund_alerts_task(
    self: TenantTask, *, tenant_id: int, product_ids: list[int] | None = None
) -> dict[str, int]:
    """Raise, refresh and resolve one tenant's refund-rate alerts (every SKU, or the given ones)."""
    return alerts_evaluate(tenant=Tenant.objects.get(pk=tenant_id), product_ids=product_ids)


@shared_task(name="refunds.dispatch_refund_alerts", acks_late=True)
def dispatch_refund_alerts_task() -> int:
    """Beat, every 15 minutes: one evaluation per active tenant (sales change rates too). Returns how many."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        evaluate_refund_alerts_task.delay(tenant_id=tenant_id)
    return len(tenant_ids)


@shared_task(name="refunds.flush_service_notices", base=TenantTask, bind=True, acks_late=True)
def flush_service_notices_task(self: TenantTask, *, tenant_id: int) -> int:
    """The end of a customer-service batch window: send what waited (one notification per kind)."""
    return service_notices_window_end(tenant_id=tenant_id)


@shared_task(name="refunds.send_stale_service_notices", acks_late=True)
def send_stale_service_notices_task() -> int:
    """Beat, every 5 minutes: notices whose window task was lost are sent."""
    return service_notices_send_stale_unscoped()


@shared_task(name="refunds.send_weekly_digest", base=TenantTask, bind=True, acks_late=True)
def send_weekly_digest_task(self: TenantTask, *, tenant_id: int) -> bool:
    """Last week's digest of one tenant; never twice for the same week."""
    return weekly_digest_send(tenant=Tenant.objects.get(pk=tenant_id))


@shared_task(name="refunds.dispatch_weekly_digests", acks_late=True)
def dispatch_weekly_digests_task() -> int:
    """Beat, Mondays 07:00 UTC: one digest task per active tenant. Returns how many were queued."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        send_weekly_digest_task.delay(tenant_id=tenant_id)
    return len(tenant_ids)

"""Celery tasks of finance: the hourly WooCommerce statements (a fan-out, then one task per site), the
journals of statements whose figures changed, the rebuild of a channel's journals after its account mapping
changed, large settlement files uploaded in the console, and the hourly posting of due journals to QuickBooks
Online (a fan-out, then one task per connected company)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped
from acorn.tenancy.tasks import TenantTask
from channels.models import Platform, Store, StoreStatus
from channels.selectors import store_get
from finance.ledger.services import channel_journals_rebuild, settlement_journals
from finance.profit.rollup import NIGHTLY_REBUILD_DAYS, profit_rebuild, profit_refresh
from finance.profit.triggers import profit_refresh_due, profit_refresh_schedule, tenants_with_stale_refreshes
from finance.quickbooks.client import QuickBooksError
from finance.quickbooks.selectors import quickbooks_connections_active
from finance.quickbooks.services import journals_post
from finance.settlements.files import settlement_upload_run
from finance.settlements.models import Settlement, SettlementUpload
from finance.settlements.woocommerce import woocommerce_store_statements_build

logger = logging.getLogger(__name__)


@shared_task(name="finance.dispatch_woocommerce_statements", acks_late=True)
def dispatch_woocommerce_statements_task() -> int:
    """Hourly: queue the statement build of every WooCommerce site of every active company. Returns the count.

    Statements are built from the orders and refunds ACORN already holds, so a site whose authorisation
    lapsed still gets them; sites still being connected (no data yet) are left out."""
    with dangerously_unscoped():
        stores = list(
            Store.objects.filter(
                platform=Platform.WOOCOMMERCE, tenant__is_active=True, delete_requested_at__isnull=True
            )
            .exclude(status=StoreStatus.PENDING_AUTH)
            .order_by("pk")
            .values_list("tenant_id", "pk")
        )
    for tenant_id, store_id in stores:
        build_store_statements_task.delay(tenant_id=tenant_id, store_id=store_id)
    return len(stores)


@shared_task(name="finance.build_store_statements", base=TenantTask, bind=True, acks_late=True)
def build_store_statements_task(self: TenantTask, *, tenant_id: int, store_id: int) -> int:
    """Build last month's and this month's statements of one WooCommerce site. Safe to run twice."""
    store = store_get(tenant_id=tenant_id, pk=store_id)
    if store is None:
        logger.info("store_missing", extra={"tenant_id": tenant_id, "store_id": store_id})
        return 0
    return woocommerce_store_statements_build(store=store)


@shared_task(name="finance.build_statement_journals", base=TenantTask, bind=True, acks_late=True)
def build_statement_journals_task(self: TenantTask, *, tenant_id: int, settlement_ids: list[int]) -> int:
    """Build the journals of these statements (drafts; an adjustment for what was already exported or
    posted). Safe to run twice: a second run finds nothing changed. Returns the journals written."""
    written = 0
    for settlement in Settlement.objects.filter(tenant_id=tenant_id, pk__in=settlement_ids).select_related(
        "store", "tenant"
    ):
        written += len(settlement_journals(settlement=settlement))
    return written


@shared_task(name="finance.import_settlement_upload", base=TenantTask, bind=True, acks_late=True)
def import_settlement_upload_task(self: TenantTask, *, tenant_id: int, upload_id: int) -> str:
    """Import a large uploaded settlement file. Safe to run twice (a finished upload is left as it is)."""
    upload = SettlementUpload.objects.filter(tenant_id=tenant_id, pk=upload_id).select_related("store").first()
    if upload is None:
        return "missing"
    return settlement_upload_run(upload=upload).status


@shared_task(name="finance.rebuild_channel_journals", base=TenantTask, bind=True, acks_late=True)
def rebuild_channel_journals_task(
    self: TenantTask, *, tenant_id: int, platform: str, store_id: int | None = None
) -> dict[str, object]:
    """Rebuild the journals of a channel's statements (one store's, when given) after a mapping change: drafts
    follow the mapping, locked journals get adjustments. Safe to run twice."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {}
    result = channel_journals_rebuild(tenant=tenant, platform=platform, store_id=store_id)
    if result.failed:
        logger.warning(
            "journals_rebuild_refused", extra={"tenant_id": tenant_id, "platform": platform, "failed": result.failed}
        )
    return {
        "statements": result.statements,
        "journals": result.journals,
        "adjustments": result.adjustments,
        "failed": result.failed,
    }


@shared_task(name="finance.dispatch_quickbooks_posting", acks_late=True)
def dispatch_quickbooks_posting_task() -> int:
    """Hourly: queue the posting of every company connected to QuickBooks Online. Returns the count."""
    with dangerously_unscoped():
        tenant_ids = list(quickbooks_connections_active().values_list("tenant_id", flat=True))
    for tenant_id in tenant_ids:
        post_journals_task.delay(tenant_id=tenant_id)
    return len(tenant_ids)


@shared_task(name="finance.post_journals", base=TenantTask, bind=True, acks_late=True)
def post_journals_task(self: TenantTask, *, tenant_id: int) -> dict[str, int]:
    """Post the tenant's due journals to QuickBooks Online, each exactly once. Safe to run twice."""
    tenant = Tenant.objects.get(pk=tenant_id)
    try:
        return journals_post(tenant=tenant)
    except QuickBooksError as error:  # not connected / authorisation lost / Intuit unreachable: said on the page
        logger.info("quickbooks_post_skipped", extra={"tenant_id": tenant_id, "reason": str(error)})
        return {"posted": 0, "already_posted": 0, "failed": 0}


@shared_task(name="finance.refresh_profit", base=TenantTask, bind=True, acks_late=True)
def refresh_profit_task(
    self: TenantTask,
    *,
    tenant_id: int,
    order_ids: list[int] | None = None,
    refund_ids: list[int] | None = None,
    settlement_ids: list[int] | None = None,
    other_cost_ids: list[int] | None = None,
    product_ids: list[int] | None = None,
    since: str | None = None,
) -> int:
    """Recompute the P&L of what changed: with only the tenant, everything due for it (orders, refunds and
    statements written down by finance.profit.triggers); else these costs of no order, or every sale of
    products since a moment (ISO 8601) after their cost changed, or the ids given. Safe to run twice."""
    tenant = Tenant.objects.get(pk=tenant_id)
    if not (order_ids or refund_ids or settlement_ids or other_cost_ids or product_ids):
        return profit_refresh_due(tenant=tenant)
    return profit_refresh(
        tenant=tenant,
        order_ids=order_ids or (),
        refund_ids=refund_ids or (),
        settlement_ids=settlement_ids or (),
        other_cost_ids=other_cost_ids or (),
        product_ids=product_ids or (),
        since=datetime.fromisoformat(since) if since else None,
    )


@shared_task(name="finance.dispatch_profit_refreshes", acks_late=True)
def dispatch_profit_refreshes_task() -> int:
    """Beat: queue the refresh of every company with P&L changes due for a while (its queued task was lost,
    or the worker died). Returns how many were queued."""
    return sum(profit_refresh_schedule(tenant_id) for tenant_id in tenants_with_stale_refreshes())


@shared_task(name="finance.rebuild_profit_nightly", acks_late=True)
def rebuild_profit_nightly_task() -> int:
    """Nightly: queue the P&L rebuild of the last NIGHTLY_REBUILD_DAYS days of every active company (rates
    loaded late, mappings and costs changed, anything a refresh missed). Returns the companies queued."""
    with dangerously_unscoped():
        tenant_ids = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        rebuild_profit_task.delay(tenant_id=tenant_id, days=NIGHTLY_REBUILD_DAYS)
    return len(tenant_ids)


@shared_task(name="finance.rebuild_profit", base=TenantTask, bind=True, acks_late=True)
def rebuild_profit_task(self: TenantTask, *, tenant_id: int, days: int | None = None) -> int:
    """Rebuild one company's P&L for the last `days` days (all history when None). Safe to run twice."""
    tenant = Tenant.objects.get(pk=tenant_id)
    since = timezone.now().date() - timedelta(days=days) if days is not None else None
    return profit_rebuild(tenant=tenant, since=since)

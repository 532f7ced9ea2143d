"""Celery tasks of the stock pool: push a store's quantities to its channel, and the beat fan-out that
sends due retries and refreshes every store's listings now and then."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from acorn.tenancy.tasks import TenantTask
from channels.models import StoreStatus
from channels.selectors import store_get
from inventory.models import SharingRule
from inventory.sharing import stock_push_schedule, stores_with_due_pushes
from inventory.sharing_push import store_stock_push

logger = logging.getLogger(__name__)


@shared_task(name="inventory.push_store_stock", base=TenantTask, bind=True, acks_late=True)
def push_store_stock_task(self: TenantTask, *, tenant_id: int, store_id: int) -> str:
    """Refresh one store's listings and push what is due. Safe to run twice: what is in step is not sent
    again, and a repeated Shopify call carries the same idempotency key."""
    store = store_get(tenant_id=tenant_id, pk=store_id)
    if store is None:
        logger.info("store_missing", extra={"tenant_id": tenant_id, "store_id": store_id})
        return "missing"
    summary = store_stock_push(store=store)
    if summary.status in ("busy", "partial"):
        # Another run holds the store (come back after the window: it may have missed changes), or the time
        # budget ran out with listings still due (go on at once).
        countdown = max(5, settings.ACORN_STOCK_PUSH_DEBOUNCE_SECONDS) if summary.status == "busy" else 0
        push_store_stock_task.apply_async(kwargs={"tenant_id": tenant_id, "store_id": store_id}, countdown=countdown)
    return summary.status


@shared_task(name="inventory.dispatch_stock_pushes", acks_late=True)
def dispatch_stock_pushes_task(*, full: bool = False) -> int:
    """Beat: queue a push for every store with a listing due (a retry whose time has come, or a change whose
    push was lost); with `full`, for every store with a sharing rule, so new mappings and catalogue changes get
    their targets. Returns how many pushes were queued."""
    with dangerously_unscoped():
        rules = SharingRule.objects.filter(store__status=StoreStatus.ACTIVE, tenant__is_active=True)
        if not full:
            rules = rules.filter(push_enabled=True, store_id__in=stores_with_due_pushes())
        rules_list = list(rules.select_related("store", "tenant").order_by("pk"))
    queued = 0
    for rule in rules_list:
        with tenant_scope(rule.tenant):
            queued += int(stock_push_schedule(store=rule.store))
    return queued

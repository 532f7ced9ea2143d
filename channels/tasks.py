"""Celery tasks of the sync engine: the per-minute dispatcher and one run of one (store, resource)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from acorn import logcontext
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from acorn.tenancy.tasks import TenantTask
from channels.adapters.base import Capability, ChannelRetryableError
from channels.adapters.registry import platform_supports
from channels.models import StoreStatus, SyncTrigger, WebhookEvent
from channels.selectors import store_get
from channels.services import store_register_webhooks, stores_warn_reauthorization
from channels.services_lifecycle import store_delete, store_refresh_participations
from channels.store_state import stores_expire_pending
from channels.sync import SyncAlreadyRunning, sync_run_execute
from channels.sync_dispatch import sync_dispatch_due, sync_runs_enqueue
from channels.webhooks import SHOPIFY_COMPLIANCE_TOPICS, webhook_event_process, webhook_events_dispatch_due

logger = logging.getLogger(__name__)


@shared_task(name="channels.run_store_sync", base=TenantTask, bind=True, acks_late=True)
def run_store_sync_task(
    self: TenantTask, *, tenant_id: int, store_id: int, resource: str, trigger: str = SyncTrigger.SCHEDULE
) -> str:
    """Run one sync of one resource of one store. Safe to run twice: the lease makes the second a no-op."""
    store = store_get(tenant_id=tenant_id, pk=store_id)
    if store is None:
        logger.info("store_missing", extra={"tenant_id": tenant_id, "store_id": store_id})
        return "missing"
    try:
        run = sync_run_execute(store=store, resource=resource, trigger=trigger)
    except SyncAlreadyRunning:
        return "already_running"
    return run.status


@shared_task(name="channels.process_webhook_event", base=TenantTask, bind=True, acks_late=True)
def process_webhook_event_task(self: TenantTask, *, tenant_id: int, event_id: int) -> str:
    """Claim one stored webhook delivery and act on it (once: a second run finds it claimed or done); a
    failure is retried later by `dispatch_due_webhooks`."""
    event = WebhookEvent.objects.filter(pk=event_id).select_related("store").first()
    if event is None:
        return "missing"
    return webhook_event_process(event=event)


@shared_task(name="channels.process_compliance_webhook_event", acks_late=True)
def process_compliance_webhook_event_task(*, tenant_id: int, event_id: int) -> str:
    """A Shopify compliance delivery (customers/redact, shop/redact, customers/data_request) of a closed account
    in its grace period: acted on although the tenant is inactive (so not a TenantTask), since ACORN still
    holds the data the shop asks about. Claims once, like process_webhook_event."""
    tenant = Tenant.objects.filter(pk=tenant_id, data_deleted_at__isnull=True).first()
    if tenant is None:
        return "missing"
    with logcontext.bound(tenant_id=tenant.pk), tenant_scope(tenant):
        event = (
            WebhookEvent.objects.filter(tenant=tenant, pk=event_id, topic__in=SHOPIFY_COMPLIANCE_TOPICS)
            .select_related("store")
            .first()
        )
        if event is None:
            return "missing"
        return webhook_event_process(event=event)


@shared_task(name="channels.dispatch_due_webhooks", acks_late=True)
def dispatch_due_webhooks_task() -> int:
    """Every minute: queue the webhook events whose retry is due, whose worker died, or whose task was lost.
    Returns the count."""
    return webhook_events_dispatch_due()


@shared_task(
    name="channels.register_webhooks",
    base=TenantTask,
    bind=True,
    acks_late=True,
    autoretry_for=(ChannelRetryableError,),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=8,
)
def register_webhooks_task(self: TenantTask, *, tenant_id: int, store_id: int) -> list[str]:
    """Subscribe the store's shop or site to ACORN's webhook endpoint (idempotent; retried while the
    platform cannot be reached — the scheduled poll covers the gap)."""
    store = store_get(tenant_id=tenant_id, pk=store_id)
    if store is None or store.status != StoreStatus.ACTIVE:
        return []
    return store_register_webhooks(store=store)


@shared_task(
    name="channels.refresh_participations",
    base=TenantTask,
    bind=True,
    acks_late=True,
    autoretry_for=(ChannelRetryableError,),
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=6,
)
def refresh_participations_task(self: TenantTask, *, tenant_id: int, store_id: int) -> list[str]:
    """Ask Amazon again which marketplaces the seller participates in (after the question failed during
    the authorisation). Returns the participating codes."""
    store = store_get(tenant_id=tenant_id, pk=store_id)
    if store is None or store.status != StoreStatus.ACTIVE:
        return []
    if not platform_supports(store.platform, Capability.READ_MARKETPLACE_PARTICIPATIONS):
        return []
    return store_refresh_participations(store=store).participating_codes() or []


@shared_task(name="channels.delete_store", base=TenantTask, bind=True, acks_late=True)
def delete_store_task(self: TenantTask, *, tenant_id: int, store_id: int, actor_id: int | None = None) -> str:
    """Delete a store whose deletion an owner or admin confirmed. Safe to run twice (the second finds none)."""
    store = store_get(tenant_id=tenant_id, pk=store_id)
    if store is None:
        return "missing"
    if store.delete_requested_at is None:
        return "not_requested"
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        store_delete(store=store, actor=actor)
    except ValidationError:
        return "refused"
    return "deleted"


@shared_task(name="channels.expire_pending_stores", acks_late=True)
def expire_pending_stores_task() -> int:
    """Every ten minutes: remove stores whose authorisation was never completed (one hour). Returns how many."""
    return stores_expire_pending()


@shared_task(name="channels.warn_reauthorization", acks_late=True)
def warn_reauthorization_task() -> int:
    """Daily: notify once per store 30 days before its yearly Amazon re-authorisation."""
    return stores_warn_reauthorization()


@shared_task(name="channels.dispatch_claimed", acks_late=True)
def dispatch_claimed_task(*, runs: list[list[Any]]) -> int:
    """A batch of runs a busy tick claimed (channels.sync_dispatch): queue each. Returns the count."""
    return sync_runs_enqueue(runs)


@shared_task(name="channels.dispatch_due_syncs", acks_late=True)
def dispatch_due_syncs_task() -> int:
    """Every minute: queue one run for each (store, resource) that is due and not leased. Returns the count."""
    return sync_dispatch_due()

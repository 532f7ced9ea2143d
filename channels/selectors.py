"""Reads of stores, sync state and quarantined records."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from acorn.tenancy.models import Tenant
from channels.models import QuarantinedRecord, Store, StoreStatus, SyncCursor, SyncRun, WebhookEvent


def store_list(*, tenant: Tenant) -> QuerySet[Store]:
    return Store.objects.filter(tenant=tenant).order_by("name", "pk")


def store_get(*, tenant_id: int, pk: int) -> Store | None:
    return Store.objects.filter(tenant_id=tenant_id, pk=pk).select_related("tenant").first()


def store_get_or_404(*, tenant: Tenant, pk: int) -> Store:
    store = store_get(tenant_id=tenant.pk, pk=pk)
    if store is None:
        raise Http404
    return store


def store_count_in_use(*, tenant: Tenant) -> int:
    """Stores that hold a seat under the plan: every store that is not disabled."""
    return Store.objects.filter(tenant=tenant).exclude(status=StoreStatus.DISABLED).count()


def sync_cursor_list(*, store: Store) -> QuerySet[SyncCursor]:
    return SyncCursor.objects.filter(store=store).order_by("resource")


def sync_run_list(*, store: Store, status: str = "", resource: str = "") -> QuerySet[SyncRun]:
    runs = SyncRun.objects.filter(store=store)
    if status:
        runs = runs.filter(status=status)
    if resource:
        runs = runs.filter(resource=resource)
    return runs.order_by("-started_at", "-pk")


def sync_run_get_or_404(*, store: Store, pk: int) -> SyncRun:
    run = SyncRun.objects.filter(store=store, pk=pk).first()
    if run is None:
        raise Http404
    return run


def quarantined_record_list(*, store: Store) -> QuerySet[QuarantinedRecord]:
    return QuarantinedRecord.objects.filter(store=store).select_related("sync_run").order_by("-last_seen_at", "-pk")


def webhook_event_list(*, store: Store) -> QuerySet[WebhookEvent]:
    """The store's webhook deliveries, newest first."""
    return WebhookEvent.objects.filter(store=store).order_by("-received_at", "-pk")

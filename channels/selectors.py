"""Reads of stores, sync state and quarantined records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from acorn.tenancy.models import Tenant
from channels.adapters.registry import platform_reauthorizes
from channels.models import (
    AUTHORIZATION_EXPIRY,
    QuarantinedRecord,
    Store,
    StoreStatus,
    SyncCursor,
    SyncRun,
    WebhookEvent,
)


def store_list(*, tenant: Tenant) -> QuerySet[Store]:
    return Store.objects.filter(tenant=tenant).order_by("name", "pk")


def store_needs_reauthorization_soon(store: Store) -> bool:
    """The store's channel asks sellers to renew ACORN's authorisation (Amazon, yearly) and the date is near."""
    return store.reauthorization_due_soon(channel_reauthorizes=platform_reauthorizes(store.platform))


def store_get(*, tenant_id: int, pk: int) -> Store | None:
    return Store.objects.filter(tenant_id=tenant_id, pk=pk).select_related("tenant").first()


def store_get_or_404(*, tenant: Tenant, pk: int) -> Store:
    store = store_get(tenant_id=tenant.pk, pk=pk)
    if store is None:
        raise Http404
    return store


def stores_in_use_filter() -> Q:
    """Stores that hold a plan seat: not disconnected, and not an authorisation that expired."""
    expired = Q(status=StoreStatus.PENDING_AUTH, created_at__lt=timezone.now() - AUTHORIZATION_EXPIRY)
    return ~Q(status=StoreStatus.DISABLED) & ~expired


def store_count_in_use(*, tenant: Tenant) -> int:
    """Stores that hold a seat under the plan (see stores_in_use_filter)."""
    return Store.objects.filter(tenant=tenant).filter(stores_in_use_filter()).count()


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


def stores_failing_count(*, tenant: Tenant) -> int:
    """Stores a person must look at: authorisation interrupted, or a sync failing run after run."""
    failing = SyncCursor.objects.filter(store__tenant=tenant, consecutive_failures__gt=0).values("store_id")
    return (
        Store.objects.filter(tenant=tenant)
        .filter(Q(status=StoreStatus.AUTH_INTERRUPTED) | Q(status=StoreStatus.ACTIVE, pk__in=failing))
        .count()
    )


# How long "Sync now" keeps watching for its runs to start (workers busy with other stores).
SYNC_REQUEST_WATCH = timedelta(minutes=10)


@dataclass(frozen=True)
class RequestedSync:
    """What became of a "Sync now" asked for at `since`: per resource the run it started (None: still queued)."""

    since: datetime
    runs: list[tuple[str, SyncRun | None]]

    @property
    def watching(self) -> bool:
        """Whether the page should look again: a run not started yet (for a while) or still going."""
        if any(run is not None and run.is_running for _resource, run in self.runs):
            return True
        waiting = any(run is None for _resource, run in self.runs)
        return waiting and timezone.now() - self.since < SYNC_REQUEST_WATCH

    @property
    def done(self) -> bool:
        return all(run is not None and not run.is_running for _resource, run in self.runs)


def sync_request_status(*, store: Store, since: datetime, resources: list[str]) -> RequestedSync:
    """The latest run of each resource started at or after `since` (one query)."""
    latest: dict[str, SyncRun] = {}
    for run in SyncRun.objects.filter(store=store, resource__in=resources, started_at__gte=since).order_by(
        "started_at", "pk"
    ):
        latest[run.resource] = run
    return RequestedSync(since=since, runs=[(resource, latest.get(resource)) for resource in resources])

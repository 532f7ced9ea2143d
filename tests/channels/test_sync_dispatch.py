"""The per-minute sync dispatcher (channels/sync_dispatch.py): which (store, resource) it queues, that each is
claimed once (a leased one never, two ticks at once never twice), and that a tick's statements do not grow
with the number of stores."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels import sync_dispatch
from channels.models import Store, SyncCursor
from channels.sync import sync_job_get, sync_jobs_for
from channels.tasks import dispatch_claimed_task, dispatch_due_syncs_task
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory, TenantFactory

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

Run = tuple[str, int, int, str, str]


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _store(tenant: Tenant, **fields: Any) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, **fields)


def _runs(enqueued: EnqueuedTasks) -> list[Run]:
    """What was queued, as (task, tenant, store, resource, trigger), and forget it."""
    runs = sorted(
        (task.name, kwargs["tenant_id"], kwargs["store_id"], kwargs["resource"], kwargs["trigger"])
        for task, kwargs in enqueued
    )
    enqueued.clear()
    return runs


def _expected(*stores: Store) -> list[Run]:
    return sorted(
        ("channels.run_store_sync", store.tenant_id, store.pk, job.resource, "schedule")
        for store in stores
        for job in sync_jobs_for(store)
    )


def _cursors(store: Store) -> dict[str, SyncCursor]:
    with dangerously_unscoped():
        return {cursor.resource: cursor for cursor in SyncCursor.objects.filter(store=store)}


@pytest.mark.django_db
def test_a_tick_queues_every_job_of_every_store_once_and_claims_it_for_its_interval(
    tenant: Tenant, other_tenant: Tenant, enqueued: EnqueuedTasks, clock: time_machine.Traveller
) -> None:
    # given: stores of two tenants, never synced (no cursors), one that granted only orders
    everything = _store(tenant)
    orders_only = _store(tenant, permissions=["orders"])
    other = _store(other_tenant)
    assert len(sync_jobs_for(everything)) >= 4 and [job.resource for job in sync_jobs_for(orders_only)] == ["orders"]

    # when
    queued = dispatch_due_syncs_task()

    # then: one scheduled run per (store, job), each with its own store's tenant
    expected = _expected(everything, orders_only, other)
    assert queued == len(expected) and _runs(enqueued) == expected
    # and each cursor was created and claimed until its job's interval (at least two minutes) has passed
    for store in (everything, orders_only, other):
        cursors = _cursors(store)
        assert set(cursors) == {job.resource for job in sync_jobs_for(store)}
        for resource, cursor in cursors.items():
            interval = max(sync_job_get(resource).interval, timedelta(minutes=2))
            assert cursor.next_run_at == NOW + interval and cursor.lease_until is None

    # when: the next minute, nothing is due
    clock.shift(timedelta(minutes=1))
    # then
    assert dispatch_due_syncs_task() == 0 and enqueued == []

    # when: ten minutes later, the orders jobs (every ten minutes) are due again, and only they
    clock.shift(timedelta(minutes=9))
    assert dispatch_due_syncs_task() == 3
    assert {resource for _task, _tenant, _store, resource, _trigger in _runs(enqueued)} == {"orders"}


@pytest.mark.django_db
def test_a_leased_cursor_is_not_claimed_and_an_expired_lease_is(
    tenant: Tenant, enqueued: EnqueuedTasks, clock: time_machine.Traveller
) -> None:
    # given: a store whose orders run holds its lease, and whose inventory run's lease has expired
    store = _store(tenant)
    with tenant_scope(tenant):
        SyncCursor.objects.create(tenant=tenant, store=store, resource="orders", lease_until=NOW + timedelta(minutes=3))
        SyncCursor.objects.create(
            tenant=tenant, store=store, resource="inventory", lease_until=NOW - timedelta(seconds=1)
        )

    # when
    dispatch_due_syncs_task()

    # then: every job but the leased one is queued, and the leased cursor is left as it was
    runs = _runs(enqueued)
    assert runs == [run for run in _expected(store) if run[3] != "orders"]
    assert ("channels.run_store_sync", tenant.pk, store.pk, "inventory", "schedule") in runs
    assert _cursors(store)["orders"].next_run_at is None

    # when: the run ends (lease released); then the next tick queues it
    with tenant_scope(tenant):
        SyncCursor.objects.filter(store=store, resource="orders").update(lease_until=None, lease_run="")
    assert dispatch_due_syncs_task() == 1
    assert _runs(enqueued) == [("channels.run_store_sync", tenant.pk, store.pk, "orders", "schedule")]


@pytest.mark.django_db
def test_stores_of_an_inactive_tenant_disabled_stores_and_revoked_permissions_are_not_dispatched(
    tenant: Tenant, enqueued: EnqueuedTasks, clock: time_machine.Traveller
) -> None:
    # given: an active store, a store of an inactive tenant, a disabled store, a store in authorisation,
    # and a store that revoked its inventory permission after its inventory cursor was made
    active = _store(tenant)
    suspended = _store(TenantFactory(name="Gamma", slug="gamma", is_active=False))
    disabled = _store(tenant, status="disabled")
    pending = _store(tenant, status="pending_auth")
    revoked = _store(tenant, permissions=["orders"])
    with tenant_scope(tenant):
        SyncCursor.objects.create(tenant=tenant, store=revoked, resource="inventory")

    # when
    dispatch_due_syncs_task()

    # then: only the active store's jobs, and the orders of the one that revoked inventory
    assert _runs(enqueued) == _expected(active, revoked)
    for store in (suspended, disabled, pending):
        assert _cursors(store) == {}  # not even a cursor
    assert _cursors(revoked)["inventory"].next_run_at is None  # left alone


@pytest.mark.django_db
def test_a_tick_that_lost_the_race_for_its_cursors_queues_none_of_them(
    tenant: Tenant, enqueued: EnqueuedTasks, monkeypatch: pytest.MonkeyPatch, clock: time_machine.Traveller
) -> None:
    # given: two stores, and a tick that another tick overtakes between reading the due cursors and claiming
    stores = [_store(tenant), _store(tenant)]
    claim = sync_dispatch._claim
    outcome: dict[str, int] = {}

    def overtaken(*args: Any) -> Any:
        monkeypatch.setattr(sync_dispatch, "_claim", claim)
        outcome["other_tick"] = sync_dispatch.sync_dispatch_due()
        return claim(*args)

    monkeypatch.setattr(sync_dispatch, "_claim", overtaken)

    # when
    first = sync_dispatch.sync_dispatch_due()

    # then: the other tick claimed every cursor; the overtaken one claimed none; each job is queued once
    expected = _expected(*stores)
    assert (outcome["other_tick"], first) == (len(expected), 0)
    assert _runs(enqueued) == expected


def _statements_of_a_tick() -> tuple[int, int]:
    with dangerously_unscoped():
        SyncCursor.objects.update(next_run_at=None)  # everything due again
    with CaptureQueriesContext(connection) as statements:
        queued = dispatch_due_syncs_task()
    return len(statements), queued


@pytest.mark.django_db
def test_a_ticks_statements_do_not_grow_with_the_number_of_stores(
    tenant: Tenant, enqueued: EnqueuedTasks, clock: time_machine.Traveller
) -> None:
    # given: five stores whose cursors exist
    stores = [_store(tenant) for _ in range(5)]
    jobs = len(sync_jobs_for(stores[0]))
    dispatch_due_syncs_task()
    five, queued = _statements_of_a_tick()
    assert queued == 5 * jobs

    # when: fifty stores, the new ones without cursors yet, then with them
    stores += [_store(tenant) for _ in range(45)]
    with CaptureQueriesContext(connection) as first_tick:
        assert dispatch_due_syncs_task() == 45 * jobs
    fifty, queued = _statements_of_a_tick()

    # then: the same statements, read the stores, read the due cursors, claim them
    assert queued == 50 * jobs and len(_runs(enqueued)) == (5 + 5 + 45 + 50) * jobs
    assert fifty == five == 3
    # and the tick that makes the missing cursors writes them in bulk (SQLite: a few hundred rows a statement)
    assert len(first_tick) <= 3 + 2 + (45 * jobs) // 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_concurrent_ticks_never_claim_a_cursor_twice(
    tenant: Tenant, enqueued: EnqueuedTasks, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: forty stores, and four ticks that all read the same due cursors before any of them claims
    stores = [_store(tenant) for _ in range(40)]
    ticks = 4
    both_read = threading.Barrier(ticks)
    claim: Callable[..., Any] = sync_dispatch._claim

    def claim_together(*args: Any) -> Any:
        both_read.wait(timeout=30)
        return claim(*args)

    monkeypatch.setattr(sync_dispatch, "_claim", claim_together)
    counts: list[int] = []
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            counts.append(dispatch_due_syncs_task())
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=tick) for _ in range(ticks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then: every job queued exactly once between them
    expected = _expected(*stores)
    assert not errors and len(counts) == ticks
    assert sum(counts) == len(expected)
    assert _runs(enqueued) == expected


@pytest.mark.django_db
def test_a_busy_tick_hands_its_runs_to_workers_in_batches(
    tenant: Tenant, enqueued: EnqueuedTasks, monkeypatch: pytest.MonkeyPatch, clock: time_machine.Traveller
) -> None:
    # given: more runs due than a tick sends itself (the threshold lowered: 6 stores' jobs, batches of 4)
    stores = [_store(tenant) for _ in range(6)]
    monkeypatch.setattr(sync_dispatch, "FAN_OUT_ABOVE", 5)
    monkeypatch.setattr(sync_dispatch, "FAN_OUT_BATCH", 4)

    # when: the tick runs
    total = dispatch_due_syncs_task()

    # then: it claimed them all and sent batches, not runs
    batches = [kwargs["runs"] for task, kwargs in enqueued]
    assert {task.name for task, _kwargs in enqueued} == {"channels.dispatch_claimed"}
    assert all(len(batch) <= 4 for batch in batches) and sum(len(batch) for batch in batches) == total
    enqueued.clear()
    # and when: workers expand the batches, every run is queued once, as a small tick would have
    for batch in batches:
        dispatch_claimed_task(runs=batch)
    assert _runs(enqueued) == _expected(*stores)
    assert all(cursor.next_run_at is not None and cursor.next_run_at > NOW for cursor in _cursors(stores[0]).values())


@pytest.mark.django_db
def test_a_tick_that_cannot_send_gives_its_claims_back(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, enqueued: EnqueuedTasks, clock: time_machine.Traveller
) -> None:
    # given: the broker refuses the tick's messages (the cursors are already claimed by then)
    store = _store(tenant)
    sending = sync_dispatch.enqueue_now_many

    def broker_down(*_args: Any, **_kwargs: Any) -> int:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(sync_dispatch, "enqueue_now_many", broker_down)

    # when
    with pytest.raises(ConnectionError):
        dispatch_due_syncs_task()

    # then: nothing was queued, so no cursor waits out its interval (an hour and more for some jobs)
    assert {cursor.next_run_at for cursor in _cursors(store).values()} == {NOW}
    # and once the broker is back, the next minute queues every job
    monkeypatch.setattr(sync_dispatch, "enqueue_now_many", sending)
    clock.shift(timedelta(minutes=1))
    assert dispatch_due_syncs_task() == len(_expected(store))
    assert _runs(enqueued) == _expected(store)

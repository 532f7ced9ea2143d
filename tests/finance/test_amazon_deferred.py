"""Deferred money ("pending with Amazon") end to end: Finances 2024-06-19 listTransactions from the simulator
over real HTTP, kept as DeferredTransaction rows by the "deferred_money" job, released ones updated in place,
and the per-store / per-order read the console shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from acorn.money import quantize_amount
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import SyncCursor
from finance.settlements.deferred import DEFERRED_MONEY_RESOURCE, deferred_money
from finance.settlements.models import DeferredTransaction
from simulator.ledger import deferred_truth
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.finance.test_amazon_settlements import _connect, _sync

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000  # the simulator's pace, not Amazon's
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    world = World(seed=23, clock=ManualClock(datetime.now(UTC).replace(microsecond=0)))
    with SimulatorServer(seed=23, world=world) as server:
        yield server


def test_money_amazon_holds_back_is_pending_until_released(
    tenant: Tenant, other_tenant: Tenant, sim: SimulatorServer
) -> None:
    # given a US store with merchant-fulfilled orders shipped in the last seven days (DD+7)
    store = _connect(tenant, sim, "US")
    _sync(store, "orders")
    clock = sim.world.clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime.now(UTC).replace(microsecond=0))  # Amazon's "now" and ACORN's agree, however long that took
    # when the deferred money is synced
    run = _sync(store, DEFERRED_MONEY_RESOURCE)
    with tenant_scope(tenant):
        read_until = SyncCursor.objects.get(store=store, resource=DEFERRED_MONEY_RESOURCE).high_water
    truth = deferred_truth(sim.world.seller_orders(store.seller_id), sim.world.now(), posted_before=read_until)
    assert truth
    # then each deferred transaction is kept, and the pending money per order is the simulator's
    with tenant_scope(tenant):
        assert run.created == DeferredTransaction.objects.filter(store=store).count() > 0
        (pending,) = deferred_money(tenant=tenant)
        assert (pending.store_id, pending.currency) == (store.pk, "USD")
        assert {order.order_external_id: order.amount for order in pending.orders} == {
            order_id: quantize_amount(amount, "USD") for order_id, amount in truth.items()
        }
        assert pending.total == quantize_amount(sum(truth.values()), "USD")
        assert all(order.order_id is not None and order.releases_at is not None for order in pending.orders)
        assert deferred_money(tenant=tenant, store_id=store.pk) == [pending]
    # and another tenant sees none of it
    with tenant_scope(other_tenant):
        assert deferred_money(tenant=other_tenant) == []
        assert deferred_money(tenant=other_tenant, store_id=store.pk) == []

    # running again changes nothing
    with tenant_scope(tenant):
        count = DeferredTransaction.objects.count()
        still_deferred = DeferredTransaction.objects.filter(status="DEFERRED").count()
        assert 0 < still_deferred < count  # older merchant-fulfilled shipments were deferred and are released
    again = _sync(store, DEFERRED_MONEY_RESOURCE)
    assert (again.created, again.updated) == (0, 0)

    # when Amazon releases them (a week later), the same rows are updated, not duplicated
    clock.advance(timedelta(days=8))
    released = _sync(store, DEFERRED_MONEY_RESOURCE)
    with tenant_scope(tenant):
        assert (released.updated, released.created) == (still_deferred, 0)
        assert DeferredTransaction.objects.count() == count
        assert set(DeferredTransaction.objects.values_list("status", flat=True)) == {"DEFERRED_RELEASED"}
        assert deferred_money(tenant=tenant) == []

"""A real Celery worker is SIGKILLed in the middle of an orders sync and started again: every simulator
order still ends up stored exactly once. Needs PostgreSQL and Redis (the embedded filesystem broker
loses a killed worker's message by design, see README), so it runs in CI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import SyncCursor, SyncRun
from channels.tasks import dispatch_due_syncs_task, run_store_sync_task
from simulator.faults import FaultProfile
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels.test_amazon_e2e import NOW, _connect, _stored, _truth

pytestmark = [
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(
        not (settings.REDIS_URL and settings.DATABASES["default"]["ENGINE"].endswith("postgresql")),
        reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)",
    ),
]


def _start_worker(**extra_env: str) -> subprocess.Popen[bytes]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "acorn.settings.test",
        # the worker must see the test database that this test commits to
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "ACORN_RATE_LIMIT_SCALE": "100000",
        "ACORN_SYNC_INITIAL_DAYS": "90",
        "ACORN_SYNC_TIME_BUDGET_SECONDS": "10",
        "ACORN_SYNC_LEASE_MARGIN_SECONDS": "1",
        **extra_env,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "acorn",
            "worker",
            "--pool=solo",
            "-Q",
            "default,sync",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.django_db(transaction=True)
def test_killed_worker_mid_sync_ends_exactly_once(tenant: Tenant, settings: Any) -> None:
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    profile = FaultProfile.named("hostile", slow_rate=0.5, slow_seconds=0.2)
    world = World(seed=21, clock=ManualClock(NOW))
    with SimulatorServer(seed=21, faults=profile, world=world) as sim:
        store = _connect(tenant, sim)
        sim.world.generate_orders(store.seller_id, 2500)
        _sync_with_a_killed_worker(tenant, store)

        truth = _truth(sim, store.seller_id)
        malformed = sim.world.malformed_order_ids(store.seller_id)
        stored = _stored(store)
        assert {k: v for k, v in stored.items() if k not in malformed} == {
            k: v for k, v in truth.items() if k not in malformed
        }


def _sync_with_a_killed_worker(tenant: Tenant, store: Any, **worker_env: str) -> None:
    """Start a sync on a real worker, SIGKILL it a few pages in, start another and play beat until done."""
    worker = _start_worker(**worker_env)
    try:
        run_store_sync_task.delay(tenant_id=tenant.pk, store_id=store.pk, resource="orders", trigger="manual")
        # when a few pages are in, kill the worker outright (no clean shutdown, no ack)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with tenant_scope(tenant):
                run = SyncRun.objects.filter(store=store).order_by("-pk").first()
            if run is not None and run.status == "running" and run.pages >= 2:
                break
            time.sleep(0.1)
        assert run is not None and run.status == "running", "the sync never got going"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        time.sleep(12)  # past the visibility timeout (4 s) and the killed run's lease (10 s + 1 s)
        worker = _start_worker(**worker_env)
        # play beat: dispatch due syncs until the window is closed
        deadline = time.monotonic() + 240
        done = False
        while time.monotonic() < deadline and not done:
            dispatch_due_syncs_task()
            time.sleep(1)
            with tenant_scope(tenant):
                cursor = SyncCursor.objects.get(store=store)
                last = SyncRun.objects.filter(store=store).order_by("-pk").first()
            done = bool(cursor.high_water and cursor.window_start is None and last and last.status == "succeeded")
        assert done, "the sync did not finish after the restart"
    finally:
        worker.terminate()
        worker.wait(20)
    with tenant_scope(tenant):
        statuses = list(SyncRun.objects.filter(store=store).values_list("status", "error_code"))
    assert ("failed", "interrupted") in statuses  # the killed run is on record


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_killed_worker_mid_sync_ends_exactly_once_for_independent_shops(
    tenant: Tenant, settings: Any, platform: str
) -> None:
    from tests.channels import test_shopify_e2e as shopify_e2e
    from tests.channels import test_woocommerce_e2e as woo_e2e

    settings.ACORN_SYNC_INITIAL_DAYS = 90
    profile = FaultProfile.named("hostile", slow_rate=0.5, slow_seconds=0.2)
    world = World(seed=23, clock=ManualClock(NOW))
    with SimulatorServer(seed=23, faults=profile, world=world) as sim:
        if platform == "shopify":
            sim.shopify.add_shop(shopify_e2e.SHOP, currency="EUR", orders_per_day=15, history_days=60)
            store = shopify_e2e._connect(tenant, sim)
            _sync_with_a_killed_worker(tenant, store)
            truth, stored = shopify_e2e._truth(sim), shopify_e2e._stored(store)
            malformed = {gid.rsplit("/", 1)[-1] for gid in sim.shopify.malformed_order_ids(shopify_e2e.SHOP)}
        else:
            settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(sim.tls_cert_path)
            sim.woo.add_site(woo_e2e.SLUG, currency="EUR", orders_per_day=40, history_days=60)
            store = woo_e2e._connect(tenant, sim)
            _sync_with_a_killed_worker(tenant, store, ACORN_WOOCOMMERCE_CA_BUNDLE=str(sim.tls_cert_path))
            truth, stored = woo_e2e._truth(sim), woo_e2e._stored(store)
            malformed = {str(order_id) for order_id in sim.woo.malformed_order_ids(woo_e2e.SLUG)}
        assert len(truth) > 500
        assert {k: v for k, v in stored.items() if k not in malformed} == {
            k: v for k, v in truth.items() if k not in malformed
        }

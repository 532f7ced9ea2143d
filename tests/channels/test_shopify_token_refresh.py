"""Shopify's expiring offline tokens refreshed once per expiry, however many workers find the token due: the
refresh runs under a row lock on the store's credential and first re-reads the stored pair, so a worker that
comes second uses the pair the first one stored and asks Shopify nothing. Against the simulator's token
endpoint over real HTTP; the concurrent case on PostgreSQL (SQLite has no row locks)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.adapters.registry import adapter_for
from channels.adapters.shopify.client import exchange_authorization_code
from channels.models import Store, StoreCredential
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels.test_amazon_e2e import NOW

SHOP = "acme-refresh.myshopify.com"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=7, world=World(seed=7, clock=ManualClock(NOW)), tls_port=None) as server:
        server.shopify.add_shop(SHOP, currency="EUR", orders_per_day=1, history_days=1)
        yield server


def _store_with_a_due_token(tenant: Tenant, sim: SimulatorServer) -> tuple[Store, dict[str, Any]]:
    """A connected shop whose stored access token is inside the refresh margin: the secrets every worker
    loaded before any of them refreshed."""
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant,
            actor=None,
            membership=None,
            platform="shopify",
            name="Shopify",
            permissions=["orders"],
            endpoint=f"{sim.url}/shopify/{SHOP}",
            seller_id=SHOP,
        )
        code = sim.shopify.issue_authorization_code(SHOP, "read_orders", "https://acorn.example/callback")
        pair = exchange_authorization_code(store, code=code)  # an expiring offline token and its refresh token
        stale = {**pair, "expires_at": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
        store = services.store_authorize(store=store, actor=None, seller_id=SHOP, secrets=stale, queue_sync=False)
    return store, stale


def _token_calls(sim: SimulatorServer) -> int:
    return sum(1 for request in sim.requests if request.path == f"/shopify/{SHOP}/admin/oauth/access_token")


def _stored(tenant: Tenant, store: Store) -> dict[str, Any]:
    with tenant_scope(tenant):
        return dict(StoreCredential.objects.get(store=store).secrets)


@pytest.mark.django_db
def test_a_second_worker_uses_the_pair_the_first_refreshed_and_asks_shopify_nothing(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given two workers that loaded the same secrets, whose access token is due for a refresh
    store, stale = _store_with_a_due_token(tenant, sim)
    sim.clear_requests()
    with tenant_scope(tenant):
        first, second = adapter_for(store, secrets=stale), adapter_for(store, secrets=stale)
        # when both call Shopify, one after the other
        first.shop_info()
        second.shop_info()
    # then the token endpoint was asked once, both used the new token, and the new pair is stored
    stored = _stored(tenant, store)
    assert _token_calls(sim) == 1
    assert stored["access_token"] != stale["access_token"] and stored["refresh_token"] != stale["refresh_token"]
    graphql = [request for request in sim.requests if request.path.endswith("/graphql.json")]
    assert [request.headers["x-shopify-access-token"] for request in graphql] == [stored["access_token"]] * 2
    assert all(request.status == 200 for request in graphql)


@pytest.mark.django_db
def test_a_token_that_is_not_due_is_not_refreshed(tenant: Tenant, sim: SimulatorServer) -> None:
    # given a stored token with most of its hour left
    store, stale = _store_with_a_due_token(tenant, sim)
    fresh = {**stale, "expires_at": (datetime.now(UTC) + timedelta(minutes=50)).isoformat()}
    with tenant_scope(tenant):
        services.store_update_secrets(store=store, secrets=fresh)
        sim.clear_requests()
        # when
        adapter_for(store, secrets=fresh).shop_info()
    # then
    assert _token_calls(sim) == 0
    assert _stored(tenant, store)["refresh_token"] == stale["refresh_token"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_concurrent_workers_refresh_once_on_postgresql(tenant: Tenant, sim: SimulatorServer) -> None:
    # given four workers that loaded the same due secrets
    store, stale = _store_with_a_due_token(tenant, sim)
    sim.clear_requests()
    start = threading.Barrier(4)
    used: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with tenant_scope(tenant):
                adapter = adapter_for(store, secrets=stale)
                start.wait()
                adapter.shop_info()
                used.append(adapter._access_token())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # when they call Shopify at once
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then one refresh: every worker holds the stored pair and every GraphQL call was answered
    assert errors == []
    stored = _stored(tenant, store)
    assert _token_calls(sim) == 1
    assert used == [stored["access_token"]] * 4
    graphql = [request for request in sim.requests if request.path.endswith("/graphql.json")]
    assert len(graphql) == 4 and all(request.status == 200 for request in graphql)

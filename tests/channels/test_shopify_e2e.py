"""Shopify end to end against the simulator, through ShopifyAPI over real HTTP: the console's OAuth install,
the first sync, webhooks (signed, duplicated, lost) and exactly-once under the hostile fault profile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.adapters.shopify.parse import normalize_status
from channels.models import Store, StoreStatus, WebhookEvent
from orders.models import Order
from simulator.faults import FaultProfile
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels.test_amazon_e2e import NOW, _sync_until_done
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db
SHOP = "acme-e2e.myshopify.com"


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120


def _simulator(faults: str | FaultProfile = "none") -> SimulatorServer:
    return SimulatorServer(seed=5, faults=faults, world=World(seed=5, clock=ManualClock(NOW)))


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with _simulator() as server:
        server.shopify.add_shop(
            SHOP, currency="EUR", presentment_currencies=["EUR", "GBP", "USD"], orders_per_day=8, history_days=30
        )
        yield server


def _truth(sim: SimulatorServer, shop: str = SHOP) -> dict[str, tuple[str, Decimal, str]]:
    return {
        str(order["legacy_id"]): (
            normalize_status(order["financial_status"], order["fulfillment_status"], bool(order["cancelled_at"])),
            Decimal(order["total_price"]),
            order["currency"],
        )
        for order in sim.shopify.visible_orders(shop)
    }


def _stored(store: Store) -> dict[str, tuple[str, Decimal, str]]:
    with tenant_scope(store.tenant):
        return {o.external_id: (o.status, o.total_amount, o.currency) for o in Order.objects.filter(store=store)}


def _connect(tenant: Tenant, sim: SimulatorServer) -> Store:
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
        return services.store_authorize(
            store=store,
            actor=None,
            seller_id=SHOP,
            secrets={"access_token": sim.shopify.issue_access_token(SHOP)},
            queue_sync=False,
        )


def _route_webhooks_to_django(sim: SimulatorServer, capture: Any) -> list[int]:
    """The simulator delivers into this process's Django (the test client), as Shopify would over HTTPS."""
    answers: list[int] = []

    def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        extra.pop("HTTP_CONTENT_TYPE", None)
        with capture(execute=True):
            status = Client().post(urlsplit(url).path, data=body, content_type="application/json", **extra).status_code
        answers.append(status)
        return status

    sim.shopify.set_deliver(deliver)
    return answers


def test_console_install_through_shopify_oauth_then_first_sync_and_webhooks(
    tenant: Tenant,
    owner_client: Client,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # the seller types the shop address; ACORN sends them to Shopify's install page
    response = owner_client.post(
        reverse("channels:store-connect-shopify"),
        {"name": "Shopify EU", "shop": "acme-e2e", "permissions": ["orders"], "endpoint": sim.url},
    )
    assert response.status_code == 302, response.content[:500]
    authorize = urlsplit(response["Location"])
    assert authorize.path == f"/shopify/{SHOP}/admin/oauth/authorize"
    # the merchant approves; Shopify redirects back with code, hmac, shop, state and timestamp
    approved = httpx.post(
        f"{sim.url}{authorize.path}", data={**dict(parse_qsl(authorize.query)), "approve": "1"}, timeout=5
    )
    callback = urlsplit(approved.headers["location"])
    assert callback.path == reverse("channels:shopify-callback")
    with django_capture_on_commit_callbacks(execute=True):
        done = owner_client.get(f"{callback.path}?{callback.query}")
    with tenant_scope(tenant):
        store = Store.objects.get(platform="shopify")
    assert done.status_code == 302 and done["Location"] == reverse("channels:store-detail", args=[store.pk])
    assert store.status == StoreStatus.ACTIVE and store.seller_id == SHOP
    with tenant_scope(tenant):
        secrets = store.credential.secrets
    assert secrets["refresh_token"] and secrets["expires_at"]  # an expiring offline token, kept encrypted

    # the first sync and the webhook subscriptions were queued; the detail page shows the run
    assert {task.name for task, _ in enqueued} == {"channels.run_store_sync", "channels.register_webhooks"}
    for task, kwargs in list(enqueued):
        if task.name == "channels.register_webhooks":
            assert set(task(**kwargs)) >= {"ORDERS_CREATE", "ORDERS_UPDATED", "APP_UNINSTALLED"}
    enqueued.clear()
    _sync_until_done(store)
    assert _stored(store) == _truth(sim)
    detail = owner_client.get(reverse("channels:store-detail", args=[store.pk])).content.decode()
    assert "Webhooks" in detail and "orders" in detail

    # a replayed or forged callback cannot bind the shop again
    replay = owner_client.get(f"{callback.path}?{callback.query}")
    assert replay.status_code in (400, 404)


def test_callback_with_a_tampered_hmac_or_another_shop_is_refused(
    tenant: Tenant, owner_client: Client, sim: SimulatorServer
) -> None:
    response = owner_client.post(
        reverse("channels:store-connect-shopify"),
        {"name": "Shopify EU", "shop": SHOP, "permissions": ["orders"], "endpoint": sim.url},
    )
    authorize = urlsplit(response["Location"])
    approved = httpx.post(
        f"{sim.url}{authorize.path}", data={**dict(parse_qsl(authorize.query)), "approve": "1"}, timeout=5
    )
    callback = urlsplit(approved.headers["location"])
    params = dict(parse_qsl(callback.query))
    tampered = owner_client.get(callback.path, {**params, "shop": "other.myshopify.com"})
    assert tampered.status_code == 400 and "not signed correctly" in tampered.content.decode()
    with tenant_scope(tenant):
        assert Store.objects.get(platform="shopify").status == StoreStatus.PENDING_AUTH


def test_custom_app_token_is_checked_before_anything_is_saved(
    tenant: Tenant, owner_client: Client, sim: SimulatorServer
) -> None:
    form = {"name": "Custom", "shop": SHOP, "permissions": ["orders"], "endpoint": sim.url}
    wrong = owner_client.post(reverse("channels:store-connect-shopify"), {**form, "access_token": "shpat_wrong"})
    assert wrong.status_code == 400 and "did not accept the token" in wrong.content.decode()
    with tenant_scope(tenant):
        assert not Store.objects.exists()
    good = owner_client.post(
        reverse("channels:store-connect-shopify"),
        {**form, "access_token": sim.shopify.issue_access_token(SHOP)},
    )
    assert good.status_code == 302
    with tenant_scope(tenant):
        assert Store.objects.get().status == StoreStatus.ACTIVE


def test_webhooks_duplicated_three_times_act_once_and_a_lost_one_is_caught_by_the_poll(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.ACORN_BASE_URL = "http://testserver"
    profile = FaultProfile.named("none", webhook_duplicate_rate=1.0)
    with _simulator(profile) as sim:
        sim.shopify.add_shop(SHOP, currency="EUR", orders_per_day=8, history_days=30, live_orders_per_hour=4)
        store = _connect(tenant, sim)
        _sync_until_done(store)
        with tenant_scope(tenant):
            services.store_register_webhooks(store=store)
        answers = _route_webhooks_to_django(sim, django_capture_on_commit_callbacks)

        sim.world.advance(timedelta(hours=3))
        sim.shopify.sync(SHOP)
        sim.shopify.deliver_pending()
        delivered = list(sim.shopify.webhook_log)
        assert delivered and all(status == 200 for status in answers)
        event_ids = {record.event_id for record in delivered}
        assert len(delivered) > len(event_ids)  # every event was sent more than once
        with tenant_scope(tenant):
            assert WebhookEvent.objects.filter(store=store).count() == len(event_ids)
            assert sum(WebhookEvent.objects.filter(store=store).values_list("deliveries", flat=True)) >= len(delivered)
        assert len(enqueued) == len(event_ids)  # one task per event, not per delivery
        enqueued.run_all()
        assert _stored(store) == _truth(sim)  # the webhooks alone brought every change

    lost = FaultProfile.named("none", webhook_drop_rate=1.0)
    with _simulator(lost) as sim:
        sim.shopify.add_shop(SHOP, currency="EUR", orders_per_day=8, history_days=30, live_orders_per_hour=4)
        with tenant_scope(tenant):
            Store.objects.filter(pk=store.pk).update(endpoint=f"{sim.url}/shopify/{SHOP}")
            store.refresh_from_db()
            services.store_update_secrets(store=store, secrets={"access_token": sim.shopify.issue_access_token(SHOP)})
            services.store_register_webhooks(store=store)
        _route_webhooks_to_django(sim, django_capture_on_commit_callbacks)
        sim.world.advance(timedelta(hours=9))  # the same seeded world, six hours further than above
        sim.shopify.sync(SHOP)
        sim.shopify.deliver_pending()
        assert _stored(store) != _truth(sim)  # nothing was delivered
        _sync_until_done(store)
        assert _stored(store) == _truth(sim)  # the scheduled poll is the backstop


def test_hostile_profile_ends_exactly_once(tenant: Tenant) -> None:
    with _simulator(FaultProfile.named("hostile", slow_rate=0.0)) as sim:
        sim.shopify.add_shop(
            SHOP, currency="EUR", presentment_currencies=["EUR", "GBP"], orders_per_day=12, history_days=40
        )
        store = _connect(tenant, sim)
        _sync_until_done(store, max_runs=60)
        _sync_until_done(store, max_runs=60)  # again: nothing changes
        truth = _truth(sim)
        stored = _stored(store)
        malformed = {gid.rsplit("/", 1)[-1] for gid in sim.shopify.malformed_order_ids(SHOP)}
        assert malformed, "the hostile profile should break some orders"
        assert {key: value for key, value in truth.items() if key not in malformed} == stored
        with tenant_scope(tenant):
            from channels.models import QuarantinedRecord

            quarantined = set(QuarantinedRecord.objects.filter(store=store).values_list("external_id", flat=True))
        assert malformed <= quarantined  # nothing silently dropped


def test_revoked_token_interrupts_the_store(tenant: Tenant, sim: SimulatorServer) -> None:
    store = _connect(tenant, sim)
    sim.shopify.revoke(SHOP)
    with tenant_scope(tenant):
        from channels.sync import sync_run_execute

        run = sync_run_execute(store=store, resource="orders", trigger="command", sleep=lambda seconds: None)
        store.refresh_from_db()
    assert run.status == "auth_failed" and store.status == StoreStatus.AUTH_INTERRUPTED

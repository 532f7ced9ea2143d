"""WooCommerce end to end against the simulator, through the woocommerce client over verified HTTPS: the
console's connection test (each failure says why), the first sync, signed webhooks (ping, duplicates,
a lost one) and exactly-once under the hostile fault profile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.adapters.woocommerce.parse import STATUS_MAP
from channels.models import QuarantinedRecord, Store, StoreStatus, WebhookEvent
from orders.models import Order
from simulator.faults import FaultProfile
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels.test_amazon_e2e import NOW, _sync_until_done
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db
SLUG = "e2e-shop"


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120


def _simulator(faults: str | FaultProfile = "none") -> SimulatorServer:
    return SimulatorServer(seed=7, faults=faults, world=World(seed=7, clock=ManualClock(NOW)))


@pytest.fixture
def sim(settings: Any) -> Iterator[SimulatorServer]:
    with _simulator() as server:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(server.tls_cert_path)
        server.woo.add_site(SLUG, currency="EUR", orders_per_day=8, history_days=30)
        yield server


def _truth(sim: SimulatorServer, slug: str = SLUG) -> dict[str, tuple[str, Decimal, str]]:
    return {
        str(order["id"]): (STATUS_MAP[order["status"]], Decimal(order["total"]), order["currency"])
        for order in sim.woo.visible_orders(slug)
    }


def _stored(store: Store) -> dict[str, tuple[str, Decimal, str]]:
    with tenant_scope(store.tenant):
        return {o.external_id: (o.status, o.total_amount, o.currency) for o in Order.objects.filter(store=store)}


def _form(sim: SimulatorServer, **changes: str) -> dict[str, Any]:
    site = sim.woo.site(SLUG)
    return {
        "name": "Webshop DE",
        "site_url": sim.woo.site_url(SLUG),
        "consumer_key": site.consumer_key,
        "consumer_secret": site.consumer_secret,
        "permissions": ["orders"],
        **changes,
    }


def _connect(tenant: Tenant, sim: SimulatorServer) -> Store:
    site = sim.woo.site(SLUG)
    url = sim.woo.site_url(SLUG)
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant,
            actor=None,
            membership=None,
            platform="woocommerce",
            name="Woo",
            permissions=["orders"],
            endpoint=url,
            seller_id=url,
        )
        return services.store_authorize(
            store=store,
            actor=None,
            seller_id=url,
            secrets={
                "consumer_key": site.consumer_key,
                "consumer_secret": site.consumer_secret,
                "webhook_secret": "e2e-webhook-secret",
            },
            queue_sync=False,
        )


def test_connection_test_says_what_is_wrong_and_saves_nothing(
    tenant: Tenant, owner_client: Client, sim: SimulatorServer
) -> None:
    url = reverse("channels:store-connect-woocommerce")
    sim.woo.add_site("plain-wordpress", woocommerce=False)
    sim.woo.add_site("no-stock", manage_stock=False)
    cases = [
        ({"site_url": "https://127.0.0.1:1/nothing-here"}, "could not be reached"),
        ({"site_url": f"{sim.tls_url}/woo/unknown-slug"}, "not a WordPress site"),
        ({"site_url": sim.woo.site_url("plain-wordpress")}, "WooCommerce is not active"),
        ({"consumer_secret": "cs_wrong"}, "refused the keys"),
        (
            {
                "site_url": sim.woo.site_url("no-stock"),
                "consumer_key": sim.woo.site("no-stock").consumer_key,
                "consumer_secret": sim.woo.site("no-stock").consumer_secret,
            },
            "Stock management is off",
        ),
        ({"consumer_key": "not-a-key"}, "starts with ck_"),
    ]
    for changes, reason in cases:
        response = owner_client.post(url, _form(sim, **changes))
        assert response.status_code == 400, changes
        assert reason in response.content.decode(), (changes, reason)
    with tenant_scope(tenant):
        assert not Store.objects.exists()


def test_console_connect_then_first_sync_and_webhooks_registered(
    tenant: Tenant,
    owner_client: Client,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("channels:store-connect-woocommerce"), _form(sim))
    assert response.status_code == 302, response.content[:800]
    with tenant_scope(tenant):
        store = Store.objects.get()
        secrets = store.credential.secrets
    assert store.status == StoreStatus.ACTIVE and secrets["webhook_secret"]
    assert {task.name for task, _ in enqueued} == {"channels.run_store_sync", "channels.register_webhooks"}
    for task, kwargs in list(enqueued):
        if task.name == "channels.register_webhooks":
            assert len(task(**kwargs)) == 3
    enqueued.clear()
    _sync_until_done(store)
    assert _stored(store) == _truth(sim)
    currencies = {currency for _, _, currency in _stored(store).values()}
    assert "EUR" in currencies
    detail = owner_client.get(reverse("channels:store-detail", args=[store.pk]))
    assert detail.status_code == 200


def _route_webhooks_to_django(sim: SimulatorServer, capture: Any) -> list[int]:
    answers: list[int] = []

    def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        with capture(execute=True):
            status = (
                Client()
                .post(urlsplit(url).path, data=body, content_type=headers.get("Content-Type", ""), headers=headers)
                .status_code
            )
        answers.append(status)
        return status

    sim.woo.deliver = deliver
    return answers


def test_webhooks_ping_duplicates_and_a_lost_one(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.ACORN_BASE_URL = "http://testserver"
    with _simulator(FaultProfile.named("none", webhook_duplicate_rate=1.0)) as sim:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(sim.tls_cert_path)
        sim.woo.add_site(SLUG, currency="EUR", orders_per_day=8, history_days=30, live_orders_per_hour=4)
        store = _connect(tenant, sim)
        _sync_until_done(store)
        answers = _route_webhooks_to_django(sim, django_capture_on_commit_callbacks)
        with tenant_scope(tenant):
            services.store_register_webhooks(store=store)
        sim.woo.deliver_pending()
        assert any(d.ping for d in sim.woo.webhook_log) and all(status == 200 for status in answers)

        sim.world.advance(timedelta(hours=3))
        sim.woo.deliver_pending()
        deliveries = [d for d in sim.woo.webhook_log if not d.ping and not d.dropped]
        assert deliveries and all(d.ok for d in deliveries)
        with tenant_scope(tenant):
            events = WebhookEvent.objects.filter(store=store)
            assert events.count() < len(deliveries)  # duplicates folded into one event each
            assert sum(events.values_list("deliveries", flat=True)) == len(deliveries)
        assert len(enqueued) == events.count()
        enqueued.run_all()
        assert _stored(store) == _truth(sim)

    with _simulator(FaultProfile.named("none", webhook_drop_rate=1.0)) as sim:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(sim.tls_cert_path)
        sim.woo.add_site(SLUG, currency="EUR", orders_per_day=8, history_days=30, live_orders_per_hour=4)
        with tenant_scope(tenant):
            url = sim.woo.site_url(SLUG)
            Store.objects.filter(pk=store.pk).update(endpoint=url)
            store.refresh_from_db()
            services.store_register_webhooks(store=store)
        _route_webhooks_to_django(sim, django_capture_on_commit_callbacks)
        sim.world.advance(timedelta(hours=9))
        sim.woo.deliver_pending()
        assert _stored(store) != _truth(sim)
        _sync_until_done(store)
        assert _stored(store) == _truth(sim)  # the poll caught what the lost webhooks carried


def test_hostile_profile_ends_exactly_once(tenant: Tenant, settings: Any) -> None:
    with _simulator(FaultProfile.named("hostile", slow_rate=0.0)) as sim:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(sim.tls_cert_path)
        sim.woo.add_site(SLUG, currency="EUR", orders_per_day=12, history_days=40)
        store = _connect(tenant, sim)
        _sync_until_done(store, max_runs=60)
        sim.world.advance(timedelta(hours=6))
        _sync_until_done(store, max_runs=60)
        truth, stored = _truth(sim), _stored(store)
        malformed = {str(order_id) for order_id in sim.woo.malformed_order_ids(SLUG)}
        assert malformed, "the hostile profile should break some orders"
        assert {key: value for key, value in truth.items() if key not in malformed} == {
            key: value for key, value in stored.items() if key not in malformed
        }
        with tenant_scope(tenant):
            quarantined = set(QuarantinedRecord.objects.filter(store=store).values_list("external_id", flat=True))
        assert malformed - set(stored) <= quarantined


def test_revoked_keys_interrupt_the_store_and_new_keys_resume(
    tenant: Tenant, owner_client: Client, sim: SimulatorServer, enqueued: EnqueuedTasks
) -> None:
    store = _connect(tenant, sim)
    sim.woo.revoke(SLUG)
    with tenant_scope(tenant):
        from channels.sync import sync_run_execute

        run = sync_run_execute(store=store, resource="orders", trigger="command", sleep=lambda seconds: None)
        store.refresh_from_db()
    assert run.status == "auth_failed" and store.status == StoreStatus.AUTH_INTERRUPTED
    fresh = sim.woo.issue_keys(SLUG)
    page = owner_client.post(
        reverse("channels:store-woocommerce-keys", args=[store.pk]),
        {"consumer_key": fresh.consumer_key, "consumer_secret": fresh.consumer_secret},
    )
    assert page.status_code == 302
    with tenant_scope(tenant):
        store.refresh_from_db()
    assert store.status == StoreStatus.ACTIVE
    _sync_until_done(store)
    assert _stored(store) == _truth(sim)

"""Amazon end to end: console connect → Seller Central consent → LWA → orders sync, against the simulator
through python-amazon-sp-api over real HTTP. Exactly once under the hostile fault profile; a revoked
token interrupts the store and re-authorisation resumes from the cursor; no secret reaches logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from acorn.console.management.commands.demo import PUBLISH_FLAG
from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.adapters.amazon.parse import parse_order
from channels.models import QuarantinedRecord, Store, StoreStatus, SyncCursor, SyncRun
from channels.sync import sync_run_execute
from orders.models import Order
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000  # the simulator's pace, not Amazon's 0.0056/s
    settings.ACORN_SYNC_INITIAL_DAYS = 90  # the simulated history is 60 days
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()  # tokens are cached per process, keyed by refresh token


def _simulator(faults: str = "none", **world_options: Any) -> SimulatorServer:
    world = World(seed=11, clock=ManualClock(NOW), **world_options)
    return SimulatorServer(seed=11, faults=faults, world=world)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with _simulator() as server:
        yield server


def _connect(tenant: Tenant, sim: SimulatorServer, seller_id: str | None = None, name: str = "Amazon NA") -> Store:
    """Connect through the services the console uses, with a refresh token from the simulated seller."""
    seller = sim.world.seller(seller_id) if seller_id else sim.world.add_seller("NA", ["US", "CA"])
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant,
            actor=None,
            membership=None,
            platform="amazon",
            name=name,
            region="NA",
            marketplaces=["US", "CA"],
            permissions=["orders"],
            endpoint=sim.url,
        )
        return services.store_authorize(
            store=store,
            actor=None,
            seller_id=seller.selling_partner_id,
            secrets={"refresh_token": sim.world.issue_refresh_token(seller.selling_partner_id)},
            queue_sync=False,
        )


def _sync_until_done(store: Store, max_runs: int = 30) -> list[SyncRun]:
    runs = []
    with tenant_scope(store.tenant):
        for _ in range(max_runs):
            run = sync_run_execute(store=store, resource="orders", trigger="command", sleep=lambda seconds: None)
            runs.append(run)
            if run.status == "succeeded":
                return runs
            assert run.status == "partial", f"{run.status} {run.error_code}: {run.message}"
    raise AssertionError(f"not done after {max_runs} runs: {[r.status for r in runs]}")


def _truth(sim: SimulatorServer, seller_id: str) -> dict[str, tuple[str, Decimal, str]]:
    """What the seller's orders are, by ACORN's own parser over the simulator's well-formed truth."""
    truth = {}
    for raw in sim.world.visible_orders_for(seller_id):
        order = parse_order(raw)
        truth[order.external_id] = (order.status, order.total_amount, order.currency)
    return truth


def _stored(store: Store) -> dict[str, tuple[str, Decimal, str]]:
    with tenant_scope(store.tenant):
        return {o.external_id: (o.status, o.total_amount, o.currency) for o in Order.objects.filter(store=store)}


def test_console_connect_flow_through_seller_central(
    tenant: Tenant,
    owner_client: Client,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    # given: the owner fills in the connect form pointing at the simulator
    response = owner_client.post(
        reverse("channels:store-connect-amazon"),
        {
            "name": "Amazon US",
            "region": "NA",
            "marketplaces": ["US", "CA"],
            "permissions": ["orders", "finance"],
            "endpoint": sim.url,
        },
    )
    consent = response["Location"]
    assert consent.startswith(sim.url + "/apps/authorize/consent")

    # when: the seller approves on Seller Central (the simulator's consent page) ...
    with httpx.Client(follow_redirects=False) as browser:
        page = browser.get(consent)
        assert page.status_code == 200
        approved = browser.post(consent.split("?")[0], data=_form_fields(page.text))
    callback = approved.headers["location"]
    assert callback.startswith("http://testserver" + reverse("channels:amazon-callback"))

    # ... and comes back to ACORN
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.get(callback.removeprefix("http://testserver"))

    # then: the store is active, its refresh token kept encrypted, and the first sync queued
    with tenant_scope(tenant):
        store = Store.objects.get()
        assert response["Location"] == reverse("channels:store-detail", args=[store.pk])
        assert store.status == StoreStatus.ACTIVE and store.seller_id.startswith("A")
        assert store.credential.secrets["refresh_token"].startswith("Atzr|")
    assert [(task.name, kwargs["resource"], kwargs["trigger"]) for task, kwargs in enqueued] == [
        ("channels.run_store_sync", "orders", "connect"),
        ("channels.run_store_sync", "settlements", "connect"),  # the store granted "finance"
        ("channels.run_store_sync", "deferred_money", "connect"),
    ]
    # and the code was single-use: replaying the callback fails cleanly
    replay = owner_client.get(callback.removeprefix("http://testserver"))
    assert replay.status_code in (400, 404)


def _form_fields(html: str) -> dict[str, str]:
    from channels.management.commands.connect_store import _FormParser

    parser = _FormParser()
    parser.feed(html)
    return parser.fields


def test_full_sync_matches_the_simulator_and_a_second_sync_changes_nothing(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    store = _connect(tenant, sim)
    sim.world.generate_orders(store.seller_id, 400)
    runs = _sync_until_done(store)
    assert _stored(store) == _truth(sim, store.seller_id)
    assert sum(r.created for r in runs) == len(_truth(sim, store.seller_id))

    again = _sync_until_done(store)[-1]
    assert (again.created, again.updated) == (0, 0)
    assert _stored(store) == _truth(sim, store.seller_id)


def test_later_changes_and_new_orders_arrive_on_the_next_sync(tenant: Tenant, sim: SimulatorServer) -> None:
    store = _connect(tenant, sim)
    _sync_until_done(store)
    before = _stored(store)
    sim.world.advance(timedelta(hours=6))  # orders ship, some are cancelled, new ones are placed
    _sync_until_done(store)
    after = _stored(store)
    assert after == _truth(sim, store.seller_id)
    assert len(after) > len(before) or any(after[k] != v for k, v in before.items())


def test_hostile_faults_end_exactly_once(tenant: Tenant) -> None:
    with _simulator("hostile") as sim:
        store = _connect(tenant, sim)
        sim.world.generate_orders(store.seller_id, 1500)
        runs = _sync_until_done(store, max_runs=60)
        truth = _truth(sim, store.seller_id)
        malformed = sim.world.malformed_order_ids(store.seller_id)
        stored = _stored(store)
        assert malformed, "the hostile profile should have broken some orders"
        well_formed = {k: v for k, v in truth.items() if k not in malformed}
        assert {k: v for k, v in stored.items() if k not in malformed} == well_formed
        with tenant_scope(tenant):
            quarantined = list(QuarantinedRecord.objects.filter(store=store).values_list("external_id", flat=True))
        # every broken order is kept raw (those without an orderId have none to match on)
        missing = malformed - set(stored)
        named = {q for q in quarantined if q}
        assert missing & named == named & malformed
        assert len(quarantined) >= len(missing) > 0
        assert sum(r.retries for r in runs) > 0  # the faults did happen


def test_revoked_token_interrupts_and_reauthorising_resumes_from_the_cursor(
    tenant: Tenant, owner: Membership, sim: SimulatorServer
) -> None:
    store = _connect(tenant, sim)
    _sync_until_done(store)
    with tenant_scope(tenant):
        high_water = SyncCursor.objects.get(store=store).high_water
    sim.world.revoke(store.seller_id)
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()

    with tenant_scope(tenant):
        run = sync_run_execute(store=store, resource="orders", trigger="schedule", sleep=lambda s: None)
        store.refresh_from_db()
        assert (run.status, store.status) == ("auth_failed", StoreStatus.AUTH_INTERRUPTED)
        assert run.retries == 0  # no retry storm against a revoked grant
        assert Notification.objects.filter(kind="store_auth_interrupted").count() == 1

    # the seller re-authorises: the next run starts where the cursor stood, not from scratch
    sim.world.advance(timedelta(hours=1))
    with tenant_scope(tenant):
        services.store_authorize(
            store=store,
            actor=None,
            seller_id=store.seller_id,
            secrets={"refresh_token": sim.world.issue_refresh_token(store.seller_id)},
            queue_sync=False,
        )
    sim.clear_requests()
    _sync_until_done(store)
    first_search = next(r for r in sim.requests if r.path.endswith("/orders/2026-01-01/orders"))
    assert first_search.query["lastUpdatedAfter"][0] > (high_water - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")


def test_secrets_never_reach_logs_run_messages_or_task_arguments(
    tenant: Tenant, sim: SimulatorServer, caplog: pytest.LogCaptureFixture, enqueued: EnqueuedTasks
) -> None:
    caplog.set_level(logging.DEBUG)
    store = _connect(tenant, sim)
    with tenant_scope(tenant):
        refresh_token: str = store.credential.secrets["refresh_token"]  # type: ignore[index]
        services.store_enqueue_sync(store=store)
    _sync_until_done(store)
    sim.world.revoke(store.seller_id)
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()
    with tenant_scope(tenant):
        sync_run_execute(store=store, resource="orders", trigger="schedule", sleep=lambda s: None)
        messages = " ".join(SyncRun.objects.filter(store=store).values_list("message", flat=True))
    access_tokens = {r.headers.get("x-amz-access-token", "") for r in sim.requests} - {""}
    assert access_tokens, "the client sent access tokens"
    for secret in [refresh_token, *access_tokens]:
        assert secret not in caplog.text
        assert secret not in messages
        assert all(secret not in str(kwargs) for _, kwargs in enqueued)


def test_demo_stores_sync_against_the_simulators_demo_sellers(settings: Any) -> None:
    from django.core.management import call_command

    from simulator.demo import install_demo_sellers
    from simulator.shopify.demo import install_demo_shops
    from simulator.woocommerce.demo import install_demo_woo_site
    from tests.channels import test_shopify_e2e, test_woocommerce_e2e

    with _simulator() as sim:
        install_demo_sellers(sim.world)
        install_demo_shops(sim.shopify, deliver_webhooks=False)
        install_demo_woo_site(sim.woo)
        settings.ACORN_SIMULATOR_URL, settings.ACORN_SIMULATOR_TLS_URL = sim.url, sim.tls_url
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(sim.tls_cert_path)
        call_command("demo", "--json", PUBLISH_FLAG, stdout=open("/dev/null", "w"))  # noqa: SIM115
        tenant = Tenant.objects.get(slug="demo-trading-co")
        with tenant_scope(tenant):
            stores = list(Store.objects.order_by("name"))
        assert {store.platform for store in stores} == {"amazon", "shopify", "woocommerce"}
        for store in stores:
            assert _sync_until_done(store)[-1].status == "succeeded"
            if store.platform == "amazon":
                assert _stored(store) == _truth(sim, store.seller_id)
            elif store.platform == "shopify":
                truth = test_shopify_e2e._truth(sim, store.seller_id)
                assert _stored(store) == truth
            else:
                assert _stored(store) == test_woocommerce_e2e._truth(sim, "acorn-demo")


def test_fba_inventory_pages_through_the_simulator(tenant: Tenant, sim: SimulatorServer) -> None:
    from channels.adapters.registry import adapter_for

    store = _connect(tenant, sim)
    with tenant_scope(tenant):
        adapter = adapter_for(store, secrets=store.credential.secrets)
    seen: list[str] = []
    token: str | None = None
    for _ in range(50):
        page = adapter.fetch_inventory_summaries(marketplace="US", page_token=token)
        seen.extend(summary.sku for summary in page.items)
        assert all(s.marketplace == "US" and s.total >= s.fulfillable >= 0 for s in page.items)
        token = page.next_token
        if not token:
            break
    assert seen and len(seen) == len(set(seen))  # every SKU once across pages


def test_finance_transactions_page_through_the_simulator(tenant: Tenant, sim: SimulatorServer) -> None:
    from channels.adapters.registry import adapter_for

    store = _connect(tenant, sim)
    with tenant_scope(tenant):
        adapter = adapter_for(store, secrets=store.credential.secrets)
    order_ids = {raw["orderId"] for raw in sim.world.orders_for(store.seller_id)}
    seen: list[str] = []
    token: str | None = None
    for _ in range(100):
        page = adapter.fetch_transactions(posted_after=NOW - timedelta(days=60), posted_before=None, page_token=token)
        for transaction in page.items:
            assert transaction.order_id in order_ids and transaction.currency in {"USD", "CAD"}
            assert sum((amount for _, amount in transaction.components), Decimal(0)) == transaction.total_amount
        seen.extend(t.external_id for t in page.items)
        token = page.next_token
        if not token:
            break
    assert seen and len(seen) == len(set(seen))


def test_settlement_reports_are_listed_and_their_gzip_documents_downloaded(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    from channels.adapters.amazon import LISTINGS_REPORT_TYPE, SETTLEMENT_REPORT_TYPE
    from channels.adapters.base import ChannelError
    from channels.adapters.registry import adapter_for

    store = _connect(tenant, sim)
    with tenant_scope(tenant):
        adapter = adapter_for(store, secrets=store.credential.secrets)
    page = adapter.list_reports(report_type=SETTLEMENT_REPORT_TYPE, created_since=NOW - timedelta(days=90))
    assert page.items and all(r.report_type == SETTLEMENT_REPORT_TYPE and r.status == "DONE" for r in page.items)
    document = adapter.download_report_document(document_id=page.items[0].document_id)
    header = document.splitlines()[0].split("\t")
    assert "settlement-id" in header and "total-amount" in header
    # settlement reports cannot be requested, only listed
    with pytest.raises(ChannelError):
        adapter.request_report(report_type=SETTLEMENT_REPORT_TYPE, data_start=NOW - timedelta(days=7))
    # a requestable report goes from queued to done
    report_id = adapter.request_report(report_type=LISTINGS_REPORT_TYPE, data_start=NOW - timedelta(days=7))
    assert adapter.get_report(report_id=report_id).status in {"IN_QUEUE", "IN_PROGRESS", "DONE"}
    sim.world.advance(timedelta(minutes=1))
    done = adapter.get_report(report_id=report_id)
    assert done.status == "DONE" and adapter.download_report_document(document_id=done.document_id)

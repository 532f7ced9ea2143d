"""A store's life: authorisations that expire, rename, disconnect (webhooks removed where the platform has
them), delete with its data (stock released, audited, confirmed by typing the name), and a failing
resource shown as failing. Owners and admins only; another tenant's store answers 404."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.notifications.models import Notification
from acorn.tenancy.models import Membership, Plan, Role, Tenant
from acorn.tenancy.plans import PlanLimitExceeded
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels import services_lifecycle as lifecycle
from channels.models import Store, StoreCredential, StoreStatus, SyncCursor, SyncRun
from channels.selectors import store_count_in_use
from channels.tasks import delete_store_task, expire_pending_stores_task
from inventory.models import LineAllocation, Product, StockLevel, Warehouse
from inventory.services import levels_match_ledger, stock_receive
from orders.models import Order
from orders.services import order_upsert_page
from refunds.models import Refund, Return
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels.test_amazon_e2e import NOW
from tests.channels.test_sync_engine import make_order
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory, SyncRunFactory

pytestmark = pytest.mark.django_db
SHOP = "lifecycle.myshopify.com"


@pytest.fixture
def basic_plan(tenant: Tenant) -> Tenant:
    tenant.plan = Plan.BASIC  # two stores
    tenant.save(update_fields=["plan"])
    return tenant


def _pending(tenant: Tenant, *, age: timedelta, name: str = "Amazon JP") -> Store:
    with tenant_scope(tenant):
        return StoreFactory(
            tenant=tenant, name=name, status=StoreStatus.PENDING_AUTH, seller_id="", created_at=timezone.now() - age
        )


# --- authorisations that expire -----------------------------------------------------------------------


def test_an_abandoned_authorisation_expires_frees_its_seat_and_its_name(
    basic_plan: Tenant, tenant: Tenant, owner: Membership
) -> None:
    # given: a basic plan (2 stores), one active store and one authorisation abandoned two hours ago
    with tenant_scope(tenant):
        StoreFactory(tenant=tenant, name="Amazon US")
    stub = _pending(tenant, age=timedelta(hours=2))

    # then: the stub holds no seat
    with tenant_scope(tenant):
        assert store_count_in_use(tenant=tenant) == 1
        assert stub.authorization_expired and stub.display_state == "expired"

    # when: the owner connects again under the same name
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant, actor=owner.user, membership=owner, platform="amazon", name="Amazon JP",
            region="FE", marketplaces=["JP"], permissions=["orders"],
        )  # fmt: skip

    # then: the new store is created, the stub went, and the audit log says why
    with tenant_scope(tenant):
        assert list(Store.objects.order_by("pk").values_list("name", "status")) == [
            ("Amazon US", "active"),
            ("Amazon JP", "pending_auth"),
        ]
        assert store.pk != stub.pk
        event = AuditEvent.objects.get(action="store.authorization_expired")
        assert event.object_id == str(stub.pk) and event.before["name"] == "Amazon JP"


def test_a_recent_authorisation_still_counts_and_blocks_its_name(
    basic_plan: Tenant, tenant: Tenant, owner: Membership
) -> None:
    with tenant_scope(tenant):
        StoreFactory(tenant=tenant, name="Amazon US")
    _pending(tenant, age=timedelta(minutes=20))
    with tenant_scope(tenant):
        assert store_count_in_use(tenant=tenant) == 2
        with pytest.raises(PlanLimitExceeded):
            services.store_create(
                tenant=tenant, actor=owner.user, membership=owner, platform="amazon", name="Amazon EU",
                region="EU", marketplaces=["DE"], permissions=["orders"],
            )  # fmt: skip
    tenant.plan = Plan.PRO
    tenant.save(update_fields=["plan"])
    with tenant_scope(tenant), pytest.raises(ValidationError, match="A store with this name exists already"):
        services.store_create(
            tenant=tenant, actor=owner.user, membership=owner, platform="amazon", name="amazon jp",
            region="FE", marketplaces=["JP"], permissions=["orders"],
        )  # fmt: skip


def test_the_periodic_task_removes_expired_stubs_of_every_tenant_once(tenant: Tenant, other_tenant: Tenant) -> None:
    old_a = _pending(tenant, age=timedelta(hours=3), name="A stub")
    fresh_a = _pending(tenant, age=timedelta(minutes=5), name="A fresh")
    old_b = _pending(other_tenant, age=timedelta(hours=1, minutes=1), name="B stub")

    assert expire_pending_stores_task() == 2
    assert expire_pending_stores_task() == 0  # idempotent

    with tenant_scope(tenant):
        assert list(Store.objects.values_list("pk", flat=True)) == [fresh_a.pk]
        assert AuditEvent.objects.filter(action="store.authorization_expired").count() == 1
    with tenant_scope(other_tenant):
        assert not Store.objects.filter(pk=old_b.pk).exists()
        assert AuditEvent.objects.filter(action="store.authorization_expired").count() == 1
    assert old_a.pk != fresh_a.pk


def test_an_expired_stub_shows_as_expired_and_cannot_be_authorised(tenant: Tenant, owner_client: Client) -> None:
    stub = _pending(tenant, age=timedelta(hours=2))
    listing = owner_client.get(reverse("channels:store-list")).content.decode()
    assert "Authorisation expired" in listing
    answer = owner_client.post(reverse("channels:store-reauthorize", args=[stub.pk]))
    assert answer["Location"] == reverse("channels:store-connect-amazon")
    chinese = owner_client.get(reverse("channels:store-detail", args=[stub.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "授权已过期" in chinese.content.decode()


# --- rename ---------------------------------------------------------------------------------------------


def test_owners_rename_a_store_audited_and_names_stay_unique(tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon US")
        StoreFactory(tenant=tenant, name="Amazon EU")
    url = reverse("channels:store-rename", args=[store.pk])

    assert owner_client.get(url).status_code == 200
    taken = owner_client.post(url, {"name": "amazon eu"})
    assert taken.status_code == 400 and "A store with this name exists already." in taken.content.decode()
    blank = owner_client.post(url, {"name": ""})
    assert blank.status_code == 400 and "This field is required." in blank.content.decode()

    done = owner_client.post(url, {"name": "  Amazon North America "}, follow=True)
    assert "“Amazon US” is now called “Amazon North America”." in done.content.decode()
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert store.name == "Amazon North America"
        event = AuditEvent.objects.get(action="store.renamed")
        assert (event.before, event.after) == ({"name": "Amazon US"}, {"name": "Amazon North America"})


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.FINANCE, Role.SUPPORT])
def test_only_owners_and_admins_manage_a_stores_life(
    role: str, tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable[[Membership], Client]
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon US", status=StoreStatus.DISABLED)
    client = client_for(make_member(tenant, role))
    for name in ("store-rename", "store-disconnect", "store-delete", "store-marketplaces"):
        url = reverse(f"channels:{name}", args=[store.pk])
        assert client.get(url).status_code == 403, name
        assert client.post(url, {"name": "X", "confirm_name": "Amazon US"}).status_code == 403, name
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert (store.name, store.delete_requested_at) == ("Amazon US", None)


def test_an_admin_may_and_another_tenant_gets_404(
    tenant: Tenant,
    other_owner: Membership,
    make_member: Callable[..., Membership],
    client_for: Callable[[Membership], Client],
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon US")
    admin = client_for(make_member(tenant, Role.ADMIN))
    assert admin.post(reverse("channels:store-rename", args=[store.pk]), {"name": "US"}).status_code == 302
    stranger = client_for(other_owner)
    for name in ("store-rename", "store-disconnect", "store-delete"):
        assert stranger.post(reverse(f"channels:{name}", args=[store.pk]), {"name": "B"}).status_code == 404


# --- disconnect -----------------------------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=7, world=World(seed=7, clock=ManualClock(NOW))) as server:
        server.shopify.add_shop(SHOP, currency="USD", orders_per_day=2, history_days=3)
        yield server


def _shopify_store(tenant: Tenant, sim: SimulatorServer) -> Store:
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant, actor=None, membership=None, platform="shopify", name="Shopify",
            permissions=["orders"], endpoint=f"{sim.url}/shopify/{SHOP}", seller_id=SHOP,
        )  # fmt: skip
        store = services.store_authorize(
            store=store,
            actor=None,
            seller_id=SHOP,
            secrets={"access_token": sim.shopify.issue_access_token(SHOP)},
            queue_sync=False,
        )
        services.store_register_webhooks(store=store)
        return store


def _subscribed(sim: SimulatorServer) -> set[str]:
    return {subscription.topic for subscription in sim.shopify.shop(SHOP).subscriptions.values()}


def test_disconnecting_a_shop_removes_its_webhooks_deletes_tokens_and_stops_syncs(
    tenant: Tenant, owner: Membership, owner_client: Client, sim: SimulatorServer, settings: Any
) -> None:
    # given: a connected Shopify shop with ACORN's webhooks, a cursor due to run, and another shop webhook
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    store = _shopify_store(tenant, sim)
    assert "ORDERS_CREATE" in _subscribed(sim)
    with tenant_scope(tenant):
        SyncCursor.objects.create(tenant=tenant, store=store, resource="orders", next_run_at=timezone.now())
        seats = store_count_in_use(tenant=tenant)

    # when: the owner confirms the disconnection
    page = owner_client.get(reverse("channels:store-disconnect", args=[store.pk]))
    assert "ACORN removes its webhooks from the shop." in page.content.decode()
    done = owner_client.post(reverse("channels:store-disconnect", args=[store.pk]), follow=True)

    # then: Shopify holds none of ACORN's subscriptions, the tokens are gone, syncs stop, history stays
    assert "is disconnected: its tokens are deleted and syncing has stopped" in done.content.decode()
    assert _subscribed(sim) == set()
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert store.status == StoreStatus.DISABLED and store.get_status_display() == "Disconnected"
        assert not StoreCredential.objects.filter(store=store).exists()
        assert SyncCursor.objects.get(store=store).next_run_at is None
        assert store_count_in_use(tenant=tenant) == seats - 1
        event = AuditEvent.objects.get(action="store.disconnected")
        assert sorted(event.after["webhooks_removed"]) == sorted(
            ["ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "REFUNDS_CREATE", "APP_UNINSTALLED"]
        )
    # and a second disconnect changes nothing
    again = owner_client.post(reverse("channels:store-disconnect", args=[store.pk]), follow=True)
    assert "is already disconnected" in again.content.decode()
    with tenant_scope(tenant):
        assert AuditEvent.objects.filter(action="store.disconnected").count() == 1


def test_a_shop_that_cannot_be_reached_is_still_disconnected_and_says_so(
    tenant: Tenant, owner_client: Client, sim: SimulatorServer, settings: Any
) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    store = _shopify_store(tenant, sim)
    with tenant_scope(tenant):
        credential = StoreCredential.objects.get(store=store)
        credential.secrets = {"access_token": "shpat_not-valid-anymore"}
        credential.save(update_fields=["secrets"])
    done = owner_client.post(reverse("channels:store-disconnect", args=[store.pk]), follow=True)
    assert "ACORN could not remove its webhooks from the shop" in done.content.decode()
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert store.status == StoreStatus.DISABLED and not StoreCredential.objects.filter(store=store).exists()


# --- delete ---------------------------------------------------------------------------------------------


def _store_with_history(tenant: Tenant) -> tuple[Store, Product, Warehouse]:
    """A disconnected Amazon store with two merchant orders (one holding stock), a refund and a return."""
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Old Amazon", status=StoreStatus.ACTIVE)
        product = Product.objects.create(tenant=tenant, sku="SKU-1", name="Phone case")
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        stock_receive(product=product, warehouse=warehouse, quantity=10)
        order_upsert_page(store=store, orders=[make_order(1), make_order(2, status="shipped")])
        order = Order.objects.get(external_id=make_order(1).external_id)
        Refund.objects.create(
            tenant=tenant, store=store, order=order, order_external_id=order.external_id, external_id="R-1",
            dedupe_key="R-1", origin="channel", status="succeeded", currency="USD", amount=5,
            refunded_at=order.purchased_at,
        )  # fmt: skip
        Return.objects.create(
            tenant=tenant, store=store, order=order, order_external_id=order.external_id, external_id="RT-1",
            source="amazon_mfn", sku="SKU-1", quantity=1, status="received", returned_at=order.purchased_at,
        )  # fmt: skip
        SyncRunFactory(store=store, tenant=tenant)
        assert StockLevel.objects.get(product=product, warehouse=warehouse).reserved == 1
        lifecycle.store_disconnect(store=store, actor=None, membership=None)
        store.refresh_from_db()
    return store, product, warehouse


def test_deleting_a_store_removes_its_data_releases_its_stock_and_is_audited(
    tenant: Tenant,
    owner: Membership,
    owner_client: Client,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    # given: a disconnected store with orders, a reservation, a refund and a return
    store, product, warehouse = _store_with_history(tenant)
    url = reverse("channels:store-delete", args=[store.pk])

    # the confirmation page says what goes
    page = owner_client.get(url).content.decode()
    assert "orders: 2" in page and "refunds: 1" in page and "returns: 1" in page
    assert "stock reservations (released): 1" in page and "sync runs: 1" in page

    # a wrong name is refused, and nothing happens
    wrong = owner_client.post(url, {"confirm_name": "old amazon"})
    assert wrong.status_code == 400 and "That is not the store&#x27;s name" in wrong.content.decode()
    assert enqueued == []

    # when: the owner types the name
    with django_capture_on_commit_callbacks(execute=True):
        answer = owner_client.post(url, {"confirm_name": "Old Amazon"}, follow=True)
    assert "is being deleted" in answer.content.decode()
    assert "Being deleted" in answer.content.decode()  # the list shows it until the task ran
    assert [(task.name, kwargs["store_id"]) for task, kwargs in enqueued] == [("channels.delete_store", store.pk)]

    # and the task runs (twice: the second finds nothing)
    assert enqueued.run_all() == ["deleted"]
    assert delete_store_task(tenant_id=tenant.pk, store_id=store.pk) == "missing"

    # then: the store and its data are gone, the stock it held is free, the ledger still adds up
    with tenant_scope(tenant):
        assert not Store.objects.filter(pk=store.pk).exists()
        assert not Order.objects.exists() and not Refund.objects.exists() and not Return.objects.exists()
        assert not LineAllocation.objects.exists() and not SyncRun.objects.exists()
        level = StockLevel.objects.get(product=product, warehouse=warehouse)
        assert (level.on_hand, level.reserved) == (10, 0)
        assert levels_match_ledger(tenant_id=tenant.pk) == []
        event = AuditEvent.objects.get(action="store.deleted")
        assert event.object_id == str(store.pk) and event.before["name"] == "Old Amazon"
        assert event.after["removed"] == {
            "refunds": 1,
            "returns": 1,
            "sku_mappings": 0,
            "reservations": 1,
            "fba_stock_records": 0,
            "orders": 2,
            "sync_runs": 1,
            "settlements": 0,
        }
        assert Notification.objects.filter(kind="store_deleted", title="“Old Amazon” was deleted").exists()


def test_an_active_store_must_be_disconnected_first(tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon US")
    url = reverse("channels:store-delete", args=[store.pk])
    page = owner_client.get(url).content.decode()
    assert "Disconnect the store first" in page and "Disconnect first" in page
    refused = owner_client.post(url, {"confirm_name": "Amazon US"})
    assert refused.status_code == 400 and "Disconnect the store first" in refused.content.decode()
    with tenant_scope(tenant):
        assert Store.objects.get(pk=store.pk).delete_requested_at is None


def test_a_refund_being_executed_blocks_the_deletion_even_after_it_was_requested(
    tenant: Tenant, owner: Membership, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Callable
) -> None:
    # given: the deletion was requested
    store, _product, _warehouse = _store_with_history(tenant)
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        lifecycle.store_request_deletion(store=store, actor=owner.user, membership=owner, confirm_name="Old Amazon")

    # when: a refund of the store starts executing before the task runs
    with tenant_scope(tenant):
        Refund.objects.filter(store=store).update(status="executing")
    assert enqueued.run_all() == ["refused"]

    # then: nothing was deleted, the request is cleared and the managers are told why
    with tenant_scope(tenant):
        store.refresh_from_db()
        assert store.delete_requested_at is None and Order.objects.filter(store=store).count() == 2
        note = Notification.objects.filter(kind="store_deleted").first()
        assert note is not None and note.title == "“Old Amazon” was not deleted"
        assert "being executed on the channel" in note.body
        assert levels_match_ledger(tenant_id=tenant.pk) == []


def test_deleting_an_expired_stub_needs_no_disconnect(tenant: Tenant, owner_client: Client) -> None:
    stub = _pending(tenant, age=timedelta(hours=2))
    page = owner_client.get(reverse("channels:store-delete", args=[stub.pk])).content.decode()
    assert "ACORN holds no data from this store besides its settings." in page
    assert (
        owner_client.post(reverse("channels:store-delete", args=[stub.pk]), {"confirm_name": "Amazon JP"}).status_code
        == 302
    )


# --- failing is shown -----------------------------------------------------------------------------------


def test_a_store_whose_resource_keeps_failing_is_shown_as_failing(tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, name="Amazon JP", region="FE", marketplaces=["JP"])
        SyncCursor.objects.create(
            tenant=tenant, store=store, resource="orders", up_to_date_as_of=timezone.now(), last_status="succeeded"
        )
        cursor = SyncCursor.objects.create(tenant=tenant, store=store, resource="inventory", consecutive_failures=2)

    listing = owner_client.get(reverse("channels:store-list")).content.decode()
    assert "Failing" not in listing and ">Active<" in listing

    with tenant_scope(tenant):
        SyncCursor.objects.filter(pk=cursor.pk).update(consecutive_failures=3, last_status="failed")
    listing = owner_client.get(reverse("channels:store-list")).content.decode()
    assert "Failing" in listing and ">Active<" not in listing
    page = owner_client.get(reverse("channels:store-detail", args=[store.pk])).content.decode()
    assert "Syncing keeps failing for: FBA inventory." in page
    assert "Up to date as of" in page
    chinese = owner_client.get(reverse("channels:store-list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "持续失败" in chinese

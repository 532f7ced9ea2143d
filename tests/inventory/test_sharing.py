"""Stock sharing: what each channel listing should show (share, buffer, maximum, multiplier, bundles, the
rule's warehouses), FBA listings never pushed, reservations moving the target, one debounced push per store,
the beat picking up due retries, the console page, roles, and no other tenant's stores or listings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from inventory import ledger, services
from inventory.events import stock_changed
from inventory.models import (
    BundleComponent,
    ChannelListing,
    Product,
    PushState,
    SharingRule,
    SkuMapping,
    Warehouse,
    WarehouseKind,
)
from inventory.sharing import (
    RuleTerms,
    listed_quantity,
    listings_refresh,
    sharing_rule_update,
)
from inventory.sharing_push import store_stock_push
from inventory.tasks import dispatch_stock_pushes_task
from orders.services import order_upsert_page
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory
from tests.inventory.test_stock_pool import _order

pytestmark = pytest.mark.django_db


# --- the arithmetic --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("available", "percent", "buffer", "maximum", "multiplier", "expected"),
    [
        (100, 100, 0, None, 1, 100),  # the defaults show everything
        (100, 50, 0, None, 1, 50),  # half of it
        (101, 50, 0, None, 1, 50),  # floored
        (100, 50, 10, None, 1, 45),  # the buffer comes off first: (100 - 10) x 50 %
        (5, 100, 10, None, 1, 0),  # never negative
        (100, 100, 0, 30, 1, 30),  # capped
        (100, 100, 0, None, 3, 33),  # a 3-pack listing: whole packs only
        (100, 60, 4, 20, 2, 20),  # (96 x 60 % = 57) / 2 = 28 → capped at 20
        (100, 0, 0, None, 1, 0),  # sharing nothing
        (0, 100, 0, 0, 1, 0),
    ],
)
def test_listed_quantity(
    available: int, percent: int, buffer: int, maximum: int | None, multiplier: int, expected: int
) -> None:
    terms = RuleTerms(share_percent=percent, safety_buffer=buffer, max_listed=maximum)
    assert listed_quantity(available=available, terms=terms, multiplier=multiplier) == expected


def _product(tenant: Tenant, sku: str, *, bundle: bool = False) -> Product:
    return Product.objects.create(tenant=tenant, sku=sku, name=sku, is_bundle=bundle)


def _receive(product: Product, warehouse: Warehouse, quantity: int) -> None:
    services.stock_receive(product=product, warehouse=warehouse, quantity=quantity, reference="PO")


def _map(store: Store, product: Product, sku: str, **options: Any) -> SkuMapping:
    return SkuMapping.objects.create(tenant=store.tenant, store=store, product=product, channel_sku=sku, **options)


def _listing(store: Store, sku: str) -> ChannelListing:
    return ChannelListing.objects.select_related("mapping").get(store=store, mapping__channel_sku=sku)


def _rule(store: Store, **values: Any) -> SharingRule:
    warehouses = values.pop("warehouses", [])
    rule = SharingRule.objects.create(tenant=store.tenant, store=store, **values)
    rule.warehouses.set(warehouses)
    return rule


def test_targets_from_the_rules_warehouses_bundles_multiplier_buffer_percent_and_maximum(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="shopify", marketplaces=[])
        own = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        overseas = Warehouse.objects.create(tenant=tenant, name="LA 3PL", kind=WarehouseKind.THIRD_PARTY)
        closed = Warehouse.objects.create(tenant=tenant, name="Old", active=False)
        fba = Warehouse.objects.create(tenant=tenant, name="FBA NA", kind=WarehouseKind.FBA, region="NA")
        mug, lid = _product(tenant, "MUG"), _product(tenant, "LID")
        kit = _product(tenant, "KIT", bundle=True)
        BundleComponent.objects.create(tenant=tenant, bundle=kit, component=mug, quantity=2)
        BundleComponent.objects.create(tenant=tenant, bundle=kit, component=lid, quantity=1)
        _receive(mug, own, 30)
        _receive(mug, overseas, 12)
        _receive(mug, closed, 100)  # an inactive warehouse feeds nothing
        _receive(lid, own, 7)
        ledger.stock_move(product=mug, warehouse=fba, kind="fba_snapshot", on_hand_delta=500)  # Amazon's own
        _map(store, mug, "MUG-1")
        _map(store, mug, "MUG-2PACK", quantity_multiplier=2)
        _map(store, kit, "KIT-1")
        empty = _product(tenant, "EMPTY", bundle=True)  # a bundle without components makes none
        _map(store, empty, "EMPTY-1")

        # no rule yet: everything free in every active own and third-party warehouse
        listings_refresh(store=store)
        assert _listing(store, "MUG-1").target_quantity == 42
        assert _listing(store, "MUG-2PACK").target_quantity == 21
        assert _listing(store, "KIT-1").target_quantity == 7  # min(42 // 2, 7 // 1)
        assert _listing(store, "EMPTY-1").target_quantity == 0
        assert _listing(store, "MUG-1").state == PushState.PENDING  # the channel's quantity is not known yet

        # only the own warehouse, 10 held back, half of the rest, at most 9 per listing
        sharing_rule_update(
            tenant=tenant,
            store=store,
            actor=None,
            share_percent=50,
            safety_buffer=10,
            max_listed=9,
            warehouses=[own],
            push_enabled=False,
        )
        assert _listing(store, "MUG-1").target_quantity == 9  # (30 - 10) x 50 % = 10 → 9
        assert _listing(store, "MUG-2PACK").target_quantity == 5  # 10 // 2
        assert _listing(store, "KIT-1").target_quantity == 0  # lid: (7 - 10) → 0; a kit needs one


def test_rule_update_is_validated_and_audited(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(other_tenant):
        theirs = Warehouse.objects.create(tenant=other_tenant, name="Theirs")
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        fba = Warehouse.objects.create(tenant=tenant, name="FBA NA", kind=WarehouseKind.FBA, region="NA")
        values = {"safety_buffer": 0, "max_listed": None, "push_enabled": False}
        for bad, field in (
            ({"share_percent": 101, "warehouses": []}, "share_percent"),
            ({"share_percent": -1, "warehouses": []}, "share_percent"),
            ({"share_percent": 50, "warehouses": [theirs]}, "warehouses"),
            ({"share_percent": 50, "warehouses": [fba]}, "warehouses"),
        ):
            with pytest.raises(ValidationError) as refused:
                sharing_rule_update(tenant=tenant, store=store, actor=None, **values, **bad)
            assert field in refused.value.message_dict
        assert not SharingRule.objects.exists()

        sharing_rule_update(tenant=tenant, store=store, actor=None, share_percent=80, warehouses=[], **values)
        sharing_rule_update(tenant=tenant, store=store, actor=None, share_percent=60, warehouses=[], **values)
        rule = SharingRule.objects.get(store=store)
        assert rule.share_percent == 60
        event = AuditEvent.objects.filter(action="inventory.sharing_rule_changed").order_by("pk").last()
        assert event is not None
        assert (event.before["share_percent"], event.after["share_percent"]) == (80, 60)


def test_fba_fulfilled_mapping_is_never_pushed(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        own = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        mug = _product(tenant, "MUG")
        _receive(mug, own, 10)
        fba_mapping = _map(store, mug, "MUG-FBA", fulfilled_by_channel=True)
        _map(store, mug, "MUG-MFN")
        listings_refresh(store=store)
        assert not ChannelListing.objects.filter(mapping=fba_mapping).exists()  # nothing to push, no listing
        assert _listing(store, "MUG-MFN").target_quantity == 10

        # a listing whose SKU later turns out to be FBA stops being pushed
        mfn = SkuMapping.objects.get(channel_sku="MUG-MFN")
        mfn.fulfilled_by_channel = True
        mfn.save(update_fields=["fulfilled_by_channel"])
        listings_refresh(store=store)
        listing = _listing(store, "MUG-MFN")
        assert (listing.state, listing.target_quantity) == (PushState.NOT_PUSHED, None)

        # and the push sends nothing for it (it is not due): no adapter is even built
        _rule(store, push_enabled=True)
        assert store_stock_push(store=store).status == "nothing_due"


def test_a_reservation_changes_the_target_and_queues_one_push(
    tenant: Tenant, settings: Any, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ACORN_STOCK_PUSH_DEBOUNCE_SECONDS = 30
    with tenant_scope(tenant):
        with django_capture_on_commit_callbacks(execute=True):  # the set-up's own after-commit work runs
            store = StoreFactory(tenant=tenant, platform="shopify", marketplaces=[])
            own = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
            mug = _product(tenant, "MUG")
            _receive(mug, own, 10)
            _map(store, mug, "SKU-1")
        _rule(store, push_enabled=True)
        listings_refresh(store=store)
        ChannelListing.objects.filter(store=store).update(channel_quantity=10, state=PushState.IN_SYNC)
        enqueued.clear()

        with django_capture_on_commit_callbacks(execute=True):
            order_upsert_page(store=store, orders=[_order(1, quantity=3), _order(2, quantity=1)])

        listing = _listing(store, "SKU-1")
        assert (listing.target_quantity, listing.channel_quantity, listing.state) == (6, 10, PushState.PENDING)
        assert [(task.name, kwargs) for task, kwargs in enqueued] == [
            ("inventory.push_store_stock", {"tenant_id": tenant.pk, "store_id": store.pk})
        ]


def test_stock_changes_within_the_window_queue_one_push_per_store(
    tenant: Tenant, settings: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from inventory.tasks import push_store_stock_task

    settings.ACORN_STOCK_PUSH_DEBOUNCE_SECONDS = 30
    queued: list[tuple[dict[str, Any], int]] = []
    monkeypatch.setattr(
        push_store_stock_task, "apply_async", lambda kwargs, countdown: queued.append((kwargs, countdown))
    )
    with tenant_scope(tenant):
        shops = [StoreFactory(tenant=tenant, platform="shopify", marketplaces=[]) for _ in range(2)]
        quiet = StoreFactory(tenant=tenant, platform="shopify", marketplaces=[])  # pushing off: nothing queued
        own = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        mug = _product(tenant, "MUG")
        for store in [*shops, quiet]:
            _map(store, mug, "MUG-1")
            _rule(store, push_enabled=store in shops)
            listings_refresh(store=store)

        # when: five receipts, each its own transaction, within the window
        for _ in range(5):
            with django_capture_on_commit_callbacks(execute=True):
                _receive(mug, own, 2)

        # then: one push per store with pushing on, after the window
        assert sorted(queued, key=lambda item: item[0]["store_id"]) == [
            ({"tenant_id": tenant.pk, "store_id": store.pk}, 30) for store in shops
        ]
        assert _listing(quiet, "MUG-1").target_quantity == 10  # its target still follows

        # the push starts (and takes the window back): the next change queues the next push
        SharingRule.objects.filter(store=shops[0]).update(push_enabled=False)
        assert store_stock_push(store=shops[0]).status == "push_off"
        SharingRule.objects.filter(store=shops[0]).update(push_enabled=True)
        queued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            _receive(mug, own, 1)
        assert [kwargs["store_id"] for kwargs, _ in queued] == [shops[0].pk]


def test_stock_changed_outside_a_transaction_and_for_unlisted_products_is_harmless(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        mug = _product(tenant, "MUG")
        stock_changed(tenant_id=tenant.pk, product_ids=[mug.pk])  # no listing anywhere: nothing happens
        stock_changed(tenant_id=tenant.pk, product_ids=[])
        assert not ChannelListing.objects.exists()


def test_beat_queues_stores_with_due_listings_only(
    tenant: Tenant, other_tenant: Tenant, enqueued: EnqueuedTasks
) -> None:
    now = timezone.now()
    stores = {}
    for owner_tenant, name in ((tenant, "due-pending"), (tenant, "retry-later"), (other_tenant, "due-retry")):
        with tenant_scope(owner_tenant):
            store = StoreFactory(tenant=owner_tenant, platform="shopify", marketplaces=[], name=name)
            _rule(store, push_enabled=True)
            mug = Product.objects.create(tenant=owner_tenant, sku=f"MUG-{name}", name="Mug")
            _map(store, mug, "MUG-1")
            listings_refresh(store=store)
            stores[name] = store
    with tenant_scope(tenant):
        ChannelListing.objects.filter(store=stores["retry-later"]).update(
            state=PushState.FAILED, attempts=1, next_attempt_at=now + timedelta(minutes=5)
        )
    with tenant_scope(other_tenant):
        ChannelListing.objects.filter(store=stores["due-retry"]).update(
            state=PushState.FAILED, attempts=2, next_attempt_at=now - timedelta(seconds=1)
        )

    assert dispatch_stock_pushes_task() == 2
    queued = {kwargs["store_id"] for _task, kwargs in enqueued}
    assert queued == {stores["due-pending"].pk, stores["due-retry"].pk}
    enqueued.clear()
    assert dispatch_stock_pushes_task() == 0  # within the window: not queued twice
    assert dispatch_stock_pushes_task(full=True) == 1  # the periodic refresh reaches every store with a rule
    assert {kwargs["store_id"] for _task, kwargs in enqueued} == {stores["retry-later"].pk}


def test_a_store_without_credentials_fails_visibly_and_is_interrupted(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)  # active, but never authorised
        own = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        mug = _product(tenant, "MUG")
        _receive(mug, own, 4)
        _map(store, mug, "MUG-1")
        _rule(store, push_enabled=True)
        summary = store_stock_push(store=store)
        listing = _listing(store, "MUG-1")
        store.refresh_from_db()
    assert summary.status == "auth_failed"
    assert listing.state == PushState.FAILED and listing.attempts == 1 and listing.next_attempt_at is not None
    assert "not been authorised" in listing.last_error
    assert store.status == "auth_interrupted"


# --- the console ----------------------------------------------------------------------------------------


def _page_setup(tenant: Tenant) -> tuple[Store, Warehouse]:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="shopify", marketplaces=[], name="Shop EU")
        own = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        mug = _product(tenant, "MUG-BLUE")
        _receive(mug, own, 20)
        _map(store, mug, "BLUE-MUG-SHOP")
    return store, own


def test_page_empty_state_rule_form_listings_and_log(
    tenant: Tenant, owner_client: Client, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    store, own = _page_setup(tenant)
    url = reverse("inventory:sharing-detail", args=[store.pk])
    assert url == f"/app/inventory/sharing/{store.pk}/"
    page = owner_client.get(url).content.decode()
    assert "No listings yet" in page and "no sharing rule yet" in page
    index = owner_client.get(reverse("inventory:sharing-list")).content.decode()
    assert url in index and "No rule yet" in index

    # the form says what is wrong
    bad = owner_client.post(url, {"share_percent": 150, "safety_buffer": -2, "max_listed": ""})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Share between 0 and 100 percent." in text and "The safety buffer cannot be negative." in text

    with django_capture_on_commit_callbacks(execute=True):
        saved = owner_client.post(
            url,
            {"share_percent": 50, "safety_buffer": 2, "max_listed": "", "warehouses": [own.pk], "push_enabled": "on"},
        )
    assert saved.status_code == 302
    assert [task.name for task, _ in enqueued] == ["inventory.push_store_stock"]  # pushing was turned on
    page = owner_client.get(url).content.decode()
    assert "BLUE-MUG-SHOP" in page and "MUG-BLUE" in page and "Waiting to push" in page
    with tenant_scope(tenant):
        assert _listing(store, "BLUE-MUG-SHOP").target_quantity == 9  # (20 - 2) x 50 %
    filtered = owner_client.get(url, {"state": "failed"}).content.decode()
    assert "No listing in this state." in filtered
    index = owner_client.get(reverse("inventory:sharing-list")).content.decode()
    assert "50%" in index and "Shenzhen" in index


def test_push_now_and_retry_failed(
    tenant: Tenant, owner_client: Client, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    store, _own = _page_setup(tenant)
    push, retry = (reverse(f"inventory:sharing-{name}", args=[store.pk]) for name in ("push", "retry"))
    with tenant_scope(tenant):
        _rule(store, push_enabled=False)
        listings_refresh(store=store)
    refused = owner_client.post(push, follow=True).content.decode()
    assert "Pushing is off for this store" in refused and not enqueued

    with tenant_scope(tenant):
        SharingRule.objects.filter(store=store).update(push_enabled=True)
        ChannelListing.objects.filter(store=store).update(
            state=PushState.FAILED, attempts=6, next_attempt_at=None, last_error="Shopify answered 503"
        )
    page = owner_client.get(reverse("inventory:sharing-detail", args=[store.pk])).content.decode()
    assert "Shopify answered 503" in page and "Retry 1 failed" in page
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(retry)
    with tenant_scope(tenant):
        listing = _listing(store, "BLUE-MUG-SHOP")
        assert (listing.state, listing.attempts) == (PushState.PENDING, 0)
        assert AuditEvent.objects.filter(action="inventory.stock_push_retried").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(push)
    assert [kwargs["store_id"] for _task, kwargs in enqueued] == [store.pk, store.pk]  # retry, then push now


def test_roles(tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable[..., Client]) -> None:
    store, own = _page_setup(tenant)
    with tenant_scope(tenant):
        _rule(store, share_percent=70, warehouses=[own])
        listings_refresh(store=store)
        listing = _listing(store, "BLUE-MUG-SHOP")
    detail = reverse("inventory:sharing-detail", args=[store.pk])
    posts = [reverse(f"inventory:sharing-{name}", args=[store.pk]) for name in ("push", "retry")] + [detail]
    support = client_for(make_member(tenant, Role.SUPPORT))
    assert support.get(detail).status_code == 403
    assert support.get(reverse("inventory:sharing-list")).status_code == 403
    finance = client_for(make_member(tenant, Role.FINANCE))  # may look, not change
    page = finance.get(detail).content.decode()
    assert "BLUE-MUG-SHOP" in page and "70%" in page and "Shenzhen" in page
    assert "Save rule" not in page and "Push now" not in page
    assert finance.get(reverse("inventory:listing-detail", args=[listing.pk])).status_code == 200
    for url in posts:
        assert finance.post(url, {"share_percent": 10, "safety_buffer": 0}).status_code == 403
    operator = client_for(make_member(tenant, Role.OPERATOR))
    assert operator.post(detail, {"share_percent": 10, "safety_buffer": 0}).status_code == 302
    with tenant_scope(tenant):
        assert SharingRule.objects.get(store=store).share_percent == 10


def test_other_tenants_stores_rules_and_listings_answer_404(
    tenant: Tenant, other_owner: Membership, client_for: Callable[..., Client]
) -> None:
    store, own = _page_setup(tenant)
    with tenant_scope(tenant):
        _rule(store, push_enabled=True)
        listings_refresh(store=store)
        listing = _listing(store, "BLUE-MUG-SHOP")
    theirs = client_for(other_owner)
    assert theirs.get(reverse("inventory:sharing-detail", args=[store.pk])).status_code == 404
    assert theirs.post(reverse("inventory:sharing-detail", args=[store.pk]), {"share_percent": 1}).status_code == 404
    for name in ("push", "retry"):
        assert theirs.post(reverse(f"inventory:sharing-{name}", args=[store.pk])).status_code == 404
    assert theirs.get(reverse("inventory:listing-detail", args=[listing.pk])).status_code == 404
    assert "Shop EU" not in theirs.get(reverse("inventory:sharing-list")).content.decode()

    # and A's warehouse cannot be chosen in B's rule
    with tenant_scope(other_owner.tenant):
        their_store = StoreFactory(tenant=other_owner.tenant, platform="shopify", marketplaces=[])
    answer = theirs.post(
        reverse("inventory:sharing-detail", args=[their_store.pk]),
        {"share_percent": 100, "safety_buffer": 0, "warehouses": [own.pk]},
    )
    assert answer.status_code == 400 and "Select a valid choice" in answer.content.decode()
    with tenant_scope(tenant):
        assert SharingRule.objects.get(store=store).share_percent == 100  # untouched

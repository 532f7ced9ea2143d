"""Channel stock pushes end to end, over real HTTP to the simulator through the real client libraries:
Shopify compare-and-set (a quantity changed on the shop meanwhile ends right, logged as a conflict then an
applied push), WooCommerce stock_quantity, Amazon's merchant-fulfilled quantity (an FBA-only SKU refused), a
push against a failing channel retried by the beat, and nothing sent twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import ratelimit
from channels.adapters.shopify import ShopifyAdapter
from channels.models import AMAZON_MARKETPLACES, Store
from inventory import services, sharing_push
from inventory.models import ChannelListing, Product, PushOutcome, PushState, SharingRule, SkuMapping, Warehouse
from inventory.sharing_push import store_stock_push
from inventory.tasks import dispatch_stock_pushes_task
from simulator.faults import FaultProfile
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels import test_shopify_e2e as shop_e2e
from tests.channels import test_woocommerce_e2e as woo_e2e
from tests.channels.test_amazon_e2e import NOW
from tests.channels.test_amazon_e2e import _connect as amazon_connect
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_amazon_tokens() -> None:
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()


@pytest.fixture
def sim(settings: Any) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=21, world=World(seed=21, clock=ManualClock(NOW))) as server:
        settings.ACORN_WOOCOMMERCE_CA_BUNDLE = str(server.tls_cert_path)
        server.shopify.add_shop(shop_e2e.SHOP, currency="EUR", orders_per_day=2, history_days=2)
        server.woo.add_site(woo_e2e.SLUG, currency="EUR", orders_per_day=2, history_days=2)
        yield server


def _stock(store: Store, sku: str, on_hand: int, *, share_percent: int = 100) -> Product:
    """A master product with `on_hand` units in an own warehouse, mapped to the channel's `sku`, and a rule
    that pushes."""
    tenant = store.tenant
    with tenant_scope(tenant):
        warehouse, _ = Warehouse.objects.get_or_create(tenant=tenant, name="Shenzhen")
        product = Product.objects.create(tenant=tenant, sku=f"M-{sku}", name=sku)
        services.stock_receive(product=product, warehouse=warehouse, quantity=on_hand)
        SkuMapping.objects.create(tenant=tenant, store=store, product=product, channel_sku=sku)
        SharingRule.objects.update_or_create(
            tenant=tenant, store=store, defaults={"push_enabled": True, "share_percent": share_percent}
        )
    return product


def _listing(store: Store, sku: str) -> ChannelListing:
    with tenant_scope(store.tenant):
        return ChannelListing.objects.get(store=store, mapping__channel_sku=sku)


def _outcomes(listing: ChannelListing) -> list[tuple[str, int | None, int]]:
    with tenant_scope(listing.tenant):
        return [(push.outcome, push.previous, push.quantity) for push in listing.pushes.order_by("pk")]


def _push(store: Store) -> sharing_push.PushSummary:
    with tenant_scope(store.tenant):
        return store_stock_push(store=store)


def _shop_level(sim: SimulatorServer, sku: str) -> dict[str, Any]:
    """The shop's first (primary) location of the SKU: where ACORN sets its quantity."""
    return next(row for row in sim.shopify.inventory(shop_e2e.SHOP) if row["sku"] == sku)


def _shop_sells(sim: SimulatorServer, sku: str, units: int) -> None:
    """Someone changes the quantity in Shopify (a sale at the till, a manual edit): ACORN is not told."""
    level = _shop_level(sim, sku)
    item = int(level["inventory_item_id"].rsplit("/", 1)[1])
    location = int(level["location_id"].rsplit("/", 1)[1])
    with sim.shopify.lock:
        shop = sim.shopify.shop(shop_e2e.SHOP)
        sim.shopify.adjust_stock(shop, item, location, {"available": -units}, sim.world.now())


def _shopify_calls(sim: SimulatorServer) -> list[Any]:
    return [request for request in sim.requests if request.path.startswith("/shopify/")]


def test_shopify_push_sets_the_quantity_and_a_second_push_sends_nothing(tenant: Tenant, sim: SimulatorServer) -> None:
    store = shop_e2e._connect(tenant, sim)
    sku = sim.shopify.inventory(shop_e2e.SHOP)[0]["sku"]
    before = _shop_level(sim, sku)["available"]
    _stock(store, sku, 40, share_percent=50)

    summary = _push(store)

    assert summary.applied == 1 and summary.failed == 0
    assert _shop_level(sim, sku)["available"] == 20
    listing = _listing(store, sku)
    assert (listing.state, listing.target_quantity, listing.channel_quantity) == (PushState.IN_SYNC, 20, 20)
    assert listing.location_id == _shop_level(sim, sku)["location_id"] and listing.pushed_at is not None
    assert _outcomes(listing) == [(PushOutcome.APPLIED, before, 20)]

    # nothing changed: the second push reads nothing and sends nothing
    sim.clear_requests()
    assert _push(store).status == "nothing_due"
    assert _shopify_calls(sim) == []
    assert len(sim.shopify.inventory_changes(shop_e2e.SHOP)) == 1


def test_shopify_conflict_between_the_read_and_the_push_ends_with_the_right_quantity(
    tenant: Tenant, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = shop_e2e._connect(tenant, sim)
    sku = sim.shopify.inventory(shop_e2e.SHOP)[0]["sku"]
    read = _shop_level(sim, sku)["available"]
    _stock(store, sku, 30)

    # the shop sells 5 after ACORN read its quantity and before ACORN's compare-and-set arrives
    real_set = ShopifyAdapter.set_available
    sold: list[int] = []

    def set_after_a_sale(self: ShopifyAdapter, **kwargs: Any) -> Any:
        if not sold:
            _shop_sells(sim, sku, 5)
            sold.append(5)
        return real_set(self, **kwargs)

    monkeypatch.setattr(ShopifyAdapter, "set_available", set_after_a_sale)
    summary = _push(store)

    assert summary.conflicts == 1 and summary.applied == 1
    assert _shop_level(sim, sku)["available"] == 30  # what ACORN's pool says, not a blind overwrite of a stale read
    listing = _listing(store, sku)
    assert (listing.state, listing.channel_quantity) == (PushState.IN_SYNC, 30)
    assert _outcomes(listing) == [(PushOutcome.CONFLICT, read, 30), (PushOutcome.APPLIED, read - 5, 30)]
    changes = sim.shopify.inventory_changes(shop_e2e.SHOP)
    assert [change["change_from_quantity"] for change in changes] == [read - 5]  # the refused one changed nothing


def test_shopify_conflict_after_an_earlier_push_rereads_and_retries(tenant: Tenant, sim: SimulatorServer) -> None:
    store = shop_e2e._connect(tenant, sim)
    sku = sim.shopify.inventory(shop_e2e.SHOP)[1]["sku"]
    product = _stock(store, sku, 20)
    assert _push(store).applied == 1 and _shop_level(sim, sku)["available"] == 20

    _shop_sells(sim, sku, 3)  # the shop shows 17; ACORN still believes 20
    with tenant_scope(tenant):  # and ACORN's pool grows: the channel should show 26
        warehouse = Warehouse.objects.get(name="Shenzhen")
        services.stock_receive(product=product, warehouse=warehouse, quantity=6)
    summary = _push(store)

    assert (summary.conflicts, summary.applied) == (1, 1)
    assert _shop_level(sim, sku)["available"] == 26
    assert _outcomes(_listing(store, sku))[1:] == [(PushOutcome.CONFLICT, 20, 26), (PushOutcome.APPLIED, 17, 26)]


def test_a_push_repeated_after_a_lost_answer_does_not_change_the_shop_twice(
    tenant: Tenant, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = shop_e2e._connect(tenant, sim)
    sku = sim.shopify.inventory(shop_e2e.SHOP)[2]["sku"]
    _stock(store, sku, 11)
    real_applied = sharing_push._applied

    def worker_dies(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("worker killed after Shopify applied the change, before ACORN recorded it")

    monkeypatch.setattr(sharing_push, "_applied", worker_dies)
    with pytest.raises(SystemExit):
        _push(store)
    assert _shop_level(sim, sku)["available"] == 11 and _listing(store, sku).state == PushState.PENDING

    monkeypatch.setattr(sharing_push, "_applied", real_applied)
    assert _push(store).applied == 1  # the same idempotency key: Shopify replays the first answer

    assert len(sim.shopify.inventory_changes(shop_e2e.SHOP)) == 1
    assert _listing(store, sku).state == PushState.IN_SYNC


def test_a_failing_channel_leaves_the_listing_failed_and_the_beat_retries_it(
    tenant: Tenant, sim: SimulatorServer, enqueued: EnqueuedTasks, owner_client: Client
) -> None:
    store = shop_e2e._connect(tenant, sim)
    first, second = (row["sku"] for row in sim.shopify.inventory(shop_e2e.SHOP)[::2][:2])
    _stock(store, first, 8)
    _stock(store, second, 9)
    sim.faults.profile = FaultProfile(unavailable_rate=1.0, max_consecutive_faults=1_000_000)

    summary = _push(store)

    assert summary.failed == 1 and summary.deferred == 1  # the channel is down: the other one waits with it
    failed, waiting = sorted((_listing(store, sku) for sku in (first, second)), key=lambda row: row.state)
    assert failed.state == PushState.FAILED and failed.attempts == 1
    assert failed.next_attempt_at is not None and failed.next_attempt_at > timezone.now()
    assert failed.last_error.startswith("Shopify answered 50")  # the gateway error, as the page shows it
    assert [outcome for outcome, _previous, _quantity in _outcomes(failed)] == [PushOutcome.FAILED]
    assert waiting.state == PushState.PENDING and waiting.next_attempt_at == failed.next_attempt_at
    assert dispatch_stock_pushes_task() == 0 and not enqueued  # not before its time
    page = owner_client.get(reverse("inventory:sharing-detail", args=[store.pk])).content.decode()
    assert 'text-bg-danger">Push failed' in page and failed.last_error in page
    assert "next try" in page and "Retry 1 failed" in page
    history = owner_client.get(reverse("inventory:listing-detail", args=[failed.pk])).content.decode()
    assert failed.last_error in history and "Failed" in history

    # the channel is back and the retry time has come
    sim.faults.profile = FaultProfile()
    with tenant_scope(tenant):
        ChannelListing.objects.filter(store=store).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert dispatch_stock_pushes_task() == 1
    assert enqueued.run_all() == ["done"]

    assert (_shop_level(sim, first)["available"], _shop_level(sim, second)["available"]) == (8, 9)
    page = owner_client.get(reverse("inventory:sharing-detail", args=[store.pk])).content.decode()
    assert 'text-bg-danger">Push failed' not in page and page.count('text-bg-success">In step') == 2
    for sku in (first, second):
        listing = _listing(store, sku)
        assert (listing.state, listing.attempts, listing.last_error, listing.next_attempt_at) == (
            PushState.IN_SYNC,
            0,
            "",
            None,
        )


def test_woocommerce_push_sets_stock_quantity_of_products_and_variations(tenant: Tenant, sim: SimulatorServer) -> None:
    store = woo_e2e._connect(tenant, sim)
    with tenant_scope(tenant):
        from channels.adapters.woocommerce import WooCommerceAdapter

        adapter = WooCommerceAdapter(store=store, secrets=store.credential.secrets)
    items = adapter.fetch_stock().items
    simple = next(item for item in items if "/" not in item.channel_product_id and item.available is not None)
    variation = next(item for item in items if "/" in item.channel_product_id)
    _stock(store, simple.sku, 13)
    product = _stock(store, variation.sku, 4)
    with tenant_scope(tenant):  # mapped the way an order line names it: the variation's own id
        SkuMapping.objects.filter(product=product).update(
            channel_product_id=variation.channel_product_id.rpartition("/")[2]
        )

    summary = _push(store)

    assert summary.applied == 2
    assert sim.woo.stock(woo_e2e.SLUG)[simple.sku] == 13
    assert sim.woo.stock(woo_e2e.SLUG)[variation.sku] == 4
    assert _listing(store, variation.sku).inventory_item_id == variation.channel_product_id
    assert _listing(store, simple.sku).state == PushState.IN_SYNC
    assert _push(store).status == "nothing_due"


def test_amazon_mfn_quantity_accepted_fba_only_refused_and_fba_mapping_never_sent(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    seller = sim.world.add_seller("NA", ["US", "CA"])
    store = amazon_connect(tenant, sim, seller.selling_partner_id)
    listings = seller.listings["US"]
    mfn = next(listing for listing in listings if not listing.fba_only)
    fba_only = next(listing for listing in listings if listing.fba_only)
    ours_at_fba = next(listing for listing in listings if not listing.fba_only and listing.sku != mfn.sku)
    _stock(store, mfn.sku, 12)
    _stock(store, fba_only.sku, 5)
    _stock(store, ours_at_fba.sku, 7)
    with tenant_scope(tenant):
        SkuMapping.objects.filter(channel_sku=ours_at_fba.sku).update(fulfilled_by_channel=True)

    summary = _push(store)

    assert (summary.applied, summary.rejected) == (1, 1)
    for code in ("US", "CA"):
        marketplace_id = AMAZON_MARKETPLACES[code][0]
        assert sim.world.listing_quantity(seller.selling_partner_id, marketplace_id, mfn.sku) == 12
    accepted = _listing(store, mfn.sku)
    assert (accepted.state, accepted.channel_quantity) == (PushState.IN_SYNC, 12)
    assert [outcome for outcome, _previous, _quantity in _outcomes(accepted)] == [PushOutcome.APPLIED] * 2
    refused = _listing(store, fba_only.sku)
    assert refused.state == PushState.REJECTED and "US:" in refused.last_error
    assert [outcome for outcome, _previous, _quantity in _outcomes(refused)] == [PushOutcome.REJECTED]
    assert not any(ours_at_fba.sku in request.path for request in sim.requests)

    # nothing changed: the refused one is not sent again until its target changes
    sim.clear_requests()
    assert _push(store).status == "nothing_due"
    assert not [request for request in sim.requests if "/listings/" in request.path]


def test_amazon_writes_keep_to_the_listings_rate_and_a_run_stops_at_its_time_budget(
    tenant: Tenant, sim: SimulatorServer, settings: Any
) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 1
    seller = sim.world.add_seller("NA", ["US", "CA"])
    store = amazon_connect(tenant, sim, seller.selling_partner_id)
    skus = [listing.sku for listing in seller.listings["US"] if not listing.fba_only][:2]
    products = [_stock(store, sku, 3) for sku in skus]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    # Amazon says 2 calls a second for this seller, and a burst just went out: the bucket is empty
    ratelimit.rate_limit_observe(store_id=store.pk, operation="amazon.listings", per_second=Decimal(2))
    ratelimit.rate_limit_penalize(store_id=store.pk, operation="amazon.listings")
    started = time.monotonic()
    with tenant_scope(tenant):
        summary = store_stock_push(store=store, sleep=sleep)
    assert summary.applied == 2
    assert time.monotonic() - started >= 1.9  # 4 calls (2 SKUs x US, CA), each waited for its token
    assert waits and all(0 < wait <= 0.5 for wait in waits)

    with tenant_scope(tenant):  # more stock arrives, but the run has no time left
        warehouse = Warehouse.objects.get(name="Shenzhen")
        services.stock_receive(product=products[0], warehouse=warehouse, quantity=1)
        sim.clear_requests()
        assert store_stock_push(store=store, time_budget_seconds=0).status == "partial"
    assert not [request for request in sim.requests if "/listings/" in request.path]
    assert _listing(store, skus[0]).state == PushState.PENDING  # still due: the task goes on at once

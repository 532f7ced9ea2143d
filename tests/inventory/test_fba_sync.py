"""FBA inventory sync against the simulator, over real HTTP through python-amazon-sp-api: the region's
read-only FBA warehouse holds Amazon's figures per SKU (one pool counted once), a second sync writes
nothing, the ledger sums to the levels, SKUs without a product are reported and picked up once mapped,
malformed summaries are quarantined, an expired page token restarts the pass, other tenants see nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services as channel_services
from channels.models import AMAZON_MARKETPLACES, QuarantinedRecord, Store, SyncRun
from channels.sync import sync_run_execute
from inventory import services
from inventory.models import (
    MovementKind,
    Product,
    SkuMapping,
    StockLevel,
    StockMovement,
    Warehouse,
    WarehouseKind,
)
from simulator.amazon import inventory as simulated_inventory
from simulator.model import Seller
from simulator.server import SimulatorServer
from simulator.stock import fba_pool, seller_stock_levels
from simulator.world import ManualClock, World

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # a Thursday: Amazon's simulated restock was on Monday
INVENTORY_PATH = "/fba/inventory/v1/summaries"

# (on_hand, reserved, inbound, unfulfillable) of one product in the FBA warehouse
Figures = tuple[int, int, int, int]


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000  # the simulator's pace, not Amazon's 2 requests a second
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()  # tokens are cached per process, keyed by refresh token


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    world = World(seed=5, clock=ManualClock(NOW))
    with SimulatorServer(seed=5, world=world) as server:
        yield server


def _connect(tenant: Tenant, sim: SimulatorServer, region: str, marketplaces: list[str], name: str = "") -> Store:
    """Connect a simulated seller through the services the console uses (orders and inventory granted)."""
    seller = sim.world.add_seller(region, marketplaces)
    with tenant_scope(tenant):
        store = channel_services.store_create(
            tenant=tenant,
            actor=None,
            membership=None,
            platform="amazon",
            name=name or f"Amazon {region}",
            region=region,
            marketplaces=marketplaces,
            permissions=["orders", "inventory"],
            endpoint=sim.url,
        )
        return channel_services.store_authorize(
            store=store,
            actor=None,
            seller_id=seller.selling_partner_id,
            secrets={"refresh_token": sim.world.issue_refresh_token(seller.selling_partner_id)},
            queue_sync=False,
        )


def _sync(store: Store, *, budget: float | None = None, max_runs: int = 10) -> SyncRun:
    """Run the inventory sync until it succeeds; returns the last run."""
    with tenant_scope(store.tenant):
        for _ in range(max_runs):
            run = sync_run_execute(
                store=store,
                resource="inventory",
                trigger="command",
                time_budget_seconds=budget,
                sleep=lambda seconds: None,
            )
            if run.status == "succeeded":
                return run
            assert run.status == "partial", f"{run.status} {run.error_code}: {run.message}"
    raise AssertionError(f"not done after {max_runs} runs")


def _seller(sim: SimulatorServer, store: Store) -> Seller:
    return sim.world.seller(store.seller_id)


def _busy_week(sim: SimulatorServer, store: Store) -> None:
    """Many orders since Monday's restock: some SKUs run low (Amazon ships more in), returns come back."""
    sim.world.generate_orders(store.seller_id, 1500, start=datetime(2026, 3, 2, 1, 0, tzinfo=UTC), end=NOW)


def _skus(sim: SimulatorServer, store: Store) -> list[str]:
    return sorted({listing.sku for listing in _seller(sim, store).listings[store.marketplaces[0]]})


def _amazon(sim: SimulatorServer, store: Store, marketplace: str) -> dict[str, Figures]:
    """What Amazon (the simulated world, read directly) holds for one marketplace, per SKU."""
    seller = _seller(sim, store)
    orders = sim.world.seller_orders(seller.selling_partner_id)
    return {
        level.listing.sku: (
            level.fulfillable + level.reserved,
            level.reserved,
            level.inbound_shipped,
            level.unfulfillable_total,
        )
        for level in seller_stock_levels(seller, orders, marketplace, sim.world.now())
    }


def _add(a: Figures, b: Figures, times: int = 1) -> Figures:
    return (a[0] + b[0] * times, a[1] + b[1] * times, a[2] + b[2] * times, a[3] + b[3] * times)


def _truth(sim: SimulatorServer, store: Store) -> dict[str, Figures]:
    """The seller's FBA stock per SKU in the store's region: each of the simulator's pools once."""
    codes = set(store.marketplaces)
    pools: dict[frozenset[str], str] = {}
    for marketplace in store.marketplaces:
        pools.setdefault(fba_pool(marketplace) & codes, marketplace)
    truth: dict[str, Figures] = {}
    for marketplace in pools.values():
        for sku, figures in _amazon(sim, store, marketplace).items():
            truth[sku] = _add(truth.get(sku, (0, 0, 0, 0)), figures)
    return truth


def _stored(store: Store) -> dict[str, Figures]:
    """The region's FBA levels, by master SKU."""
    with tenant_scope(store.tenant):
        return {
            level.product.sku: (level.on_hand, level.reserved, level.inbound, level.unfulfillable)
            for level in StockLevel.objects.filter(
                warehouse__kind=WarehouseKind.FBA, warehouse__region=store.region
            ).select_related("product")
        }


def _products(store: Store, skus: list[str]) -> None:
    """A master product for each SKU, under the same SKU (a channel SKU equal to a master SKU maps itself)."""
    with tenant_scope(store.tenant):
        for sku in skus:
            Product.objects.create(tenant=store.tenant, sku=sku, name=sku)


def _expected(truth: dict[str, Figures], skus: list[str]) -> dict[str, Figures]:
    return {sku: truth[sku] for sku in skus if any(truth[sku])}


def test_fba_levels_equal_amazons_figures_and_a_second_sync_writes_nothing(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given a North American store (US and CA share one FBA pool), every SKU but two a master product, one
    # SKU a two-pack mapped to its own master product, one SKU with no product at all
    store = _connect(tenant, sim, "NA", ["US", "CA"])
    _busy_week(sim, store)
    skus = _skus(sim, store)
    two_pack, unmapped, plain = skus[0], skus[1], skus[2:]
    _products(store, plain)
    with tenant_scope(tenant):
        mug = Product.objects.create(tenant=tenant, sku="MUG-SINGLE", name="Mug")
        mapping = SkuMapping.objects.create(
            tenant=tenant, store=store, channel_sku=two_pack, product=mug, quantity_multiplier=2
        )
    sim.clear_requests()

    # when the inventory syncs
    run = _sync(store)

    # then the one FBA warehouse of the region holds Amazon's figures per product
    truth = _truth(sim, store)
    expected = _expected(truth, plain)
    expected["MUG-SINGLE"] = _add((0, 0, 0, 0), truth[two_pack], times=2)
    assert _stored(store) == expected
    for column in range(3):  # on hand, reserved and inbound all take part (one product has only inbound)
        assert any(figures[column] for figures in expected.values())
    assert any(not on_hand and inbound for on_hand, _reserved, inbound, _bad in expected.values())
    with tenant_scope(tenant):
        warehouse = Warehouse.objects.get()
        assert (warehouse.kind, warehouse.region, warehouse.read_only) == ("fba", "NA", True)
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []
        assert set(StockMovement.objects.values_list("kind", flat=True)) == {MovementKind.FBA_SNAPSHOT}
        mapping.refresh_from_db()
        assert mapping.fulfilled_by_channel  # ACORN never pushes a quantity for an FBA SKU
    # one marketplace read for the pool: CA's answer would be US's again
    marketplaces = {request.query["marketplaceIds"][0] for request in sim.requests if request.path == INVENTORY_PATH}
    assert marketplaces == {AMAZON_MARKETPLACES["US"][0]}
    # the SKU with no product is counted and named, not lost
    assert (run.status, run.skipped, run.quarantined) == ("succeeded", 1, 0)
    assert unmapped in run.message
    assert run.created == len(expected)

    # when it syncs again with nothing changed at Amazon
    with tenant_scope(tenant):
        movements = StockMovement.objects.count()
    again = _sync(store)

    # then nothing is written
    assert (again.created, again.updated, again.skipped) == (0, 0, 1)
    assert _stored(store) == expected
    with tenant_scope(tenant):
        assert StockMovement.objects.count() == movements
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_marketplaces_of_one_pool_are_counted_once_and_pools_of_a_region_are_added(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given a European store in the UK (its own FBA stock) and DE and FR (one Pan-European stock)
    store = _connect(tenant, sim, "EU", ["UK", "DE", "FR"])
    _busy_week(sim, store)
    skus = _skus(sim, store)
    _products(store, skus)
    uk, de, fr = (_amazon(sim, store, marketplace) for marketplace in ("UK", "DE", "FR"))
    assert de == fr  # Amazon answers each marketplace of a pool with the pool's figures
    sim.clear_requests()

    # when the inventory syncs
    _sync(store)

    # then each SKU holds the UK's units plus the Pan-European units, not the Pan-European units twice
    stored = _stored(store)
    assert stored == {sku: _add(uk[sku], de[sku]) for sku in skus if any(_add(uk[sku], de[sku]))}
    double_counted = {sku: _add(_add(uk[sku], de[sku]), fr[sku]) for sku in skus}
    assert any(stored.get(sku) != figures for sku, figures in double_counted.items())
    read = {request.query["marketplaceIds"][0] for request in sim.requests if request.path == INVENTORY_PATH}
    assert read == {AMAZON_MARKETPLACES["UK"][0], AMAZON_MARKETPLACES["DE"][0]}
    with tenant_scope(tenant):
        assert Warehouse.objects.get().region == "EU"
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []
        # each pool is its own contribution in the ledger, so neither overwrites the other
        references = set(StockMovement.objects.values_list("reference", flat=True))
        assert {ref.split(":")[2] for ref in references} == {"UK", "EU"}


def test_an_unmapped_sku_is_picked_up_once_mapped_and_a_remapped_sku_moves_its_stock(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given a store whose SKUs have no products yet
    store = _connect(tenant, sim, "NA", ["US"])
    skus = _skus(sim, store)
    sku = next(s for s in skus if _truth(sim, store)[s][0])  # one with units at Amazon
    first = _sync(store)
    assert first.skipped == len(skus) and first.created == 0
    assert _stored(store) == {}

    # when a product is created for it and mapped, the next sync reads its stock
    with tenant_scope(tenant):
        old = Product.objects.create(tenant=tenant, sku="OLD", name="Old")
        mapping = SkuMapping.objects.create(tenant=tenant, store=store, channel_sku=sku, product=old)
    second = _sync(store)
    assert second.skipped == len(skus) - 1
    assert _stored(store) == {"OLD": _truth(sim, store)[sku]}

    # when the SKU is mapped to another product, its units move there: the old product keeps none
    with tenant_scope(tenant):
        new = Product.objects.create(tenant=tenant, sku="NEW", name="New")
        SkuMapping.objects.filter(pk=mapping.pk).update(product=new)
    _sync(store)
    assert _stored(store) == {"OLD": (0, 0, 0, 0), "NEW": _truth(sim, store)[sku]}

    # and when the mapping goes away, so do the units
    with tenant_scope(tenant):
        SkuMapping.objects.filter(pk=mapping.pk).delete()
    _sync(store)
    assert _stored(store) == {"OLD": (0, 0, 0, 0), "NEW": (0, 0, 0, 0)}
    with tenant_scope(tenant):
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_a_malformed_summary_is_quarantined_and_the_rest_of_the_page_is_stored(
    tenant: Tenant, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _connect(tenant, sim, "NA", ["US"])
    skus = _skus(sim, store)
    broken = skus[0]
    _products(store, skus)
    render = simulated_inventory.render_summary

    def render_broken(level: Any, details: bool) -> dict[str, Any]:
        summary = render(level, details)
        if summary["sellerSku"] == broken:
            summary["inventoryDetails"]["fulfillableQuantity"] = "twelve"
        return summary

    monkeypatch.setattr(simulated_inventory, "render_summary", render_broken)

    run = _sync(store)

    assert run.quarantined == 1
    with tenant_scope(tenant):
        record = QuarantinedRecord.objects.get()
        assert (record.resource, record.external_id) == ("inventory", broken)
        assert "fulfillableQuantity" in record.reason
    truth = _truth(sim, store)
    assert _stored(store) == _expected(truth, [sku for sku in skus if sku != broken])


def test_an_expired_page_token_restarts_the_pass_and_the_figures_stay_exact(
    tenant: Tenant, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given pages of three SKUs, and a run that stops after its first page (time budget spent)
    monkeypatch.setattr(simulated_inventory, "PAGE_SIZE", 3)
    store = _connect(tenant, sim, "EU", ["UK", "DE"])
    _busy_week(sim, store)
    skus = _skus(sim, store)
    _products(store, skus)
    with tenant_scope(tenant):
        paused = sync_run_execute(
            store=store, resource="inventory", trigger="command", time_budget_seconds=0, sleep=lambda s: None
        )
    assert paused.status == "partial" and paused.pages == 1

    # when more than 30 seconds pass before the next run, Amazon refuses the stored nextToken
    sim.world.generate_orders(store.seller_id, 30, start=NOW - timedelta(hours=1), end=NOW)
    sim.world.advance(timedelta(seconds=31))
    run = _sync(store)

    # then the pass starts over and ends with Amazon's figures, inbound and unfulfillable summed over pages
    assert "Pagination restarted" in run.message
    expected = _expected(_truth(sim, store), skus)
    assert _stored(store) == expected
    assert any(figures[2] for figures in expected.values()) and any(figures[3] for figures in expected.values())
    with tenant_scope(tenant):
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_fba_warehouses_refuse_receipts_and_adjustments(tenant: Tenant, sim: SimulatorServer) -> None:
    store = _connect(tenant, sim, "NA", ["US"])
    _products(store, _skus(sim, store))
    _sync(store)
    with tenant_scope(tenant):
        warehouse = Warehouse.objects.get(kind=WarehouseKind.FBA)
        level = StockLevel.objects.filter(warehouse=warehouse).select_related("product").first()
        assert level is not None
        with pytest.raises(ValidationError):
            services.stock_receive(product=level.product, warehouse=warehouse, quantity=5)
        with pytest.raises(ValidationError):
            services.stock_adjust(
                product=level.product, warehouse=warehouse, delta=-1, kind=MovementKind.ADJUSTMENT, reason="count"
            )
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_another_tenant_sees_none_of_it(tenant: Tenant, other_tenant: Tenant, sim: SimulatorServer) -> None:
    store = _connect(tenant, sim, "NA", ["US"])
    _products(store, _skus(sim, store))
    with tenant_scope(other_tenant):
        Product.objects.create(tenant=other_tenant, sku=_skus(sim, store)[0], name="Same SKU, other company")
    _sync(store)
    assert _stored(store)
    with tenant_scope(other_tenant):
        assert not Warehouse.objects.exists()
        assert not StockLevel.objects.exists()
        assert not StockMovement.objects.exists()


def test_sync_store_command_runs_the_inventory_resource(tenant: Tenant, sim: SimulatorServer) -> None:
    store = _connect(tenant, sim, "NA", ["US", "CA"])
    _products(store, _skus(sim, store))
    out = StringIO()
    call_command("sync_store", str(store.pk), "--resource", "inventory", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert (summary["resource"], summary["status"]) == ("inventory", "succeeded")
    assert summary["created"] > 0 and summary["skipped"] == 0
    assert _stored(store) == _expected(_truth(sim, store), _skus(sim, store))


def test_two_seller_accounts_of_one_region_add_up_in_its_one_fba_warehouse(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given two Amazon accounts in North America whose first SKUs are the same master product
    first = _connect(tenant, sim, "NA", ["US"])
    second = _connect(tenant, sim, "NA", ["US", "CA"], name="Amazon NA 2")
    with tenant_scope(tenant):
        shared = Product.objects.create(tenant=tenant, sku="SHARED", name="Shared")
        for store in (first, second):
            SkuMapping.objects.create(tenant=tenant, store=store, channel_sku=_skus(sim, store)[0], product=shared)

    # when both sync, and the first again
    _sync(first)
    _sync(second)
    _sync(first)

    # then the product holds the units of both accounts (each account's share is its own contribution)
    one, two = _truth(sim, first)[_skus(sim, first)[0]], _truth(sim, second)[_skus(sim, second)[0]]
    on_hand, reserved, _inbound, _bad = _stored(first)["SHARED"]
    assert (on_hand, reserved) == (one[0] + two[0], one[1] + two[1])
    with tenant_scope(tenant):
        assert Warehouse.objects.filter(kind=WarehouseKind.FBA).count() == 1
        assert services.levels_match_ledger(tenant_id=tenant.pk) == []


def test_a_japanese_store_reads_its_fba_stock_with_amazons_marketplace_id(tenant: Tenant, sim: SimulatorServer) -> None:
    # given a Japanese store (Japan's id was wrong in the old hand-written table: every JP call was refused)
    store = _connect(tenant, sim, "FE", ["JP"])
    _busy_week(sim, store)
    skus = _skus(sim, store)
    _products(store, skus)
    sim.clear_requests()

    # when the inventory syncs
    run = _sync(store)

    # then Amazon was asked with Japan's published id in both granularityId and marketplaceIds, and the FBA
    # warehouse of the Far East holds Japan's figures
    calls = [request.query for request in sim.requests if request.path == INVENTORY_PATH]
    assert calls and all(query["granularityId"] == query["marketplaceIds"] == ["A1VC38T7YXB528"] for query in calls)
    assert run.status == "succeeded" and run.caught_up
    jp = _amazon(sim, store, "JP")
    assert _stored(store) == {sku: jp[sku] for sku in skus if any(jp[sku])}


def test_the_new_pan_european_marketplaces_share_the_eu_pool(tenant: Tenant, sim: SimulatorServer) -> None:
    # given a store selling on NL, SE and PL (Pan-European FBA since 2021: one stock)
    store = _connect(tenant, sim, "EU", ["NL", "SE", "PL"])
    _busy_week(sim, store)
    skus = _skus(sim, store)
    _products(store, skus)
    nl, se = _amazon(sim, store, "NL"), _amazon(sim, store, "SE")
    assert nl == se  # one pool: Amazon answers each marketplace with the pool's figures
    sim.clear_requests()

    # when
    _sync(store)

    # then the pool is read once (through NL) and counted once
    read = {request.query["marketplaceIds"][0] for request in sim.requests if request.path == INVENTORY_PATH}
    assert read == {AMAZON_MARKETPLACES["NL"][0]}
    assert _stored(store) == {sku: nl[sku] for sku in skus if any(nl[sku])}
    with tenant_scope(tenant):
        assert {ref.split(":")[2] for ref in StockMovement.objects.values_list("reference", flat=True)} == {"EU"}

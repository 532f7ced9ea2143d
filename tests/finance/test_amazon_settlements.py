"""Amazon settlements end to end: demo-like stores (US, an EU store selling in DE and FR, JP) connected to the
simulator over real HTTP through python-amazon-sp-api; orders synced, then `sync_store --resource settlements`.
Every settlement the simulator wrote for the store's marketplaces is imported, balanced, its orders matched,
its category totals equal to the simulator's truth to the cent; the unknown type is `unclassified` until a
company rule maps it; a second run imports nothing; another tenant sees none of it. Also: settlements with
unreadable rows are quarantined whole, and documents are decoded by their bytes, not by headers."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command

from acorn.money import quantize_amount
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.adapters.amazon.reports import decode_report_document
from channels.adapters.base import ChannelError
from channels.models import AMAZON_MARKETPLACES, DataPermission, QuarantinedRecord, Store, SyncCursor, SyncRun
from channels.sync import sync_run_execute
from finance.settlements.models import Category, Settlement, SettlementLine, SettlementSource
from finance.settlements.selectors import settlement_category_totals, settlement_list, settlement_unmatched_order_ids
from finance.settlements.services import category_rule_set
from simulator.amazon import reports as simulated_reports
from simulator.demo import DEMO_SELLERS, install_demo_sellers
from simulator.ledger import UNKNOWN_DESCRIPTION, settlement_truth
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World

pytestmark = pytest.mark.django_db

STORES = {"US": ("NA", ["US"]), "EU": ("EU", ["DE", "FR"]), "JP": ("FE", ["JP"])}
SELLERS = {"US": ("NA", ["US"]), "EU": ("EU", ["UK", "DE", "FR"]), "JP": ("FE", ["JP"])}


@pytest.fixture(autouse=True)
def _fast_sync(settings: Any) -> None:
    settings.ACORN_RATE_LIMIT_SCALE = 100_000  # the simulator's pace, not Amazon's
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 300
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    # The simulated clock starts now (not at collection time): ACORN's windows end at its own "now".
    world = World(seed=21, clock=ManualClock(datetime.now(UTC).replace(microsecond=0)))
    with SimulatorServer(seed=21, world=world) as server:
        yield server


def _connect(tenant: Tenant, sim: SimulatorServer, key: str, seller_id: str | None = None) -> Store:
    region, marketplaces = STORES[key]
    if seller_id is None:
        seller_region, seller_marketplaces = SELLERS[key]
        seller_id = sim.world.add_seller(seller_region, seller_marketplaces, orders_per_day=6).selling_partner_id
    with tenant_scope(tenant):
        store = services.store_create(
            tenant=tenant,
            actor=None,
            membership=None,
            platform="amazon",
            name=f"Amazon {key}",
            region=region,
            marketplaces=marketplaces,
            permissions=["orders", "finance"],
            endpoint=sim.url,
        )
        return services.store_authorize(
            store=store,
            actor=None,
            seller_id=seller_id,
            secrets={"refresh_token": sim.world.issue_refresh_token(seller_id)},
            queue_sync=False,
        )


def _sync(store: Store, resource: str) -> Any:
    with tenant_scope(store.tenant):
        for _ in range(20):
            run = sync_run_execute(store=store, resource=resource, trigger="command", sleep=lambda seconds: None)
            if run.status == "succeeded":
                return run
        raise AssertionError(f"{resource} did not finish: {run.status} {run.message}")


def _truth(sim: SimulatorServer, store: Store) -> list[dict[str, Any]]:
    """The simulator's settlements of the store's marketplaces that Amazon still lists (about 90 days)."""
    ids = {AMAZON_MARKETPLACES[code][0] for code in store.marketplaces}
    orders = sim.world.seller_orders(store.seller_id)
    return [
        truth
        for truth in settlement_truth(orders, store.seller_id, sim.world.now())
        if truth["marketplace_id"] in ids and truth["report_created"] >= sim.world.now() - timedelta(days=89)
    ]


def test_every_simulator_settlement_is_imported_true_to_the_cent(
    tenant: Tenant, other_tenant: Tenant, sim: SimulatorServer
) -> None:
    # given demo-like stores with their orders synced
    stores = {key: _connect(tenant, sim, key) for key in STORES}
    for store in stores.values():
        _sync(store, "orders")
    # when the settlements are synced, as an operator would
    for store in stores.values():
        out = io.StringIO()
        call_command("sync_store", str(store.pk), "--resource", "settlements", "--json", stdout=out)
        summary = json.loads(out.getvalue().strip().splitlines()[-1])
        assert summary["status"] == "succeeded", summary
    # then every settlement is there, balanced, matched and true to the simulator's own totals
    seen_negative = seen_month_crossing = seen_unknown = False
    with tenant_scope(tenant):
        for key, store in stores.items():
            truths = _truth(sim, store)
            assert truths, key
            imported = {s.external_id: s for s in Settlement.objects.filter(store=store)}
            assert set(imported) == {truth["settlement_id"] for truth in truths}, key
            for truth in truths:
                settlement = imported[truth["settlement_id"]]
                currency = truth["currency"]
                assert settlement.source == SettlementSource.API
                assert settlement.currency == currency
                assert settlement.total_amount == quantize_amount(truth["total"], currency)
                assert settlement.balanced, (key, settlement.external_id)
                assert settlement.line_count == truth["rows"]
                assert settlement_unmatched_order_ids(settlement=settlement) == []
                assert settlement.matched_order_count == len(truth["order_ids"])
                expected = {
                    category: quantize_amount(amount, currency) for category, amount in truth["categories"].items()
                }
                got = {
                    category: quantize_amount(amount, currency)
                    for category, amount in settlement_category_totals(settlement=settlement).items()
                }
                assert got == expected, (key, settlement.external_id)
                seen_negative |= settlement.total_amount < 0
                months = {
                    (line.posted_at.year, line.posted_at.month)
                    for line in SettlementLine.objects.filter(settlement=settlement).exclude(posted_at=None)
                }
                seen_month_crossing |= len(months) > 1
                seen_unknown |= Category.UNCLASSIFIED in got
        skipped_marketplace = SyncRun.objects.filter(store=stores["EU"], resource="settlements").get().skipped
    assert seen_negative and seen_month_crossing and seen_unknown
    assert skipped_marketplace > 0  # the EU seller's UK settlements are listed too, and skipped

    # the unknown type is unclassified until the company maps it; mapping re-categorises every such line
    with tenant_scope(tenant):
        unknown = SettlementLine.objects.filter(amount_description=UNKNOWN_DESCRIPTION)
        assert set(unknown.values_list("category", flat=True)) == {Category.UNCLASSIFIED}
        _, changed = category_rule_set(
            tenant=tenant,
            platform="amazon",
            transaction_type="other-transaction",
            amount_type="other-transaction",
            amount_description=UNKNOWN_DESCRIPTION,
            category=Category.SELLER_FEES,
            actor=None,
        )
        assert changed == unknown.count()
        assert set(unknown.all().values_list("category", flat=True)) == {Category.SELLER_FEES}
        assert not Settlement.objects.filter(tenant=tenant, unclassified_count__gt=0).exists()
        count_before = (Settlement.objects.count(), SettlementLine.objects.count())

    # running again creates nothing new (and downloads nothing again)
    for store in stores.values():
        run = _sync_again(store)
        assert run.created == 0
    with tenant_scope(tenant):
        assert (Settlement.objects.count(), SettlementLine.objects.count()) == count_before

    # another tenant sees none of it
    with tenant_scope(other_tenant):
        assert not settlement_list(tenant=other_tenant).exists()
        assert not Settlement.objects.exists()


def _sync_again(store: Store) -> Any:
    """A second run over the whole listing (as if the cursor were lost): still nothing new."""
    with tenant_scope(store.tenant):
        SyncCursor.objects.filter(store=store, resource="settlements").update(high_water=None)
    return _sync(store, "settlements")


def test_a_settlement_with_unreadable_rows_is_quarantined_whole(
    tenant: Tenant, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a US store whose newest settlement file has one row Amazon wrote wrong
    store = _connect(tenant, sim, "US")
    truths = _truth(sim, store)
    broken_id = truths[-1]["settlement_id"]
    original = simulated_reports.settlement_text

    def corrupted(settlement: Any) -> str:
        text = original(settlement)
        if settlement.settlement_id != broken_id:
            return text
        lines = text.split("\n")
        cells = lines[3].split("\t")
        cells[14] = "12,,x"  # the amount column
        lines[3] = "\t".join(cells)
        return "\n".join(lines)

    monkeypatch.setattr(simulated_reports, "settlement_text", corrupted)
    # when the settlements are synced
    run = _sync(store, "settlements")
    # then the broken one is quarantined, naming its line and column, and nothing of it is kept
    with tenant_scope(tenant):
        assert run.quarantined == 1
        assert not Settlement.objects.filter(store=store, external_id=broken_id).exists()
        assert Settlement.objects.filter(store=store).count() == len(truths) - 1
        record = QuarantinedRecord.objects.get(store=store, resource="settlements")
        assert broken_id in record.reason and "line 4" in record.reason and "amount" in record.reason


def test_report_documents_are_decoded_by_their_bytes_not_their_headers() -> None:
    text = "settlement-id\tcurrency\n1\tEUR\nÄrger\t€\n"
    # gzip recognised by its magic bytes, whatever the metadata said
    assert decode_report_document(gzip.compress(text.encode("utf-8"))) == text
    # plain text is not un-gzipped; a UTF-8 byte-order mark is dropped
    assert decode_report_document(("\ufeff" + text).encode("utf-8")) == text
    # not UTF-8: the declared charset, else Windows-1252 (not the library's Latin-1 default)
    assert decode_report_document("€ 1,00".encode("cp1252")) == "€ 1,00"
    assert decode_report_document("1980円 返品".encode("shift_jis"), declared_charset="shift_jis") == "1980円 返品"
    with pytest.raises(ChannelError, match="gzip"):
        decode_report_document(b"\x1f\x8b\x08\x00broken")


def test_settlements_read_before_their_orders_are_matched_when_the_orders_arrive(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given a new store whose first settlements sync ran before its orders sync (the demo's first minute)
    store = _connect(tenant, sim, "JP")
    _sync(store, "settlements")
    with tenant_scope(tenant):
        settlements = list(Settlement.objects.filter(store=store))
        assert settlements and all(settlement.matched_order_count == 0 for settlement in settlements)
        assert any(settlement_unmatched_order_ids(settlement=settlement) for settlement in settlements)
    # when the orders arrive
    _sync(store, "orders")
    # then every order line is linked and the settlements are reconciled again
    with tenant_scope(tenant):
        for settlement in Settlement.objects.filter(store=store):
            assert settlement_unmatched_order_ids(settlement=settlement) == []
            assert settlement.matched_order_count == settlement.order_count > 0
        assert not SettlementLine.objects.filter(settlement__store=store, order=None).exclude(order_external_id="")


def test_the_demo_sellers_settlements_import(tenant: Tenant) -> None:
    # given the demo's simulated sellers (`manage.py demo` / `make run`) and their stores as the demo makes them
    world = World(seed=1, clock=ManualClock(datetime.now(UTC).replace(microsecond=0)))
    install_demo_sellers(world)
    with SimulatorServer(seed=1, world=world) as server:
        for demo in DEMO_SELLERS:
            with tenant_scope(tenant):
                store = services.store_create(
                    tenant=tenant,
                    actor=None,
                    membership=None,
                    platform="amazon",
                    name=demo.store_name,
                    region=demo.region,
                    marketplaces=list(demo.marketplaces),
                    permissions=list(DataPermission.values),
                    endpoint=server.url,
                )
                store = services.store_authorize(
                    store=store,
                    actor=None,
                    seller_id=demo.selling_partner_id,
                    secrets={"refresh_token": demo.refresh_token},
                    queue_sync=False,
                )
            # when the first scheduled syncs run, settlements before orders (the order they happen to run in)
            _sync(store, "settlements")
            _sync(store, "orders")
            # then every settlement Amazon lists is imported, balanced, matched and true to the cent
            truths = _truth(server, store)
            with tenant_scope(tenant):
                imported = {s.external_id: s for s in Settlement.objects.filter(store=store)}
                assert set(imported) == {truth["settlement_id"] for truth in truths} != set()
                for truth in truths:
                    settlement = imported[truth["settlement_id"]]
                    assert settlement.balanced and settlement_unmatched_order_ids(settlement=settlement) == []
                    got = settlement_category_totals(settlement=settlement)
                    assert {c: quantize_amount(a, settlement.currency) for c, a in got.items()} == {
                        c: quantize_amount(a, settlement.currency) for c, a in truth["categories"].items()
                    }

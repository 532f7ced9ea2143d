"""Amazon after-sales through python-amazon-sp-api against the simulator: Finances v0 refund events, the
FBA and MFN returns reports, settlement documents, shipment confirmation and order adjustment feeds (with
their processing reports), and the merchant-fulfilled quantity through Listings Items."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.amazon import (
    FBA_RETURNS_REPORT_TYPE,
    MFN_RETURNS_REPORT_TYPE,
    SETTLEMENT_REPORT_TYPE,
    AmazonAdapter,
)
from channels.adapters.base import (
    ChannelRetryableError,
    ExternalRefund,
    FeedResult,
    RefundRequest,
    SettlementListing,
    ShipmentConfirmation,
)
from channels.models import AMAZON_MARKETPLACES, Store
from simulator.model import MERCHANT
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.channels.test_amazon_e2e import NOW, _connect

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_tokens() -> None:
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    world = World(seed=13, clock=ManualClock(NOW))
    with SimulatorServer(seed=13, world=world) as server:
        yield server


def _adapter(store: Store) -> AmazonAdapter:
    with tenant_scope(store.tenant):
        return AmazonAdapter(store=store, secrets=store.credential.secrets)


def _store(tenant: Tenant, sim: SimulatorServer, **seller_options: Any) -> Store:
    seller = sim.world.add_seller("NA", ["US", "CA"], **seller_options)
    return _connect(tenant, sim, seller.selling_partner_id)


def test_v0_refund_events_match_the_worlds_refunds(tenant: Tenant, sim: SimulatorServer) -> None:
    store = _store(tenant, sim)
    adapter = _adapter(store)
    refunds: list[ExternalRefund] = []
    token: str | None = None
    while True:
        try:
            page = adapter.fetch_refund_events(
                posted_after=NOW - timedelta(days=90), posted_before=None, page_token=token
            )
        except ChannelRetryableError:
            continue
        refunds.extend(page.items)
        assert not page.bad_records
        token = page.next_token
        if not token:
            break
    truth = sim.world.refunds_for(store.seller_id)
    assert truth and len(refunds) == len(truth)
    by_order: defaultdict[str, Decimal] = defaultdict(Decimal)
    for refund in refunds:
        by_order[refund.order_id] += refund.total_amount
    expected: defaultdict[str, Decimal] = defaultdict(Decimal)
    for record in truth:
        expected[record["order_id"]] += Decimal(record["total"])
    assert by_order == expected  # item-level components add up to what each refund cost the seller
    assert all(refund.component_totals()["principal"] < 0 for refund in refunds)


def _wait_for_report(adapter: AmazonAdapter, sim: SimulatorServer, report_id: str) -> Any:
    for _ in range(20):
        report = adapter.get_report(report_id=report_id)
        if report.status in ("DONE", "CANCELLED", "FATAL"):
            return report
        sim.world.advance(timedelta(minutes=5))
    raise AssertionError("the report never finished")


@pytest.mark.parametrize(
    ("report_type", "channel"), [(FBA_RETURNS_REPORT_TYPE, "AFN"), (MFN_RETURNS_REPORT_TYPE, "MFN")]
)
def test_returns_reports_parse_into_the_worlds_returns(
    tenant: Tenant, sim: SimulatorServer, report_type: str, channel: str
) -> None:
    store = _store(tenant, sim)
    adapter = _adapter(store)
    start = NOW - timedelta(days=55)
    report_id = adapter.request_report(report_type=report_type, data_start=start, data_end=NOW)
    report = _wait_for_report(adapter, sim, report_id)
    assert report.status == "DONE" and report.document_id
    returns, bad = adapter.read_returns(report_type=report_type, document_id=report.document_id, marketplace="US")
    assert not bad
    window = [
        record
        for record in sim.world.returns_for(store.seller_id, at=NOW)
        if record["fulfillment_channel"] == channel
        and start <= datetime.fromisoformat(record["requested_at"].replace("Z", "+00:00")) <= NOW
    ]
    assert returns and Counter((r.order_id, r.sku, r.quantity) for r in returns) == Counter(
        (record["order_id"], record["sku"], record["quantity"]) for record in window
    )
    if channel == "AFN":
        assert all(r.tracking_number == "" and r.license_plate_number for r in returns)
    else:
        assert all(r.rma for r in returns)
    assert any(r.reason_code for r in returns)


def test_settlements_read_from_the_simulator_balance(tenant: Tenant, sim: SimulatorServer) -> None:
    store = _store(tenant, sim)
    adapter = _adapter(store)
    reports = adapter.list_reports(report_type=SETTLEMENT_REPORT_TYPE).items
    assert reports
    for report in reports[:4]:
        settlement = adapter.read_settlement(document_id=report.document_id)
        assert settlement.balanced, (settlement.settlement_id, settlement.lines_total, settlement.total_amount)
        assert {line.transaction_type for line in settlement.lines} >= {"Order"}


def test_settlements_are_listed_and_read_through_the_finance_capability(tenant: Tenant, sim: SimulatorServer) -> None:
    # given: a seller whose settlement periods have closed in the simulator
    store = _store(tenant, sim)
    adapter = _adapter(store)
    # when: Finance asks the channel for its settlements, without knowing it is Amazon
    settlements = adapter.require(SettlementListing)
    references = settlements.list_settlements(created_since=None, page_token=None).items
    # then: the settlement reports Amazon lists, each read into a balanced document
    listed = adapter.list_reports(report_type=SETTLEMENT_REPORT_TYPE).items
    assert references and [r.report_id for r in references] == [r.report_id for r in listed if r.document_id]
    for reference in references[:3]:
        document = settlements.read_settlement_document(reference)
        assert reference.document_id and document.balanced and document.lines


def _feed_done(adapter: AmazonAdapter, sim: SimulatorServer, feed_id: str) -> FeedResult:
    for _ in range(20):
        result = adapter.get_feed_result(feed_id=feed_id)
        if result.finished:
            return result
        sim.world.advance(timedelta(minutes=3))
    raise AssertionError("the feed never finished")


def test_shipment_confirmation_feed_ships_the_orders_and_reports_failures(tenant: Tenant, sim: SimulatorServer) -> None:
    store = _store(tenant, sim, mfn_auto_ship=False)
    now = sim.world.now()
    waiting = [
        order
        for order in sim.world.seller_orders(store.seller_id)
        if order.fulfilled_by == MERCHANT and order.status_at(now) == "UNSHIPPED"
    ][:3]
    assert len(waiting) == 3
    shipments = [
        ShipmentConfirmation(
            order_id=order.order_id,
            shipped_at=now - timedelta(hours=1),
            carrier="UPS",
            tracking_number=f"1Z{index:08d}",
            items=tuple((line.order_item_id, line.quantity) for line in order.lines),
        )
        for index, order in enumerate(waiting)
    ]
    shipments.append(
        ShipmentConfirmation(
            order_id="111-0000000-0000000",
            shipped_at=now,
            carrier="Yun Logistics 云途",
            tracking_number="YT1",
            items=(("1", 1),),
        )
    )
    adapter = _adapter(store)
    result = _feed_done(adapter, sim, adapter.confirm_shipments(shipments))
    assert (result.status, result.processed, result.successful, result.with_error) == ("DONE", 4, 3, 1)
    assert [message.message_id for message in result.messages if message.result == "Error"] == [4]
    confirmed = {record["order_id"] for record in sim.world.shipment_confirmations(store.seller_id)}
    assert confirmed == {order.order_id for order in waiting}
    later = sim.world.now()
    assert all(order.status_at(later) == "SHIPPED" for order in waiting)


def test_order_adjustment_feed_refunds_once_per_adjustment_id(tenant: Tenant, sim: SimulatorServer) -> None:
    store = _store(tenant, sim)
    now = sim.world.now()
    order = next(
        order
        for order in sim.world.seller_orders(store.seller_id)
        if order.fulfilled_by == MERCHANT and order.status_at(now) == "SHIPPED"
    )
    line = order.lines[0]
    refund = RefundRequest(
        order_id=order.order_id,
        adjustment_id="acorn-refund-7",
        currency=order.currency,
        reason="CustomerReturn",
        items=((line.order_item_id, 1, (("principal", Decimal("1.00")),)),),
    )
    adapter = _adapter(store)
    first = _feed_done(adapter, sim, adapter.adjust_orders([refund]))
    assert (first.status, first.successful) == ("DONE", 1)
    again = _feed_done(adapter, sim, adapter.adjust_orders([refund]))  # a retry after a lost answer
    assert again.status == "DONE"
    made = [record for record in sim.world.adjustments(store.seller_id) if record["order_id"] == order.order_id]
    assert len(made) == 1  # the MerchantAdjustmentItemID made the second submission a no-op


def test_listing_quantity_is_set_and_fba_only_listings_are_refused(tenant: Tenant, sim: SimulatorServer) -> None:
    store = _store(tenant, sim)
    seller = sim.world.seller(store.seller_id)
    listings = seller.listings["US"]
    mfn = next(listing for listing in listings if not listing.fba_only)
    fba_only = next(listing for listing in listings if listing.fba_only)
    adapter = _adapter(store)
    update = adapter.set_mfn_quantity(sku=mfn.sku, marketplace="US", quantity=17)
    assert update.accepted
    assert sim.world.listing_quantity(store.seller_id, AMAZON_MARKETPLACES["US"][0], mfn.sku) == 17
    refused = adapter.set_mfn_quantity(sku=fba_only.sku, marketplace="US", quantity=5)
    assert not refused.accepted and refused.issues

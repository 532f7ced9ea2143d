"""Refunds and returns ingest: idempotent, one refund for Amazon's two reports of it, refunds and returns that
wait for their order, refunds that add up past the order, FBA returns without tracking, return ↔ refund links."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.amazon import FBA_RETURNS_REPORT_TYPE, MFN_RETURNS_REPORT_TYPE, AmazonAdapter
from channels.adapters.amazon.parse import RecordError, parse_refund_transaction
from channels.adapters.amazon.returns import ReportPending
from channels.adapters.base import (
    BadRecord,
    ChannelError,
    ExternalRefund,
    ExternalReturn,
    Page,
    RefundLine,
    ReportInfo,
)
from channels.adapters.woocommerce.parse import parse_refund as woo_parse_refund
from channels.models import Store
from inventory.catalogue import product_save
from orders.models import OrderLine
from orders.services import order_upsert_page
from refunds.ingest import EXCEEDS_ORDER, NO_TRACKING, refund_upsert_page, return_upsert_page
from refunds.models import Refund, RefundSource, RestockState, Return, ReturnStatus
from refunds.models import RefundLine as StoredLine
from refunds.sync import fetch_returns_page
from tests.channels.test_sync_engine import make_order
from tests.factories import StoreFactory
from tests.vendor import VENDOR_FIXTURES

pytestmark = pytest.mark.django_db
POSTED = datetime(2026, 11, 10, 8, 30, 15, tzinfo=UTC)
ORDER = "111-0000001"  # make_order(1): one line L1, SKU-1, 10.00 USD


def _v0(order_id: str = ORDER, *, principal: str = "-6.00", posted: datetime = POSTED) -> ExternalRefund:
    """A Finances v0 refund event: item-level, with the adjustment id and the fees given back."""
    return ExternalRefund(
        external_id=f"{order_id}|{posted:%Y%m%dT%H%M%S}|A1",
        order_id=order_id,
        posted_at=posted,
        currency="USD",
        lines=(
            RefundLine(
                order_item_id="L1",
                sku="SKU-1",
                quantity=1,
                components=(
                    ("principal", Decimal(principal)),
                    ("tax", Decimal("-0.48")),
                    ("tax_withheld", Decimal("0.48")),
                    ("commission", Decimal("0.90")),
                    ("refund_admin_fee", Decimal("-0.18")),
                ),
                adjustment_id="A1",
            ),
        ),
        marketplace="US",
        source="finances_v0",
    )


def _transaction(order_id: str = ORDER, *, posted: datetime = POSTED) -> ExternalRefund:
    """The same refund as listTransactions shows it: its REFUND_ID, the SKU and the same net total."""
    return ExternalRefund(
        external_id="R-77",
        order_id=order_id,
        posted_at=posted,
        currency="USD",
        lines=(
            RefundLine(
                order_item_id="",
                sku="SKU-1",
                quantity=1,
                components=(
                    ("principal", Decimal("-6.00")),
                    ("tax", Decimal("-0.48")),
                    ("tax_withheld", Decimal("0.48")),
                    ("commission", Decimal("0.90")),
                    ("refund_admin_fee", Decimal("-0.18")),
                ),
            ),
        ),
        marketplace="US",
        source="transactions",
    )


def _fba_return(order_id: str = ORDER, *, tracking: str = "", comment: str = "") -> ExternalReturn:
    return ExternalReturn(
        external_id=f"R-fba-{order_id}",
        order_id=order_id,
        sku="SKU-1",
        quantity=1,
        returned_at=POSTED - timedelta(days=1),
        fulfillment_channel="fba",
        reason_code="DEFECTIVE",
        customer_comment=comment,
        status="Unit returned to inventory",
        disposition="CUSTOMER_DAMAGED",
        fulfillment_center="PHX7",
        license_plate_number="LPN1",
        tracking_number=tracking,
    )


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant)


def test_a_refund_synced_twice_is_stored_once(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        # given / when: the same page twice
        first = refund_upsert_page(store=store, refunds=[_v0()])
        second = refund_upsert_page(store=store, refunds=[_v0()])
        # then: one refund, nothing changed the second time
        assert (first.created, second.created, second.updated, second.skipped) == (1, 0, 0, 1)
        refund = Refund.objects.get()
        assert (refund.origin, refund.status, refund.currency) == ("channel", "succeeded", "USD")
        assert refund.principal_amount == Decimal("-6.00") and refund.commission_amount == Decimal("0.90")
        assert refund.net_amount == Decimal("-5.28")
        assert StoredLine.objects.get().adjustment_id == "A1"


@pytest.mark.parametrize("order_of_arrival", ["v0 first", "transactions first"])
def test_amazons_two_reports_of_one_refund_are_one_refund_with_v0_detail(
    tenant: Tenant, store: Store, order_of_arrival: str
) -> None:
    with tenant_scope(tenant):
        # given: Finances v0 and listTransactions both report the refund (in either order)
        pages = [[_v0()], [_transaction()]]
        if order_of_arrival == "transactions first":
            pages.reverse()
        # when
        for page in pages:
            refund_upsert_page(store=store, refunds=page)
        # then: one refund, both sources listed, the v0 line (with its order item and adjustment id) kept
        refund = Refund.objects.get()
        assert refund.sources == sorted([RefundSource.AMAZON_FINANCES, RefundSource.AMAZON_TRANSACTIONS])
        assert refund.external_id == "R-77"  # Amazon's REFUND_ID once known
        line = StoredLine.objects.get()
        assert (line.order_item_id, line.adjustment_id, line.sku) == ("L1", "A1", "SKU-1")
        assert refund.net_amount == Decimal("-5.28")
        # and running both again changes nothing
        counts = [refund_upsert_page(store=store, refunds=page) for page in pages]
        assert [(c.created, c.updated) for c in counts] == [(0, 0), (0, 0)]


def test_two_different_refunds_of_one_order_stay_two(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        refund_upsert_page(store=store, refunds=[_v0(), _v0(principal="-2.00", posted=POSTED + timedelta(days=2))])
        assert Refund.objects.filter(order_external_id=ORDER).count() == 2


def test_a_refund_waits_for_its_order_and_links_when_the_order_arrives(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        # given: the refund and the FBA return arrive before the order was imported
        refund_upsert_page(store=store, refunds=[_v0()])
        return_upsert_page(store=store, returns=[_fba_return()])
        refund, record = Refund.objects.get(), Return.objects.get()
        assert refund.order is None and record.order is None and refund.order_external_id == ORDER
        # when: the order is synced
        order_upsert_page(store=store, orders=[make_order(1)])
        # then: both are linked to it, the refund line to its order line
        refund.refresh_from_db()
        record.refresh_from_db()
        assert refund.order is not None and refund.order.external_id == ORDER
        assert record.order_id == refund.order_id and record.marketplace == "US"
        assert StoredLine.objects.get().order_line == OrderLine.objects.get(order=refund.order)


def test_partial_refunds_add_up_and_past_the_order_total_need_review(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        order_upsert_page(store=store, orders=[make_order(1)])  # 10.00 USD
        # given: a first partial refund of 6.00 (+ tax given back by Amazon): within the order
        refund_upsert_page(store=store, refunds=[_v0(principal="-6.00")])
        assert Refund.objects.get().review_reason == ""
        # when: a second refund brings the total past 10.00
        refund_upsert_page(store=store, refunds=[_v0(principal="-5.00", posted=POSTED + timedelta(days=1))])
        # then: both are kept (a fact from the channel) and both need review
        assert Refund.objects.count() == 2
        assert set(Refund.objects.values_list("review_reason", flat=True)) == {EXCEEDS_ORDER}
        assert sum(r.amount for r in Refund.objects.all()) > Decimal("10.00")


def test_an_order_arriving_after_refunds_that_exceed_it_flags_them(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        refund_upsert_page(store=store, refunds=[_v0(principal="-12.00")])
        assert Refund.objects.get().review_reason == ""  # no order to compare with yet
        order_upsert_page(store=store, orders=[make_order(1)])
        assert Refund.objects.get().review_reason == EXCEEDS_ORDER


def test_an_fba_return_without_tracking_needs_review_and_amazon_restocks_it(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        return_upsert_page(
            store=store, returns=[_fba_return(), replace(_fba_return("111-0000002"), tracking_number="1Z9")]
        )
        untracked = Return.objects.get(order_external_id=ORDER)
        tracked = Return.objects.get(order_external_id="111-0000002")
        assert (untracked.review_reason, untracked.status) == (NO_TRACKING, ReturnStatus.RECEIVED)
        assert tracked.review_reason == ""
        assert {untracked.restock_state, tracked.restock_state} == {RestockState.BY_CHANNEL}
        assert untracked.received_at == untracked.returned_at  # processed by the fulfilment centre


def test_returns_synced_twice_are_stored_once_and_a_change_updates(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        mfn = ExternalReturn(
            external_id="RMA1",
            order_id=ORDER,
            sku="SKU-1",
            quantity=1,
            returned_at=POSTED,
            fulfillment_channel="merchant",
            reason_code="CR-DEFECTIVE",
            status="Approved",
            rma="RMA1",
            carrier="UPS",
            tracking_number="1Z1",
        )
        first = return_upsert_page(store=store, returns=[mfn])
        again = return_upsert_page(store=store, returns=[mfn])
        closed = return_upsert_page(store=store, returns=[replace(mfn, status="Closed")])
        assert (first.created, again.skipped, closed.updated) == (1, 1, 1)
        record = Return.objects.get()
        assert (record.status, record.restock_state, record.external_id) == ("closed", "pending", "RMA1|SKU-1")


@pytest.mark.parametrize("return_first", [True, False])
def test_a_return_and_its_refund_link_from_either_side_and_the_refund_takes_the_buyers_words(
    tenant: Tenant, store: Store, return_first: bool
) -> None:
    with tenant_scope(tenant):
        comment = "The zipper broke after one day"
        steps = [
            lambda: return_upsert_page(store=store, returns=[_fba_return(comment=comment)]),
            lambda: refund_upsert_page(store=store, refunds=[_v0()]),
        ]
        for step in steps if return_first else reversed(steps):
            step()
        refund, record = Refund.objects.get(), Return.objects.get()
        assert record.refund == refund
        assert (refund.customer_comment, refund.reason_code) == (comment, "DEFECTIVE")


def test_a_woocommerce_refunds_own_reason_is_kept(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="woocommerce", marketplaces=[])
        refund = ExternalRefund(
            external_id="501",
            order_id="77",
            posted_at=POSTED,
            currency="EUR",
            lines=(RefundLine(order_item_id="9", sku="MUG", quantity=1, components=(("principal", Decimal("-8")),)),),
            reason="Tasse kam zerbrochen an",
            note="Tasse kam zerbrochen an",
            source="woocommerce",
        )
        refund_upsert_page(store=store, refunds=[refund])
        stored = Refund.objects.get()
        assert (stored.dedupe_key, stored.customer_comment, stored.amount) == (
            "woocommerce|501",
            "Tasse kam zerbrochen an",
            Decimal("8.00"),
        )


def test_refunds_are_the_stores_tenants_only(tenant: Tenant, other_tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        refund_upsert_page(store=store, refunds=[_v0()])
    with tenant_scope(other_tenant):
        assert not Refund.objects.exists()
        other = StoreFactory(tenant=other_tenant)
        refund_upsert_page(store=other, refunds=[_v0()])  # the same Amazon refund id in another seller's store
        assert Refund.objects.count() == 1
    with tenant_scope(tenant):
        assert Refund.objects.get().store == store


# --- parsing what the channels send -------------------------------------------------------------------


def test_woocommerce_refunds_parse_from_the_documented_payload() -> None:
    # given: WooCommerce's documented "list all refunds" answer (an amount-only refund and an item refund)
    path = VENDOR_FIXTURES / "woocommerce/wp-api-v3/order-refunds"
    listed = json.loads((path / "list-all-refunds.response.json").read_text())
    # when
    amount_only, item = (woo_parse_refund(raw, order_id="723", currency="USD") for raw in listed)
    # then: the amount-only refund is "other", the item refund names the order line it gives back
    assert amount_only.component_totals()["other"] == Decimal("-10.00") and amount_only.lines[0].sku == ""
    line = item.lines[0]
    assert (line.order_item_id, line.quantity, dict(line.components)["principal"]) == ("311", 1, Decimal("-9.00"))
    assert item.total_amount == Decimal("-9.00") and item.posted_at == datetime(2017, 3, 21, 19, 55, 37, tzinfo=UTC)


def _money(amount: str, code: str = "USD") -> dict[str, Any]:
    return {"currencyAmount": float(Decimal(amount)), "currencyCode": code}  # the client library decodes numbers


def test_amazon_refund_transactions_parse_into_item_lines_with_the_v0_components() -> None:
    raw = {
        "transactionType": "Refund",
        "transactionId": "tx-1",
        "postedDate": "2026-11-10T08:30:15Z",
        "totalAmount": _money("-5.28"),
        "sellingPartnerMetadata": {"marketplaceId": "ATVPDKIKX0DER"},
        "relatedIdentifiers": [
            {"relatedIdentifierName": "ORDER_ID", "relatedIdentifierValue": ORDER},
            {"relatedIdentifierName": "REFUND_ID", "relatedIdentifierValue": "R-77"},
        ],
        "items": [
            {
                "totalAmount": _money("-5.28"),
                "breakdowns": [
                    {"breakdownType": "Product Charges", "breakdownAmount": _money("-6.00")},
                    {"breakdownType": "Tax", "breakdownAmount": _money("-0.48")},
                    {"breakdownType": "Commission", "breakdownAmount": _money("0.90")},
                    {"breakdownType": "Refund Commission", "breakdownAmount": _money("-0.18")},
                    {"breakdownType": "Marketplace Facilitator Tax", "breakdownAmount": _money("0.48")},
                ],
                "contexts": [{"contextType": "ProductContext", "sku": "SKU-1", "quantityShipped": 1}],
            }
        ],
    }
    refund = parse_refund_transaction(raw)
    assert (refund.external_id, refund.order_id, refund.marketplace, refund.source) == (
        "R-77",
        ORDER,
        "US",
        "transactions",
    )
    assert refund.component_totals() == _v0().component_totals()
    assert (refund.lines[0].sku, refund.lines[0].quantity) == ("SKU-1", 1)
    with pytest.raises(RecordError):
        parse_refund_transaction({**raw, "transactionType": "Shipment"})


# --- the Amazon returns reports job -------------------------------------------------------------------


class _Reports(AmazonAdapter):
    """Amazon's Reports API as a script: the statuses each report goes through, the rows of each document."""

    def __init__(self, store: Store, statuses: dict[str, list[str]]) -> None:
        super().__init__(store=store, secrets={"refresh_token": "Atzr|test"})
        self.statuses = statuses
        self.requested: list[tuple[str, datetime, datetime | None]] = []

    def request_report(self, *, report_type: str, data_start: datetime, data_end: datetime | None = None) -> str:
        self.requested.append((report_type, data_start, data_end))
        return report_type

    def get_report(self, *, report_id: str) -> ReportInfo:
        steps = self.statuses[report_id]
        status = steps.pop(0) if len(steps) > 1 else steps[0]
        return ReportInfo(report_id=report_id, report_type=report_id, status=status, document_id=f"doc-{report_id}")

    def read_returns(
        self, *, report_type: str, document_id: str, marketplace: str = ""
    ) -> tuple[list[ExternalReturn], list[BadRecord]]:
        return [_fba_return()], [BadRecord(reason="quantity: 'x' is not a whole number", raw={"order-id": "1"})]


def _pass(adapter: _Reports, start: datetime) -> tuple[list[Page[Any]], int]:
    """Run the returns job's fetch like the engine: page after page; ReportPending means "call again"."""
    pages: list[Page[Any]] = []
    token: str | None = None
    end: datetime | None = None
    waits = 0
    for _ in range(20):
        try:
            page = fetch_returns_page(adapter, start, end, token)
        except ReportPending as pending:
            assert pending.retry_after == 30
            waits += 1
            continue
        pages.append(page)
        token, end = page.next_token, end or page.window_end
        if token is None:
            return pages, waits
    raise AssertionError("the pass never ended")


def test_the_returns_reports_are_requested_polled_and_read_one_call_per_page(store: Store) -> None:
    # given: Amazon prepares the FBA report in two polls; the MFN one has no rows (CANCELLED); the store last
    # read its returns six days ago
    adapter = _Reports(
        store, {FBA_RETURNS_REPORT_TYPE: ["IN_PROGRESS", "DONE"], MFN_RETURNS_REPORT_TYPE: ["CANCELLED"]}
    )
    start = timezone.now() - timedelta(days=6)
    # when
    pages, waits = _pass(adapter, start)
    # then: both reports asked for once over the window (the MFN one reaching back 30 days), the engine told
    # once to come back later, the FBA rows (and its unreadable row) read, nothing from the cancelled report
    end = pages[0].window_end
    assert end is not None and all(page.window_end == end for page in pages)
    assert [(kind, begin) for kind, begin, _ in adapter.requested] == [
        (FBA_RETURNS_REPORT_TYPE, start),
        (MFN_RETURNS_REPORT_TYPE, end - timedelta(days=30)),
    ]
    assert waits == 1
    assert sum(len(page.items) for page in pages) == 1 and sum(len(page.bad_records) for page in pages) == 1


@pytest.mark.parametrize(
    ("days_ago", "mfn_from"),
    [
        (6, "end - 30 days"),  # a recent window: the MFN report re-reads the last 30 days
        (45, "start"),  # a longer window: both reports from where the last run ended
        (90, "end - 60 days"),  # Amazon serves at most 60 days in one MFN report
    ],
)
def test_the_mfn_returns_report_reaches_back_30_days_and_never_spans_more_than_60(
    store: Store, days_ago: int, mfn_from: str
) -> None:
    # given: a pass whose window starts days_ago
    adapter = _Reports(store, {FBA_RETURNS_REPORT_TYPE: ["DONE"], MFN_RETURNS_REPORT_TYPE: ["DONE"]})
    start = timezone.now() - timedelta(days=days_ago)
    # when
    pages, _waits = _pass(adapter, start)
    # then: the FBA report covers the window, the MFN one its look-back capped at 60 days, both to the same end
    end = pages[0].window_end
    assert end is not None and timezone.now() - end < timedelta(minutes=4)
    expected = {"end - 30 days": end - timedelta(days=30), "start": start, "end - 60 days": end - timedelta(days=60)}
    assert [(kind, begin, until) for kind, begin, until in adapter.requested] == [
        (FBA_RETURNS_REPORT_TYPE, start, end),
        (MFN_RETURNS_REPORT_TYPE, expected[mfn_from], end),
    ]


def test_a_fatal_returns_report_is_requested_again_a_few_times_then_fails(store: Store) -> None:
    adapter = _Reports(store, {FBA_RETURNS_REPORT_TYPE: ["FATAL"], MFN_RETURNS_REPORT_TYPE: ["DONE"]})
    with pytest.raises(ChannelError, match="FATAL"):
        _pass(adapter, timezone.now() - timedelta(days=6))
    assert Counter(kind for kind, _, _ in adapter.requested) == {FBA_RETURNS_REPORT_TYPE: 3, MFN_RETURNS_REPORT_TYPE: 1}


@pytest.mark.parametrize("platform", ["amazon", "shopify"])
def test_a_request_executed_on_the_channel_comes_back_as_that_request_not_a_second_refund(
    tenant: Tenant, platform: str
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform=platform)
        # given: a refund requested in ACORN and executed on the channel (Shopify's id known; Amazon's feed
        # names none)
        request = Refund.objects.create(
            tenant=tenant,
            store=store,
            order_external_id=ORDER,
            external_id="acorn-1",
            dedupe_key="console|acorn-1",
            origin="console",
            status="succeeded",
            currency="USD",
            principal_amount=Decimal("-6.00"),
            amount=Decimal("6.00"),
            refunded_at=POSTED,
            channel_refund_id="R-77" if platform == "shopify" else "",
        )
        channel_copy = _v0() if platform == "amazon" else replace(_transaction(), source="shopify")
        seen = replace(channel_copy, lines=(RefundLine("L1", "SKU-1", 1, (("principal", Decimal("-6.00")),)),))
        # when: the channel's refunds are synced (twice)
        refund_upsert_page(store=store, refunds=[seen])
        refund_upsert_page(store=store, refunds=[seen])
        # then: still one refund, the request, which now lists the channel's copy
        stored = Refund.objects.get()
        assert stored.pk == request.pk and stored.origin == "console" and stored.amount == Decimal("6.00")
        assert stored.sources == [RefundSource.AMAZON_FINANCES if platform == "amazon" else RefundSource.SHOPIFY]


def test_refund_lines_and_returns_find_their_master_product(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        # given: a master product whose SKU is the channel SKU (it maps itself)
        product = product_save(tenant=tenant, sku="SKU-1", name="Zip hoodie")
        # when
        refund_upsert_page(store=store, refunds=[_v0()])
        return_upsert_page(store=store, returns=[_fba_return()])
        # then
        assert StoredLine.objects.get().product == product and Return.objects.get().product == product

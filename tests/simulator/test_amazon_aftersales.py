"""Returns and refunds in the world model: how many, what they carry, how they follow time and the seed."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from simulator import ManualClock, World
from simulator.aftersales import BAD_SKU_THRESHOLD, order_after_sales
from simulator.model import AMAZON, MERCHANT, SHIPPED, UNSHIPPED
from simulator.returns_data import REASONS
from simulator.stock import stock_levels
from tests.simulator.conftest import START

FBA_REASONS = {reason for reason, _ in REASONS}
# Languages buyers of each marketplace write in (Chinese anywhere, English anywhere).
LANGUAGES = {"US": {"en"}, "UK": {"en"}, "DE": {"de"}, "FR": {"fr"}, "IT": {"it"}, "ES": {"es"}, "JP": {"ja"}}


def _world(seed: int = 7) -> World:
    return World(seed=seed, clock=ManualClock(START), orders_per_day=40)


@pytest.fixture(scope="module")
def mature() -> tuple[World, str]:
    """An EU seller with 200 days of history, its after-sales looked at long after the fact."""
    world = _world()
    seller = world.add_seller("EU", ["UK", "DE", "FR", "IT", "ES"], history_days=200)
    return world, seller.selling_partner_id


def _old_shipped(world: World, seller_id: str) -> list:
    cutoff = START - timedelta(days=60)  # old enough for every planned return and refund to have happened
    return [
        order
        for order in world.seller_orders(seller_id)
        if order.created < cutoff and any(event.shipment for event in order.events)
    ]


def test_a_realistic_share_of_shipped_orders_comes_back(mature: tuple[World, str]) -> None:
    world, seller_id = mature
    orders = _old_shipped(world, seller_id)
    touched = [order for order in orders if any(order_after_sales(order))]
    # 6-10 % of shipped orders see a return or a refund
    assert 0.06 <= len(touched) / len(orders) <= 0.10
    kinds = Counter(plan.kind for order in touched for plan in order.plans)
    assert set(kinds) == {"RETURN_AND_REFUND", "RETURN_ONLY", "REFUND_ONLY"}


def test_bad_skus_pass_a_refund_rate_threshold_the_others_stay_under(mature: tuple[World, str]) -> None:
    world, seller_id = mature
    seller = world.seller(seller_id)
    bad = {listing.sku for listing in seller.listings["UK"] if listing.return_rate > BAD_SKU_THRESHOLD}
    assert 1 <= len(bad) <= 2
    orders = _old_shipped(world, seller_id)
    lines: Counter[str] = Counter()
    refunded: Counter[str] = Counter()
    for order in orders:
        for line in order.lines:
            lines[line.listing.sku] += 1
        for refund in order_after_sales(order)[1]:
            for item in refund.items:
                refunded[order.lines[item.line_index].listing.sku] += 1
    rates = {sku: refunded[sku] / count for sku, count in lines.items()}
    # a 12 % refund-rate alert fires for the bad SKUs only
    assert {sku for sku, rate in rates.items() if rate > 0.12} == bad


def test_returns_carry_what_amazon_reports(mature: tuple[World, str]) -> None:
    world, seller_id = mature
    returns = world.returns_for(seller_id)
    fba = [r for r in returns if r["fulfillment_channel"] == "AFN"]
    mfn = [r for r in returns if r["fulfillment_channel"] == "MFN"]
    assert len(fba) > 50 and len(mfn) > 30

    # FBA: license plate, fulfilment centre, disposition, reason, status; some without carrier tracking
    for record in fba:
        assert record["license_plate_number"].startswith("LPN") and len(record["license_plate_number"]) == 13
        assert record["fulfillment_center_id"] and record["received_at"]
        assert record["reason"] in FBA_REASONS and record["rma"] == ""
        assert record["status"] in {"Unit returned to inventory", "Repackaged Successfully", "Reimbursed"}
    dispositions = Counter(r["disposition"] for r in fba)
    assert {"SELLABLE", "CUSTOMER_DAMAGED", "DEFECTIVE"} <= set(dispositions)
    assert 0 < sum(1 for r in fba if not r["tracking_number"]) < len(fba) / 3

    # MFN: RMA, CR- reasons, a return label with carrier and tracking most of the time
    for record in mfn:
        assert record["rma"].endswith("RMA") and record["reason"] == "CR-" + record["reason_code"]
        assert record["status"] in {"Approved", "Closed"}
        assert bool(record["carrier"]) == bool(record["tracking_number"]) == bool(record["label_cost"])
    assert 0 < sum(1 for r in mfn if not r["tracking_number"]) < len(mfn) / 2

    # comments in the marketplace's language, some in Chinese, some empty
    by_marketplace = {"A1F83G8C2ARO7P": "UK", "A1PA6795UKMFR9": "DE", "A13V1IB3VIYZZH": "FR"}
    by_marketplace |= {"APJ6JRA9NG5V4": "IT", "A1RKKUPIHCS9HS": "ES"}
    languages = Counter(r["comment_language"] for r in returns)
    assert {"en", "de", "zh", ""} <= set(languages)
    for record in returns:
        if record["comment"]:
            expected = LANGUAGES[by_marketplace[record["marketplace_id"]]] | {"zh", "en"}
            assert record["comment_language"] in expected
        else:
            assert record["comment_language"] == ""


def test_refunds_are_full_or_partial_never_more_than_charged(mature: tuple[World, str]) -> None:
    world, seller_id = mature
    refunds = world.refunds_for(seller_id)
    returns = world.returns_for(seller_id)
    kinds: Counter[str] = Counter()
    for refund in refunds:
        order = world.order(refund["order_id"])
        assert order is not None
        for item in refund["items"]:
            line = next(line for line in order.lines if line.order_item_id == item["order_item_id"])
            principal = -Decimal(item["principal"])
            assert 0 < principal <= line.item_amount and -Decimal(item["tax"]) <= line.tax
            assert Decimal(item["commission"]) > 0 > Decimal(item["refund_admin_fee"])
            assert -Decimal(item["refund_admin_fee"]) <= Decimal(item["commission"]) * Decimal("0.2") + Decimal("0.01")
            kinds["full" if principal == line.unit_price * item["quantity"] else "partial"] += 1
        total = sum(Decimal(value) for item in refund["items"] for key, value in item.items() if key in _AMOUNTS)
        assert Decimal(refund["total"]) == total < 0
        kinds["with return" if refund["return_id"] else "without return"] += 1
    assert kinds["full"] > kinds["partial"] > 0
    assert kinds["with return"] > kinds["without return"] > 0
    # some returns are never refunded; refunded ones are refunded days after the request
    unrefunded = [r for r in returns if not r["refund_ids"]]
    assert unrefunded
    by_id = {refund["refund_id"]: refund for refund in refunds}
    delays = [
        _time(by_id[r["refund_ids"][0]]["posted_at"]) - _time(r["requested_at"]) for r in returns if r["refund_ids"]
    ]
    assert max(delays) > timedelta(days=5)


_AMOUNTS = ("principal", "shipping", "tax", "promotion", "commission", "refund_admin_fee", "withheld_tax")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_same_seed_same_after_sales_and_time_brings_new_ones() -> None:
    first, second = _world(11), _world(11)
    a = first.add_seller("NA", ["US", "CA"])
    b = second.add_seller("NA", ["US", "CA"])
    assert first.refunds_for(a.selling_partner_id) == second.refunds_for(b.selling_partner_id)
    assert first.returns_for(a.selling_partner_id) == second.returns_for(b.selling_partner_id)

    before = {r["refund_id"] for r in first.refunds_for(a.selling_partner_id)}
    returns_before = {r["return_id"] for r in first.returns_for(a.selling_partner_id)}
    first.advance(timedelta(days=10))
    after = {r["refund_id"] for r in first.refunds_for(a.selling_partner_id)}
    assert before < after  # nothing disappears, new refunds appear
    assert returns_before < {r["return_id"] for r in first.returns_for(a.selling_partner_id)}
    # and the view as of a past moment does not change
    assert {r["refund_id"] for r in first.refunds_for(a.selling_partner_id, at=START - timedelta(minutes=2))} == before


def test_orders_stay_shipped_while_refunded() -> None:
    # Amazon's Orders API shows no refund state: a refunded order stays SHIPPED
    world = _world()
    seller = world.add_seller("NA", ["US"])
    refund = world.refunds_for(seller.selling_partner_id)[0]
    order = next(o for o in world.orders_for(seller.selling_partner_id) if o["orderId"] == refund["order_id"])
    assert order["fulfillment"]["fulfillmentStatus"] == SHIPPED


def test_fba_returns_come_back_to_stock() -> None:
    world = _world()
    seller = world.add_seller("NA", ["US"], history_days=120)
    orders = world.seller_orders(seller.selling_partner_id)
    found = [
        r
        for order in orders
        if order.fulfilled_by == AMAZON
        for r in order_after_sales(order)[0]
        if r.received_at is not None and r.received_at.weekday() != 0
    ]
    sellable = next(r for r in found if r.plan.disposition == "SELLABLE")
    damaged = next(r for r in found if r.plan.disposition == "CUSTOMER_DAMAGED")
    for customer_return, check in ((sellable, "fulfillable"), (damaged, "unfulfillable")):
        moment = customer_return.received_at
        assert moment is not None
        listing = customer_return.line.listing
        before = stock_levels([listing], orders, moment - timedelta(seconds=1))[0]
        after = stock_levels([listing], orders, moment)[0]
        if check == "fulfillable":
            assert after.fulfillable + after.reserved - before.fulfillable - before.reserved == customer_return.quantity
        else:
            assert (
                after.unfulfillable["customerDamagedQuantity"] - before.unfulfillable.get("customerDamagedQuantity", 0)
                == customer_return.quantity
            )
        assert after.last_updated == moment


def test_merchant_orders_wait_for_the_seller_when_it_ships_itself() -> None:
    world = _world()
    seller = world.add_seller("NA", ["US"], mfn_auto_ship=False)
    orders = world.seller_orders(seller.selling_partner_id)
    merchant = [order for order in orders if order.fulfilled_by == MERCHANT]
    assert merchant and all(not any(event.shipment for event in order.events) for order in merchant)
    assert {order.status_at(START) for order in merchant} <= {UNSHIPPED, "CANCELLED", "PENDING"}
    # the FBA-only SKU is never sold merchant-fulfilled
    fba_only = {listing.sku for listing in seller.listings["US"] if listing.fba_only}
    assert len(fba_only) == 1
    assert not {line.listing.sku for order in merchant for line in order.lines} & fba_only

"""Refund rates: the daily rollup (master units through SKU mappings and their multipliers, cancelled orders
left out, by refund day and by order day), kept current by the orders and refunds ingest and by console
refunds, rebuilt by the command, and read by one query whatever the number of SKUs; never another tenant's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import ExternalOrder, ExternalOrderLine, ExternalRefund, RefundLine
from channels.models import Store
from inventory.models import Product, SkuMapping
from orders.models import Order
from orders.services import order_upsert_page
from refunds.execution import SUCCEEDED, _Outcome, _settle
from refunds.ingest import refund_upsert_page
from refunds.models import Refund, RefundOrigin, RefundRateDaily, RefundStatus
from refunds.models import RefundLine as StoredLine
from refunds.rates import (
    ORDER_DATE,
    REFUND_DATE,
    SkuRate,
    refund_rate_trend,
    refund_rates,
    refund_rates_by_channel,
    rollup_rebuild,
    rollup_rebuild_tenant,
    rollup_refresh,
)
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _at(days_ago: int, hour: int = 12) -> datetime:
    return NOON - timedelta(days=days_ago) + timedelta(hours=hour - 12)


def _order(
    external_id: str,
    *,
    sku: str = "CH-MUG",
    quantity: int = 1,
    days_ago: int = 0,
    status: str = "shipped",
    updated: datetime | None = None,
    product_id: str = "",
) -> ExternalOrder:
    price = Decimal("10.00")
    return ExternalOrder(
        external_id=external_id,
        marketplace="US",
        purchased_at=_at(days_ago),
        updated_at=updated or _at(days_ago, 13),
        raw_status=status.upper(),
        status=status,
        fulfillment_channel="fba",
        currency="USD",
        item_amount=price * quantity,
        shipping_amount=Decimal(0),
        tax_amount=Decimal(0),
        discount_amount=Decimal(0),
        other_amount=Decimal(0),
        total_amount=price * quantity,
        buyer_country="US",
        lines=(
            ExternalOrderLine(
                external_id=f"{external_id}-L1",
                sku=sku,
                quantity=quantity,
                currency="USD",
                unit_price=price,
                item_amount=price * quantity,
                channel_product_id=product_id,
            ),
        ),
    )


def _refund(order_id: str, *, sku: str = "CH-MUG", quantity: int = 1, days_ago: int = 0, n: int = 1) -> ExternalRefund:
    return ExternalRefund(
        external_id=f"RF-{order_id}-{n}",
        order_id=order_id,
        posted_at=_at(days_ago, 15),
        currency="USD",
        lines=(
            RefundLine(
                order_item_id=f"{order_id}-L1",
                sku=sku,
                quantity=quantity,
                components=(("principal", Decimal("-10.00") * quantity),),
            ),
        ),
        marketplace="US",
        source="shopify",
    )


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon NA")


@pytest.fixture
def shop(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, platform="shopify", name="Shop", region="", marketplaces=[])


@pytest.fixture
def mug(tenant: Tenant, store: Store, shop: Store) -> Product:
    """Master SKU MUG; Amazon sells it as CH-MUG (1 unit) and CH-MUG-2PK (2 units); the shop by product id."""
    with tenant_scope(tenant):
        product = Product.objects.create(tenant=tenant, sku="MUG", name="Mug")
        SkuMapping.objects.create(tenant=tenant, store=store, channel_sku="CH-MUG", product=product)
        SkuMapping.objects.create(
            tenant=tenant, store=store, channel_sku="CH-MUG-2PK", product=product, quantity_multiplier=2
        )
        SkuMapping.objects.create(tenant=tenant, store=shop, channel_product_id="gid-77", product=product)
        return product


@pytest.fixture(autouse=True)
def _scope(tenant: Tenant) -> Iterator[None]:
    with tenant_scope(tenant):
        yield


def _rows(store: Store) -> list[tuple[date, str, int, int, int]]:
    return [
        (row.day, row.product.sku, row.sold_units, row.refunded_units, row.cohort_refunded_units)
        for row in RefundRateDaily.objects.filter(store=store).select_related("product").order_by("day", "product")
    ]


def _rate(tenant: Tenant, window: int = 30, basis: str = REFUND_DATE, **filters: Any) -> SkuRate:
    rates = refund_rates(tenant=tenant, window_days=window, basis=basis, today=TODAY, **filters)
    assert len(rates) == 1, rates
    return rates[0]


def test_rollup_counts_master_units_through_mappings_and_leaves_cancelled_orders_out(
    tenant: Tenant, store: Store, mug: Product
) -> None:
    # given: a single, a 2-pack bought twice, a cancelled order and an unmapped SKU, all 3 days ago
    order_upsert_page(
        store=store,
        orders=[
            _order("A-1", days_ago=3),
            _order("A-2", sku="CH-MUG-2PK", quantity=2, days_ago=3),
            _order("A-3", quantity=5, days_ago=3, status="cancelled"),
            _order("A-4", sku="UNKNOWN", days_ago=3),
        ],
    )
    # then: 1 + 2 x 2 master units of MUG, the cancelled five and the unmapped line left out
    assert _rows(store) == [(TODAY - timedelta(days=3), "MUG", 5, 0, 0)]

    # when: one 2-pack of A-2 is refunded today
    refund_upsert_page(store=store, refunds=[_refund("A-2", sku="CH-MUG-2PK", quantity=1, days_ago=0)])

    # then: two master units refunded today (refund day), counted on the order's day too (cohort)
    assert _rows(store) == [
        (TODAY - timedelta(days=3), "MUG", 5, 0, 2),
        (TODAY, "MUG", 0, 2, 0),
    ]
    rate = _rate(tenant)
    assert (rate.sku, rate.name, rate.units_sold, rate.units_refunded) == ("MUG", "Mug", 5, 2)
    assert rate.rate_percent == Decimal("40.00")
    assert _rate(tenant, basis=ORDER_DATE).units_refunded == 2


def test_refund_date_and_order_date_bases_split_on_the_window_edge(tenant: Tenant, store: Store, mug: Product) -> None:
    # given: 10 units sold 40 days ago, 10 sold 5 days ago; one unit of the old order refunded yesterday
    order_upsert_page(
        store=store, orders=[_order("OLD", quantity=10, days_ago=40), _order("NEW", quantity=10, days_ago=5)]
    )
    refund_upsert_page(store=store, refunds=[_refund("OLD", days_ago=1)])

    # then: by refund date the refund is in the 7- and 30-day windows; by order date only in the 90-day one
    assert (_rate(tenant, 7).units_sold, _rate(tenant, 7).units_refunded) == (10, 1)
    assert _rate(tenant, 30).rate_percent == Decimal("10.00")
    assert _rate(tenant, 30, ORDER_DATE).units_refunded == 0
    assert (_rate(tenant, 90, ORDER_DATE).units_sold, _rate(tenant, 90, ORDER_DATE).units_refunded) == (20, 1)
    assert _rate(tenant, 90).rate_percent == Decimal("5.00")


def test_rates_filter_by_store_platform_and_product_and_break_down_by_channel(
    tenant: Tenant, store: Store, shop: Store, mug: Product
) -> None:
    # given: MUG sold on Amazon (4) and in the shop by its product id (6); one shop unit refunded
    order_upsert_page(store=store, orders=[_order("A-1", quantity=4, days_ago=2)])
    order_upsert_page(store=shop, orders=[_order("S-1", sku="shop-mug", product_id="gid-77", quantity=6, days_ago=2)])
    refund_upsert_page(store=shop, refunds=[_refund("S-1", sku="shop-mug", days_ago=1)])

    assert (_rate(tenant).units_sold, _rate(tenant).units_refunded) == (10, 1)
    assert (_rate(tenant, store_id=store.pk).units_sold, _rate(tenant, store_id=store.pk).units_refunded) == (4, 0)
    assert _rate(tenant, platform="shopify").rate_percent == Decimal("16.67")
    assert _rate(tenant, product_ids=[mug.pk]).units_sold == 10
    assert refund_rates(tenant=tenant, window_days=30, product_ids=[mug.pk + 999], today=TODAY) == []
    channels = refund_rates_by_channel(tenant=tenant, product_id=mug.pk, window_days=30, today=TODAY)
    assert [(platform, rate.units_sold, rate.units_refunded) for platform, rate in channels] == [
        ("amazon", 4, 0),
        ("shopify", 6, 1),
    ]


def test_trend_is_the_rolling_rate_of_each_day(tenant: Tenant, store: Store, mug: Product) -> None:
    # given: 10 units sold 5 days ago and 2 of them refunded 3 days ago; 4 more sold 14 days ago
    order_upsert_page(
        store=store, orders=[_order("A-1", quantity=10, days_ago=5), _order("A-0", quantity=4, days_ago=14)]
    )
    refund_upsert_page(store=store, refunds=[_refund("A-1", quantity=2, days_ago=3)])

    trend = refund_rate_trend(tenant=tenant, product_id=mug.pk, window_days=7, days=12, today=TODAY)

    assert [day for day, _ in trend] == [TODAY - timedelta(days=n) for n in range(11, -1, -1)]
    rates = {(TODAY - day).days: rate for day, rate in trend}
    assert rates[11] == Decimal("0.00")  # the 4 units of 14 days ago are in the 7 days up to then
    assert rates[7] is rates[6] is None  # they left the window; nothing else sold yet
    assert rates[5] == rates[4] == Decimal("0.00")  # 10 sold, nothing refunded yet
    assert rates[3] == rates[0] == Decimal("20.00")  # 2 of 10 refunded


def test_a_cancelled_order_and_changed_lines_are_recounted(tenant: Tenant, store: Store, mug: Product) -> None:
    order_upsert_page(store=store, orders=[_order("A-1", quantity=3, days_ago=2), _order("A-2", days_ago=2)])
    assert _rate(tenant).units_sold == 4

    # when: the channel changes A-1's quantity, then cancels A-2
    order_upsert_page(store=store, orders=[_order("A-1", quantity=2, days_ago=2, updated=_at(1))])
    assert _rate(tenant).units_sold == 3
    order_upsert_page(store=store, orders=[_order("A-2", days_ago=2, status="cancelled", updated=_at(1))])

    # then: only A-1's two units are left
    assert _rows(store) == [(TODAY - timedelta(days=2), "MUG", 2, 0, 0)]


def test_a_refund_that_arrives_before_its_order_counts_once_the_order_is_there(
    tenant: Tenant, store: Store, mug: Product
) -> None:
    refund_upsert_page(store=store, refunds=[_refund("A-1", days_ago=1)])
    assert _rows(store) == [(TODAY - timedelta(days=1), "MUG", 0, 1, 0)]  # by refund day already

    order_upsert_page(store=store, orders=[_order("A-1", quantity=4, days_ago=6)])

    assert _rows(store) == [
        (TODAY - timedelta(days=6), "MUG", 4, 0, 1),
        (TODAY - timedelta(days=1), "MUG", 0, 1, 0),
    ]


def test_a_console_refund_counts_when_it_succeeds_not_before(tenant: Tenant, store: Store, mug: Product) -> None:
    order_upsert_page(store=store, orders=[_order("A-1", quantity=2, days_ago=4)])
    order = store.orders.get(external_id="A-1")
    refund = Refund.objects.create(
        tenant=tenant,
        store=store,
        order=order,
        order_external_id="A-1",
        external_id="console-1",
        dedupe_key="console-1",
        origin=RefundOrigin.CONSOLE,
        status=RefundStatus.EXECUTING,
        currency="USD",
        amount=Decimal("10.00"),
        refunded_at=_at(0),
    )
    StoredLine.objects.create(
        tenant=tenant, refund=refund, order_line=order.lines.get(), sku="CH-MUG", product=mug, quantity=1
    )
    rollup_refresh(store=store, days=[TODAY, TODAY - timedelta(days=4)])
    assert _rate(tenant).units_refunded == 0  # executing: not refunded yet

    assert _settle(refund.pk, _Outcome(SUCCEEDED)) == SUCCEEDED

    assert _rows(store) == [(TODAY - timedelta(days=4), "MUG", 2, 0, 1), (TODAY, "MUG", 0, 1, 0)]


def test_rebuild_resolves_history_again_after_a_mapping_and_is_idempotent(
    tenant: Tenant, store: Store, mug: Product
) -> None:
    # given: orders of a channel SKU nobody mapped yet
    order_upsert_page(store=store, orders=[_order("A-1", sku="CH-MUG-3PK", days_ago=3), _order("A-2", days_ago=3)])
    assert _rows(store) == [(TODAY - timedelta(days=3), "MUG", 1, 0, 0)]
    SkuMapping.objects.create(tenant=tenant, store=store, channel_sku="CH-MUG-3PK", product=mug, quantity_multiplier=3)
    RefundRateDaily.objects.filter(store=store).update(sold_units=99)  # and a row gone wrong

    def rebuild() -> dict[str, Any]:
        out = StringIO()
        call_command("refund_rates_rebuild", "--tenant", tenant.slug, "--json", stdout=out)
        result: dict[str, Any] = json.loads(out.getvalue())
        return result

    first = rebuild()
    assert _rows(store) == [(TODAY - timedelta(days=3), "MUG", 4, 0, 0)]
    assert first["tenants"][0]["tenant"] == tenant.slug and first["rows"] == 1
    rebuild()
    assert _rows(store) == [(TODAY - timedelta(days=3), "MUG", 4, 0, 0)]
    # a since-bounded rebuild keeps the days before it
    out = StringIO()
    call_command("refund_rates_rebuild", "--since", TODAY.isoformat(), stdout=out)
    assert _rows(store) == [(TODAY - timedelta(days=3), "MUG", 4, 0, 0)]


def test_rows_that_become_all_zero_are_deleted(tenant: Tenant, store: Store, mug: Product) -> None:
    order_upsert_page(store=store, orders=[_order("A-1", days_ago=2)])
    order_upsert_page(store=store, orders=[_order("A-1", days_ago=2, status="cancelled", updated=_at(1))])
    assert _rows(store) == []


def test_refund_rates_is_one_query_whatever_the_number_of_skus(tenant: Tenant, store: Store, mug: Product) -> None:
    for n in range(12):
        Product.objects.create(tenant=tenant, sku=f"CH-{n}", name=f"Item {n}")
    order_upsert_page(store=store, orders=[_order(f"A-{n}", sku=f"CH-{n}", days_ago=n % 5) for n in range(12)])

    with CaptureQueriesContext(connection) as few:
        assert len(refund_rates(tenant=tenant, window_days=30, today=TODAY, product_ids=[mug.pk])) == 0
    with CaptureQueriesContext(connection) as many:
        assert len(refund_rates(tenant=tenant, window_days=30, today=TODAY)) == 12
    with CaptureQueriesContext(connection) as trend:
        refund_rate_trend(tenant=tenant, product_id=mug.pk, window_days=30, today=TODAY)
    assert len(few) == len(many) == len(trend) == 1


def test_another_tenants_rollup_is_never_counted(
    tenant: Tenant, other_tenant: Tenant, store: Store, mug: Product
) -> None:
    order_upsert_page(store=store, orders=[_order("A-1", quantity=2, days_ago=1)])
    with tenant_scope(other_tenant):
        theirs = StoreFactory(tenant=other_tenant)
        their_mug = Product.objects.create(tenant=other_tenant, sku="MUG", name="Their mug")
        SkuMapping.objects.create(tenant=other_tenant, store=theirs, channel_sku="CH-MUG", product=their_mug)
        order_upsert_page(store=theirs, orders=[_order("A-1", quantity=7, days_ago=1)])
        refund_upsert_page(store=theirs, refunds=[_refund("A-1", days_ago=0)])
        assert [rate.units_sold for rate in refund_rates(tenant=other_tenant, window_days=7, today=TODAY)] == [7]

    rates = refund_rates(tenant=tenant, window_days=7, today=TODAY)
    assert [(rate.product_id, rate.units_sold, rate.units_refunded) for rate in rates] == [(mug.pk, 2, 0)]
    # the platform and product filters cannot reach into the other tenant either
    assert refund_rates(tenant=tenant, window_days=7, today=TODAY, product_ids=[their_mug.pk]) == []
    assert refund_rate_trend(tenant=tenant, product_id=their_mug.pk, window_days=7, days=3, today=TODAY) == [
        (TODAY - timedelta(days=n), None) for n in (2, 1, 0)
    ]
    # a rebuild of one tenant leaves the other's rows alone
    rollup_rebuild_tenant(tenant=tenant)
    with tenant_scope(other_tenant):
        assert RefundRateDaily.objects.filter(store=theirs).count() == 2


def test_the_nightly_task_rebuilds_the_last_120_days_of_every_active_tenant(
    tenant: Tenant, store: Store, mug: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    from refunds import tasks

    order_upsert_page(store=store, orders=[_order("A-1", sku="CH-MUG-3PK", days_ago=3)])
    SkuMapping.objects.create(tenant=tenant, store=store, channel_sku="CH-MUG-3PK", product=mug, quantity_multiplier=3)
    queued: list[int] = []
    monkeypatch.setattr(tasks.rebuild_refund_rates_task, "delay", lambda *, tenant_id: queued.append(tenant_id))
    monkeypatch.setattr("refunds.rates.utc_today", lambda: TODAY)

    assert tasks.dispatch_refund_rate_rebuilds_task() == len(queued) >= 1 and tenant.pk in queued
    assert tasks.rebuild_refund_rates_task(tenant_id=tenant.pk) == 1

    assert _rows(store) == [(TODAY - timedelta(days=3), "MUG", 3, 0, 0)]


def test_new_orders_add_to_their_days_exactly_what_a_rebuild_counts(tenant: Tenant, store: Store, mug: Product) -> None:
    # given: pages of new orders over the same days (a backfill adds, it does not recount whole days), some of
    # them 2-packs, one cancelled, one unmapped, one that a refund was waiting for
    refund_upsert_page(store=store, refunds=[_refund("B-3", days_ago=1)])
    order_upsert_page(store=store, orders=[_order("B-1", days_ago=3), _order("B-2", sku="CH-MUG-2PK", days_ago=3)])
    order_upsert_page(
        store=store,
        orders=[
            _order("B-3", quantity=2, days_ago=3),
            _order("B-4", days_ago=3, status="cancelled"),
            _order("B-5", sku="NOBODY", days_ago=3),
            _order("B-6", sku="CH-MUG-2PK", quantity=3, days_ago=4),
        ],
    )
    added = _rows(store)

    # then: the rows are those a rebuild from scratch writes
    rollup_rebuild(store=store, today=TODAY)
    assert (
        added
        == _rows(store)
        == [
            (TODAY - timedelta(days=4), "MUG", 6, 0, 0),
            (TODAY - timedelta(days=3), "MUG", 5, 0, 1),
            (TODAY - timedelta(days=1), "MUG", 0, 1, 0),
        ]
    )


def test_a_full_rebuild_keeps_the_rows_of_days_before_the_retention(tenant: Tenant, store: Store, mug: Product) -> None:
    # given a basic plan (12 months) and a day 400 days ago whose order retention has since deleted
    Tenant.objects.filter(pk=tenant.pk).update(plan="basic")
    tenant.refresh_from_db()
    order_upsert_page(store=store, orders=[_order("OLD-1", days_ago=400), _order("NEW-1", days_ago=3)])
    assert _rows(store) == [(TODAY - timedelta(days=400), "MUG", 1, 0, 0), (TODAY - timedelta(days=3), "MUG", 1, 0, 0)]
    Order.objects.filter(store=store, external_id="OLD-1").delete()
    # when the whole history is rebuilt
    rollup_rebuild_tenant(tenant=Tenant.objects.get(pk=tenant.pk), today=TODAY)
    # then the old day's row stays as it was, and the recent one is rebuilt
    assert _rows(store) == [(TODAY - timedelta(days=400), "MUG", 1, 0, 0), (TODAY - timedelta(days=3), "MUG", 1, 0, 0)]

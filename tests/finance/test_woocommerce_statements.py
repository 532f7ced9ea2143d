"""WooCommerce monthly statements built from ACORN's orders and refunds: lines per order part and per refund,
per payment gateway, gateway fees never invented, balanced by construction, rebuilt while the month is open and
built once when closed, months in the given time zone, nothing seen by another tenant."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.woocommerce.parse import parse_order
from channels.models import Store
from finance.models import Category, Settlement, SettlementKind, SettlementSource, SettlementStatus
from finance.settlements import selectors
from finance.settlements.woocommerce import (
    CLOSE_AFTER,
    CLOSED,
    GATEWAY_FEES_NOTE,
    OPEN,
    StatementMonthError,
    woocommerce_statement_build,
    woocommerce_statement_gateways,
)
from orders.models import Order
from refunds.models import Refund
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
STRIPE = ["payment_method:stripe", "payment_method_title:Credit card (Stripe)"]
PAYPAL = ["payment_method:ppcp-gateway", "payment_method_title:PayPal"]
# A month that has ended long ago, whatever day the tests run on: its statement can be open or closed at will.
MONTH = date(2026, 3, 1)


def _store(tenant: Tenant, name: str = "Woo") -> Store:
    return StoreFactory(tenant=tenant, platform="woocommerce", name=name, region="", marketplaces=[])


def _order(
    store: Store,
    external_id: str,
    at: datetime,
    *,
    items: str,
    shipping: str = "0",
    tax: str = "0",
    discount: str = "0",
    tags: list[str] | None = None,
    raw_status: str = "completed",
) -> Order:
    total = Decimal(items) + Decimal(shipping) + Decimal(tax) - Decimal(discount)
    return Order.objects.create(
        tenant=store.tenant,
        store=store,
        external_id=external_id,
        merchant_order_id=external_id,
        purchased_at=at,
        channel_updated_at=at,
        status="shipped",
        raw_status=raw_status,
        fulfillment_channel="merchant",
        currency="EUR",
        item_amount=Decimal(items),
        shipping_amount=Decimal(shipping),
        tax_amount=Decimal(tax),
        discount_amount=Decimal(discount),
        total_amount=total,
        tags=tags if tags is not None else STRIPE,
    )


def _refund(order: Order, external_id: str, amount: str, at: datetime) -> Refund:
    return Refund.objects.create(
        tenant=order.tenant,
        store=order.store,
        order=order,
        order_external_id=order.external_id,
        external_id=external_id,
        dedupe_key=external_id,
        origin="channel",
        status="succeeded",
        currency=order.currency,
        amount=Decimal(amount),
        net_amount=-Decimal(amount),
        principal_amount=-Decimal(amount),
        refunded_at=at,
    )


def _month_with_money(store: Store) -> None:
    """March 2026: two gateways, shipping, tax, a discount, a partial refund; an unpaid and an April order."""
    march = datetime(2026, 3, 10, 9, tzinfo=UTC)
    first = _order(store, "101", march, items="100.00", shipping="6.90", tax="19.00", discount="10.00")
    _order(store, "102", march + timedelta(days=3), items="50.00", shipping="4.90", tax="9.50", tags=PAYPAL)
    _order(store, "103", march + timedelta(days=4), items="70.00", raw_status="pending")  # never paid
    _order(store, "104", datetime(2026, 4, 2, 9, tzinfo=UTC), items="30.00")  # next month
    _refund(first, "501", "25.00", march + timedelta(days=8))


def test_a_month_with_orders_shipping_tax_a_partial_refund_and_two_gateways(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        # given
        store = _store(tenant)
        _month_with_money(store)

        # when: built long after the month ended
        [result] = woocommerce_statement_build(store=store, month="2026-03", now=datetime(2026, 5, 1, tzinfo=UTC))

        # then
        statement = result.settlement
        assert statement is not None and result.created
        assert (statement.kind, statement.source, statement.external_id) == (
            SettlementKind.WOOCOMMERCE_STATEMENT,
            SettlementSource.BUILT,
            "2026-03",
        )
        assert statement.vendor_status == CLOSED and statement.deposit_date is None
        # balanced by construction: 100 - 10 + 6.90 + 19 + 50 + 4.90 + 9.50 - 25 refunded
        assert statement.total_amount == Decimal("155.30") == statement.lines_amount
        assert statement.balanced and statement.status != SettlementStatus.UNBALANCED
        assert selectors.settlement_category_totals(settlement=statement) == {
            Category.SALES: Decimal("150.00"),
            Category.PROMOTIONS: Decimal("-10.00"),
            Category.SHIPPING_INCOME: Decimal("11.80"),
            Category.TAX_COLLECTED: Decimal("28.50"),
            Category.REFUNDS: Decimal("-25.00"),
        }
        assert selectors.settlement_unmatched_order_ids(settlement=statement) == []
        assert statement.matched_order_count == 2
        refund_line = statement.lines.get(transaction_type="Refund")
        assert refund_line.refund is not None and refund_line.refund.external_id == "501"
        # cleared per gateway; fees unknown, never invented
        gateways = {row.gateway: row for row in woocommerce_statement_gateways(settlement=statement)}
        assert set(gateways) == {"stripe: Credit card (Stripe)", "ppcp-gateway: PayPal"}
        stripe = gateways["stripe: Credit card (Stripe)"]
        assert (stripe.sales, stripe.refunds, stripe.net, stripe.fees) == (
            Decimal("115.90"),
            Decimal("-25.00"),
            Decimal("90.90"),
            None,
        )
        assert gateways["ppcp-gateway: PayPal"].net == Decimal("64.40")
        assert statement.source_reference == GATEWAY_FEES_NOTE
        assert not statement.lines.filter(category=Category.SELLER_FEES).exists()


def test_an_open_month_is_rebuilt_in_place_and_a_closed_one_is_built_once(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        # given: the month was built while still open
        store = _store(tenant)
        _month_with_money(store)
        during = datetime(2026, 3, 20, tzinfo=UTC)
        [first] = woocommerce_statement_build(store=store, month=MONTH, now=during)
        assert first.created and first.settlement is not None and first.settlement.vendor_status == OPEN
        assert first.settlement.total_amount == Decimal("155.30")

        # when: built again with nothing new, then nothing is rewritten
        lines_before = sorted(first.settlement.lines.values_list("pk", flat=True))
        [same] = woocommerce_statement_build(store=store, month=MONTH, now=during + timedelta(hours=1))
        assert not same.rebuilt and not same.created
        assert sorted(first.settlement.lines.values_list("pk", flat=True)) == lines_before

        # when: a late order arrives and the month is built again while open
        _order(store, "105", datetime(2026, 3, 31, 20, tzinfo=UTC), items="20.00", tags=PAYPAL)
        [again] = woocommerce_statement_build(store=store, month=MONTH, now=during + timedelta(days=1))

        # then: the same statement, its lines replaced
        assert again.rebuilt and not again.created and again.settlement is not None
        assert again.settlement.pk == first.settlement.pk
        assert again.settlement.total_amount == Decimal("175.30") and again.settlement.line_count == 9

        # when: built after the month closed, then again with more data arriving
        closing = datetime(2026, 4, 1, tzinfo=UTC) + CLOSE_AFTER
        [closed] = woocommerce_statement_build(store=store, month=MONTH, now=closing)
        _order(store, "106", datetime(2026, 3, 30, tzinfo=UTC), items="99.00")
        [kept] = woocommerce_statement_build(store=store, month=MONTH, now=closing + timedelta(days=1))

        # then: closed once, never rebuilt
        assert closed.settlement is not None and closed.settlement.vendor_status == CLOSED
        assert not kept.created and not kept.rebuilt
        assert kept.settlement is not None and kept.settlement.total_amount == Decimal("175.30")
        assert Settlement.objects.filter(store=store).count() == 1


def test_the_month_runs_in_the_given_time_zone(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        # given: an order at 23:30 UTC on 31 March, already 1 April 07:30 in Shanghai
        store = _store(tenant)
        _order(store, "201", datetime(2026, 3, 31, 23, 30, tzinfo=UTC), items="10.00")
        later = datetime(2026, 6, 1, tzinfo=UTC)

        # when
        utc_march = woocommerce_statement_build(store=store, month="2026-03", now=later)
        shanghai_march = woocommerce_statement_build(store=store, month="2026-03", time_zone="Asia/Shanghai", now=later)

        # then: it is March's in UTC; in Shanghai March is empty (the UTC statement is kept closed) and the order
        # belongs to April
        assert utc_march[0].settlement is not None and utc_march[0].settlement.total_amount == Decimal("10.00")
        assert [r.settlement.total_amount for r in shanghai_march if r.settlement] == [Decimal("10.00")]
        other = _store(tenant, "Woo Shanghai")
        _order(other, "202", datetime(2026, 3, 31, 23, 30, tzinfo=UTC), items="10.00")
        assert woocommerce_statement_build(store=other, month="2026-03", time_zone="Asia/Shanghai", now=later) == []
        [april] = woocommerce_statement_build(store=other, month="2026-04", time_zone="Asia/Shanghai", now=later)
        assert april.settlement is not None and april.settlement.total_amount == Decimal("10.00")
        assert april.settlement.period_start == datetime(2026, 3, 31, 16, tzinfo=UTC)


def test_bad_months_and_other_channels_are_refused(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = _store(tenant)
        with pytest.raises(StatementMonthError, match="YYYY-MM"):
            woocommerce_statement_build(store=store, month="March")
        next_month = (timezone.now().date().replace(day=1) + timedelta(days=40)).replace(day=1)
        with pytest.raises(StatementMonthError, match="not started"):
            woocommerce_statement_build(store=store, month=next_month)
        with pytest.raises(StatementMonthError, match="not a WooCommerce"):
            woocommerce_statement_build(store=StoreFactory(tenant=tenant), month=MONTH)


def test_the_command_builds_this_month_and_is_idempotent(tenant: Tenant) -> None:
    # given: an order placed an hour ago
    with tenant_scope(tenant):
        store = _store(tenant)
        _order(store, "301", timezone.now() - timedelta(hours=1), items="12.50")
    month = f"{timezone.now():%Y-%m}"

    # when
    out = StringIO()
    call_command("build_statements", "--store", str(store.pk), "--month", month, "--json", stdout=out)
    again = StringIO()
    call_command("build_statements", "--store", str(store.pk), "--month", month, "--json", stdout=again)

    # then
    [row] = json.loads(out.getvalue())["statements"]
    assert (row["month"], row["total"], row["state"], row["created"], row["balanced"]) == (
        month,
        "12.50",
        OPEN,
        True,
        True,
    )
    [row_again] = json.loads(again.getvalue())["statements"]
    # nothing new since: the statement is left as it is
    assert row_again["settlement_id"] == row["settlement_id"] and not row_again["rebuilt"] and not row_again["created"]
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("build_statements", "--month", "2026-13")
    with pytest.raises(CommandError, match="not a WooCommerce"):
        with tenant_scope(tenant):
            amazon = StoreFactory(tenant=tenant)
        call_command("build_statements", "--store", str(amazon.pk))


def test_another_tenant_neither_sees_nor_builds_into_the_statements(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = _store(tenant)
        _month_with_money(store)
        [result] = woocommerce_statement_build(store=store, month=MONTH, now=datetime(2026, 5, 1, tzinfo=UTC))
        assert result.settlement is not None
    with tenant_scope(other_tenant):
        other_store = _store(other_tenant)
        assert not selectors.settlement_list(tenant=other_tenant).exists()
        assert selectors.settlement_get(tenant=other_tenant, pk=result.settlement.pk) is None
        # the other company's site, built for the same month, holds none of the first company's money
        assert woocommerce_statement_build(store=other_store, month=MONTH, now=datetime(2026, 5, 1, tzinfo=UTC)) == []


def test_the_woocommerce_adapter_keeps_the_orders_payment_gateway() -> None:
    raw = json.loads(
        (
            Path(__file__).parents[1] / "fixtures/vendor/woocommerce/wp-api-v3/orders/retrieve-an-order.response.json"
        ).read_text()
    )
    order = parse_order(raw)
    assert order.tags == ("payment_method:bacs", "payment_method_title:Direct Bank Transfer")


def test_the_statement_page_shows_each_gateway_with_its_fees_unknown(tenant: Tenant, owner_client: Client) -> None:
    with tenant_scope(tenant):
        store = _store(tenant)
        _month_with_money(store)
        [result] = woocommerce_statement_build(store=store, month="2026-03", now=datetime(2026, 5, 1, tzinfo=UTC))
    assert result.settlement is not None
    page = owner_client.get(reverse("finance:settlement-detail", args=[result.settlement.pk])).content.decode()
    block = page[page.index('id="gateways"') :]
    assert "ppcp-gateway: PayPal" in block and "64.40" in block and "90.90" in block
    assert "Payment gateway fees are unknown" in block and "Month closed" in block

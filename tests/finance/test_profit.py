"""Profit per order line: a hand-worked order to the cent in both currencies, estimated then settled fees,
refunds with a sellable return, the rollup equal to its facts, refreshes and the rebuild, another tenant."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from acorn.fx.models import ExchangeRate
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import FinancialTransaction, SettlementHeader
from channels.models import Store
from finance.models import SettlementKind, SettlementSource
from finance.profit.costs import cost_receipt_record
from finance.profit.estimates import order_fee_estimates_record
from finance.profit.models import (
    OtherCost,
    OtherCostKind,
    OtherCostSource,
    ProfitDaily,
    ProfitFact,
    ProfitRefreshDue,
    RefreshKind,
)
from finance.profit.pnl import order_pnl
from finance.profit.rollup import profit_rebuild, profit_refresh
from finance.settlements.services import settlement_import
from inventory.models import MovementKind, Product, StockMovement, Warehouse
from orders.models import Order, OrderLine
from refunds.models import Refund, RefundLine, RestockState, Return
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory, TenantFactory
from tests.finance.console_data import line

pytestmark = pytest.mark.django_db

# The order was placed 20 days ago, the refund 10 days ago: dates built from now, never a fixed today.
PLACED = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=20)
REFUNDED = PLACED + timedelta(days=10)
ORDER_ID = "111-0000001-0000001"
FBA_FEE = "FBAPerUnitFulfillmentFee"


@pytest.fixture
def cny_tenant(tenant: Tenant) -> Tenant:
    tenant.reporting_currency = "CNY"
    tenant.save(update_fields=["reporting_currency"])
    # One rate, published before the order: every day after falls back to it (the latest on or before).
    ExchangeRate.objects.create(
        base="USD", quote="CNY", rate=Decimal("7.1"), rate_date=(PLACED - timedelta(days=1)).date(), source="test"
    )
    return tenant


@pytest.fixture
def store(cny_tenant: Tenant) -> Store:
    return StoreFactory(tenant=cny_tenant, platform="amazon")


def _products(tenant: Tenant) -> tuple[Product, Product]:
    """EAR-PRO costs what two receipts made of it: 100 units at 50.00 CNY with 500.00 freight (55.00 landed), 60
    shipped, then 50 at 56.40 with 40 on hand: (40 x 55.00 + 50 x 56.40) / 90 = 55.7778 when the order is
    placed. CASE has only its standard cost, 10.00 CNY."""
    earbuds = Product.objects.create(tenant=tenant, sku="EAR-PRO", name="Earbuds Pro", unit_cost_currency="CNY")
    case = Product.objects.create(
        tenant=tenant, sku="CASE", name="Case", unit_cost_amount=Decimal("10.00"), unit_cost_currency="CNY"
    )
    warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen", country="CN")
    first, second = PLACED - timedelta(days=30), PLACED - timedelta(days=10)
    for at, units, unit_cost, freight in ((first, 100, "50.00", "500.00"), (second, 50, "56.40", "0")):
        movement = StockMovement.objects.create(
            tenant=tenant, product=earbuds, warehouse=warehouse, kind=MovementKind.RECEIPT, on_hand_delta=units,
            created_at=at,
        )  # fmt: skip
        cost_receipt_record(
            tenant=tenant, product=earbuds, warehouse=warehouse, quantity=units, currency="CNY", unit_cost=unit_cost,
            freight=freight, received_at=at, movement=movement,
        )  # fmt: skip
        if units == 100:
            StockMovement.objects.create(
                tenant=tenant, product=earbuds, warehouse=warehouse, kind=MovementKind.SHIPMENT, on_hand_delta=-60,
                created_at=first + timedelta(days=5),
            )  # fmt: skip
    return earbuds, case


def _order(store: Store) -> tuple[Order, OrderLine, OrderLine]:
    """Two lines: 2 x EAR-PRO at 30.00 with a 5.00 promotion and 4.99 shipping, 1 x CASE at 15.00; tax apart."""
    order = Order.objects.create(
        tenant=store.tenant,
        store=store,
        external_id=ORDER_ID,
        marketplace="US",
        buyer_country="US",
        purchased_at=PLACED,
        channel_updated_at=PLACED,
        status="shipped",
        raw_status="Shipped",
        fulfillment_channel="fba",
        currency="USD",
        item_amount=Decimal("75.00"),
        shipping_amount=Decimal("4.99"),
        tax_amount=Decimal("6.00"),
        discount_amount=Decimal("5.00"),
        total_amount=Decimal("80.99"),
    )
    earbuds = OrderLine.objects.create(
        tenant=store.tenant,
        order=order,
        external_id="A1",
        sku="EAR-PRO",
        quantity=2,
        currency="USD",
        unit_price_amount=Decimal("30.00"),
        item_amount=Decimal("60.00"),
        tax_amount=Decimal("4.80"),
        shipping_amount=Decimal("4.99"),
        discount_amount=Decimal("5.00"),
        total_amount=Decimal("64.79"),
    )
    case = OrderLine.objects.create(
        tenant=store.tenant,
        order=order,
        external_id="B1",
        sku="CASE",
        quantity=1,
        currency="USD",
        unit_price_amount=Decimal("15.00"),
        item_amount=Decimal("15.00"),
        tax_amount=Decimal("1.20"),
        total_amount=Decimal("16.20"),
    )
    return order, earbuds, case


def _refund(order: Order, order_line: OrderLine, product: Product) -> Refund:
    """One of the two earbuds back: 30.00 principal, the promotion's 2.50 reversed, tax 2.40, commission 4.13
    returned (half of 8.25), refund commission 0.83 (20 % of it); returned sellable."""
    refund = Refund.objects.create(
        tenant=order.tenant,
        store=order.store,
        order=order,
        order_external_id=order.external_id,
        external_id="R-1",
        dedupe_key="R-1",
        origin="channel",
        status="succeeded",
        currency="USD",
        amount=Decimal("29.90"),
        net_amount=Decimal("-26.60"),
        refunded_at=REFUNDED,
    )
    RefundLine.objects.create(
        tenant=order.tenant,
        refund=refund,
        order_line=order_line,
        order_item_id="A1",
        sku="EAR-PRO",
        product=product,
        quantity=1,
        principal_amount=Decimal("-30.00"),
        promotion_amount=Decimal("2.50"),
        tax_amount=Decimal("-2.40"),
        commission_amount=Decimal("4.13"),
        refund_admin_fee_amount=Decimal("-0.83"),
        amount=Decimal("29.90"),
    )
    Return.objects.create(
        tenant=order.tenant,
        store=order.store,
        order=order,
        order_external_id=order.external_id,
        external_id="RET-1",
        source="amazon_fba",
        refund=refund,
        sku="EAR-PRO",
        product=product,
        quantity=1,
        status="received",
        disposition="SELLABLE",
        returned_at=REFUNDED,
        restock_state=RestockState.BY_CHANNEL,
    )
    return refund


def _settle(store: Store) -> None:
    """The statement holding the sale: referral 8.25 + 2.25, FBA 6.44 + 3.22 (and the sale, tax, withheld tax)."""
    header = SettlementHeader(
        settlement_id="5550001",
        start=PLACED - timedelta(days=2),
        end=PLACED + timedelta(days=12),
        deposit_date=PLACED + timedelta(days=14),
        currency="USD",
        total_amount=Decimal("60.83"),
    )
    posted = PLACED + timedelta(days=1)
    rows = [
        line(2, "Order", "ItemPrice", "Principal", "60.00", ORDER_ID, posted, sku="EAR-PRO", order_item_code="A1"),
        line(3, "Order", "ItemPrice", "Principal", "15.00", ORDER_ID, posted, sku="CASE", order_item_code="B1"),
        line(4, "Order", "ItemPrice", "Shipping", "4.99", ORDER_ID, posted, sku="EAR-PRO", order_item_code="A1"),
        line(5, "Order", "Promotion", "Principal", "-5.00", ORDER_ID, posted, sku="EAR-PRO", order_item_code="A1"),
        line(6, "Order", "ItemPrice", "Tax", "6.00", ORDER_ID, posted, sku="EAR-PRO", order_item_code="A1"),
        line(7, "Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", "-6.00", ORDER_ID, posted),
        line(8, "Order", "ItemFees", "Commission", "-8.25", ORDER_ID, posted, sku="EAR-PRO", order_item_code="A1"),
        line(9, "Order", "ItemFees", FBA_FEE, "-6.44", ORDER_ID, posted, sku="EAR-PRO", order_item_code="A1"),
        line(10, "Order", "ItemFees", "Commission", "-2.25", ORDER_ID, posted, sku="CASE", order_item_code="B1"),
        line(11, "Order", "ItemFees", FBA_FEE, "-3.22", ORDER_ID, posted, sku="CASE", order_item_code="B1"),
    ]
    settlement_import(
        store=store, kind=SettlementKind.AMAZON_SETTLEMENT, source=SettlementSource.UPLOAD, header=header, lines=rows
    )


def _figures(pnl: Any, attr: str) -> dict[str, str]:
    total = getattr(pnl, attr)
    return {name: str(value) for name, value in total.items() if value}


def test_hand_worked_order_to_the_cent_in_both_currencies(store: Store, enqueued: EnqueuedTasks) -> None:
    with tenant_scope(store.tenant):
        earbuds, _case = _products(store.tenant)
        order, earbuds_line, _case_line = _order(store)
        _refund(order, earbuds_line, earbuds)
        _settle(store)
        pnl = order_pnl(order=order, reporting_currency="CNY")

    assert pnl.settled is False  # the sale is settled, the refund not yet
    assert not pnl.cost_missing and not pnl.rate_missing
    # USD: sales 75.00; promotions -5.00; shipping 4.99; refunds -30.00 + 2.50; referral -8.25 - 2.25 + 4.13 -
    # 0.83; FBA -6.44 - 3.22 (not returned); cost of goods 2 x 55.7778 + 10.00 CNY sold, 55.7778 back, each
    # part converted at 1 / 7.1 (0.1408450704): -15.71 - 1.41 + 7.86; tax 6.00 - 2.40 kept apart.
    assert _figures(pnl, "own_total") == {
        "sales": "75.00",
        "shipping": "4.99",
        "promotions": "-5.00",
        "refunds": "-27.50",
        "referral_fees": "-7.20",
        "fba_fees": "-9.66",
        "cogs": "-9.26",
        "tax": "3.60",
        "net": "21.37",
    }
    # CNY at 7.1, each part rounded: sales 426.00 + 106.50; shipping 35.43; promotions -35.50; refunds -213.00
    # + 17.75; referral -58.58 - 15.98 + 29.32 - 5.89; FBA -45.72 - 22.86; cost of goods -111.56 - 10.00 +
    # 55.78 (in CNY already: never rounded through USD); tax 42.60 - 17.04.
    assert _figures(pnl, "reporting_total") == {
        "sales": "532.50",
        "shipping": "35.43",
        "promotions": "-35.50",
        "refunds": "-195.25",
        "referral_fees": "-51.13",
        "fba_fees": "-68.58",
        "cogs": "-65.78",
        "tax": "25.56",
        "net": "151.69",
    }
    sale_rows = [row for row in pnl.rows if row.draft.kind == "sale"]
    assert all(row.draft.settled for row in sale_rows)
    assert {row.reporting.rate for row in pnl.rows} == {Decimal("7.1")}


def test_facts_and_rollup_follow_the_order_and_match(store: Store, enqueued: EnqueuedTasks) -> None:
    with tenant_scope(store.tenant):
        earbuds, _case = _products(store.tenant)
        order, earbuds_line, _case_line = _order(store)
        _refund(order, earbuds_line, earbuds)
        _settle(store)
    profit_refresh(tenant=store.tenant, order_ids=[order.pk])
    with tenant_scope(store.tenant):
        facts = list(ProfitFact.objects.order_by("key"))
        assert [fact.kind for fact in facts] == ["refund", "sale", "sale"]
        assert sum(fact.net for fact in facts) == Decimal("151.69")
        assert sum(fact.net_amount for fact in facts) == Decimal("21.37")
        rows = list(ProfitDaily.objects.all())
        assert sum(row.net for row in rows) == Decimal("151.69")
        assert sum(row.units for row in rows) == 3 and sum(row.units_refunded for row in rows) == 1
        sale_day = [row for row in rows if row.day == PLACED.date()]
        assert {row.estimated for row in sale_day} == {0}  # settled
        assert [row.orders for row in sale_day if row.product_id == earbuds.pk] == [1]


def test_fees_are_estimated_from_the_channel_then_settled(
    store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_scope(store.tenant):
        _products(store.tenant)
        order, _earbuds_line, _case_line = _order(store)
        transaction = FinancialTransaction(
            external_id="tx-1",
            transaction_type="Shipment",
            status="RELEASED",
            posted_at=PLACED + timedelta(days=1),
            currency="USD",
            total_amount=Decimal("55.00"),
            order_id=ORDER_ID,
            components=(
                ("Product Charges", Decimal("75.00")),
                ("Commission", Decimal("-10.50")),
                ("FBA Fulfillment Fee", Decimal("-9.66")),
                ("Tax", Decimal("6.00")),
            ),
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert order_fee_estimates_record(store=store, transactions=[transaction, transaction]) == 2
        pnl = order_pnl(order=order, reporting_currency="USD")
        assert not pnl.settled
        assert pnl.own_total["referral_fees"] == Decimal("-10.50")
        assert pnl.own_total["fba_fees"] == Decimal("-9.66")
        _settle(store)
        settled = order_pnl(order=order, reporting_currency="USD")
        assert settled.settled
        assert settled.own_total["referral_fees"] == Decimal("-10.50")  # the statement's 8.25 + 2.25
    # The order is due for the P&L, and one refresh of the company is queued, whatever the changes that followed.
    assert [(task.name, kwargs) for task, kwargs in enqueued if task.name == "finance.refresh_profit"] == [
        ("finance.refresh_profit", {"tenant_id": store.tenant_id})
    ]
    with tenant_scope(store.tenant):
        assert (RefreshKind.ORDER, order.pk) in set(ProfitRefreshDue.objects.values_list("kind", "object_id"))


def test_cancelled_orders_and_missing_costs(store: Store, enqueued: EnqueuedTasks) -> None:
    with tenant_scope(store.tenant):
        order, _earbuds_line, _case_line = _order(store)  # no products: the SKUs map to nothing
        pnl = order_pnl(order=order, reporting_currency="CNY")
        assert pnl.cost_missing and pnl.own_total["cogs"] == 0
        Order.objects.filter(pk=order.pk).update(status="cancelled")
    profit_refresh(tenant=store.tenant, order_ids=[order.pk])
    with tenant_scope(store.tenant):
        assert not ProfitFact.objects.exists() and not ProfitDaily.objects.exists()


def test_costs_of_no_order_spread_and_rebuild(store: Store, enqueued: EnqueuedTasks) -> None:
    from finance.profit.rollup import profit_settings_get

    with tenant_scope(store.tenant):
        _products(store.tenant)
        order, _a, _b = _order(store)
        storage = OtherCost.objects.create(
            tenant=store.tenant,
            kind=OtherCostKind.STORAGE,
            source=OtherCostSource.MANUAL,
            source_key="manual:1",
            day=PLACED.date(),
            store=store,
            currency="USD",
            amount=Decimal("-3.00"),
        )
    profit_refresh(tenant=store.tenant, order_ids=[order.pk], other_cost_ids=[storage.pk])
    with tenant_scope(store.tenant):
        unassigned = ProfitDaily.objects.get(product__isnull=True, sku="")
        assert unassigned.storage == Decimal("-21.30")  # 3.00 USD at 7.1
        settings = profit_settings_get(tenant=store.tenant)
        settings.spread_unassigned_costs = True
        settings.save()
    assert profit_rebuild(tenant=store.tenant) == 3
    with tenant_scope(store.tenant):
        rows = {row.product.sku: row for row in ProfitDaily.objects.select_related("product")}
        assert not ProfitDaily.objects.filter(product__isnull=True).exists()
        # 3 units sold that day: 2 earbuds carry 2/3 of 21.30, the case 1/3.
        assert rows["EAR-PRO"].storage == Decimal("-14.20") and rows["CASE"].storage == Decimal("-7.10")
        storage_id = storage.pk
        storage.delete()
    profit_refresh(tenant=store.tenant, other_cost_ids=[storage_id])
    with tenant_scope(store.tenant):
        assert sum(row.storage for row in ProfitDaily.objects.all()) == 0


def test_another_tenant_sees_none_of_it(store: Store, enqueued: EnqueuedTasks) -> None:
    with tenant_scope(store.tenant):
        _products(store.tenant)
        order, _a, _b = _order(store)
    profit_refresh(tenant=store.tenant, order_ids=[order.pk])
    other = TenantFactory()
    # Refreshing another company with this company's order changes nothing of either.
    profit_refresh(tenant=other, order_ids=[order.pk])
    with tenant_scope(other):
        assert not ProfitFact.objects.exists() and not ProfitDaily.objects.exists()
    with tenant_scope(store.tenant):
        assert ProfitFact.objects.count() == 2


def test_a_refund_of_the_whole_order_is_shared_over_its_lines(store: Store, enqueued: EnqueuedTasks) -> None:
    with tenant_scope(store.tenant):
        earbuds, case = _products(store.tenant)
        order, _a, _b = _order(store)
        Refund.objects.create(
            tenant=store.tenant,
            store=store,
            order=order,
            order_external_id=ORDER_ID,
            external_id="GOODWILL-1",
            dedupe_key="GOODWILL-1",
            origin="channel",
            status="succeeded",
            currency="USD",
            amount=Decimal("10.00"),
            net_amount=Decimal("-10.00"),
            principal_amount=Decimal("-10.00"),
            refunded_at=REFUNDED,
        )
        pnl = order_pnl(order=order, reporting_currency="USD")
    refunds = {row.draft.product_id: row.own.values["refunds"] for row in pnl.rows if row.draft.kind == "refund"}
    # principal 55.00 and 15.00: 10.00 shared 7.86 / 2.14, adding up to the refund exactly
    assert refunds == {earbuds.pk: Decimal("-7.86"), case.pk: Decimal("-2.14")}

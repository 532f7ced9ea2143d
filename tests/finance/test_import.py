"""Importing a statement: all lines kept and categorised, orders linked, reconciled, idempotent, all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import SettlementHeader, SettlementLine
from channels.models import Store
from finance.models import Category, CategoryRule, Settlement, SettlementKind, SettlementSource, SettlementStatus
from finance.models import SettlementLine as StoredLine
from finance.settlements import selectors
from finance.settlements.services import (
    SettlementImportError,
    category_rule_set,
    settlement_import,
)
from orders.models import Order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def _order(store: Store, external_id: str, items: str, shipping: str = "0", discount: str = "0") -> Order:
    now = timezone.now() - timedelta(days=5)
    return Order.objects.create(
        tenant=store.tenant,
        store=store,
        external_id=external_id,
        purchased_at=now,
        channel_updated_at=now,
        status="shipped",
        raw_status="Shipped",
        fulfillment_channel="fba",
        currency="USD",
        item_amount=Decimal(items),
        shipping_amount=Decimal(shipping),
        discount_amount=Decimal(discount),
        total_amount=Decimal(items) + Decimal(shipping) - Decimal(discount),
    )


def _header(settlement_id: str = "12948507001", total: str = "0") -> SettlementHeader:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    return SettlementHeader(
        settlement_id=settlement_id,
        start=start,
        end=start + timedelta(days=14),
        deposit_date=start + timedelta(days=16),
        currency="USD",
        total_amount=Decimal(total),
    )


def _line(n: int, tt: str, at: str, ad: str, amount: str, order_id: str = "", **extra: object) -> SettlementLine:
    return SettlementLine(
        line_number=n,
        transaction_type=tt,
        amount_type=at,
        amount_description=ad,
        amount=Decimal(amount),
        order_id=order_id,
        posted_at=datetime(2026, 10, 3, tzinfo=UTC),
        **{"marketplace_name": "Amazon.com", **extra},
    )


def _lines() -> list[SettlementLine]:
    return [
        _line(2, "Order", "ItemPrice", "Principal", "25.00", "111-1", sku="MUG", quantity=1),
        _line(3, "Order", "ItemPrice", "Shipping", "4.99", "111-1"),
        _line(4, "Order", "ItemPrice", "Tax", "2.40", "111-1"),
        _line(5, "Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", "-2.40", "111-1"),
        _line(6, "Order", "ItemFees", "Commission", "-3.75", "111-1"),
        _line(7, "Order", "ItemFees", "FBAPerUnitFulfillmentFee", "-3.22", "111-1"),
        _line(8, "Order", "ItemPrice", "Principal", "10.00", "111-2"),  # ACORN never imported 111-2
        _line(9, "other-transaction", "other-transaction", "Storage Fee", "-1.50"),
        _line(10, "other-transaction", "other-transaction", "PlanetSavingFee", "-0.30"),
    ]


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon NA")


def _import(store: Store, lines: list[SettlementLine], total: str, settlement_id: str = "12948507001") -> object:
    return settlement_import(
        store=store,
        kind=SettlementKind.AMAZON_SETTLEMENT,
        source=SettlementSource.UPLOAD,
        header=_header(settlement_id, total),
        lines=iter(lines),
        source_reference="settlement.tsv",
    )


def test_a_statement_is_kept_whole_categorised_linked_and_reconciled(tenant: Tenant, store: Store) -> None:
    # given: ACORN knows order 111-1 (25 + 4.99 shipping), not 111-2
    with tenant_scope(tenant):
        order = _order(store, "111-1", "25.00", shipping="4.99")
        # when
        result = _import(store, _lines(), total="31.22")
        settlement = Settlement.objects.get()
        # then: every line is kept with the vendor's words and a category
        assert result.created and settlement.line_count == 9
        assert StoredLine.objects.filter(settlement=settlement).count() == 9
        assert result.categories == {
            Category.SALES: Decimal("35.00"),
            Category.SHIPPING_INCOME: Decimal("4.99"),
            Category.TAX_COLLECTED: Decimal("2.40"),
            Category.TAX_WITHHELD: Decimal("-2.40"),
            Category.SELLER_FEES: Decimal("-3.75"),
            Category.FBA_FEES: Decimal("-3.22"),
            Category.STORAGE_FEES: Decimal("-1.50"),
            Category.UNCLASSIFIED: Decimal("-0.30"),
        }
        line = StoredLine.objects.get(settlement=settlement, line_number=2)
        assert (line.order_id, line.sku, line.quantity, line.marketplace) == (order.pk, "MUG", 1, "US")
        # and: reconciled against what ACORN expected; unknown order and unknown type are differences
        assert settlement.balanced and settlement.lines_amount == Decimal("31.22")
        assert (settlement.order_count, settlement.matched_order_count, settlement.unmatched_order_count) == (2, 1, 1)
        assert settlement.differing_order_count == 0 and settlement.unclassified_count == 1
        assert settlement.status == SettlementStatus.HAS_DIFFERENCES
        assert result.unmatched_orders == ["111-2"]
        assert result.as_json()["categories"]["sales"] == "35.00"


def test_lines_that_do_not_add_up_make_the_statement_unbalanced(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        _import(store, _lines(), total="30.00")
        settlement = Settlement.objects.get()
        assert settlement.status == SettlementStatus.UNBALANCED and not settlement.balanced


def test_an_order_that_settled_less_than_expected_is_a_difference(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        _order(store, "111-1", "27.00", shipping="4.99")
        lines = [line for line in _lines() if line.order_id == "111-1"]
        _import(store, lines, total=str(sum(line.amount for line in lines)))
        settlement = Settlement.objects.get()
        rows = selectors.settlement_order_reconciliation(settlement=settlement)
        assert [(row.order_external_id, row.expected, row.settled, row.difference) for row in rows] == [
            ("111-1", Decimal("31.99"), Decimal("29.99"), Decimal("-2.00"))
        ]
        assert settlement.differing_order_count == 1 and settlement.difference_amount == Decimal("-2.00")
        assert settlement.status == SettlementStatus.HAS_DIFFERENCES


def test_a_fully_matched_statement_is_reconciled(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        _order(store, "111-1", "25.00", shipping="4.99")
        lines = [line for line in _lines() if line.order_id == "111-1"]
        _import(store, lines, total="23.02")
        assert Settlement.objects.get().status == SettlementStatus.RECONCILED


def test_importing_the_same_statement_again_writes_nothing(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        _order(store, "111-1", "25.00", shipping="4.99")
        first = _import(store, _lines(), total="31.22")
        again = _import(store, _lines(), total="31.22")
        assert first.created and not again.created
        assert again.settlement.pk == first.settlement.pk
        assert Settlement.objects.count() == 1 and StoredLine.objects.count() == 9
        assert again.as_json()["lines"] == 9 and again.as_json()["unmatched_orders"] == ["111-2"]


def test_a_bad_line_leaves_nothing_behind(tenant: Tenant, store: Store) -> None:
    def lines() -> Iterator[SettlementLine]:
        yield from _lines()[:3]
        raise SettlementImportError("line 5: amount 'abc' is not a number", line=5, field_name="amount")

    with tenant_scope(tenant), pytest.raises(SettlementImportError, match="line 5"):
        settlement_import(
            store=store,
            kind=SettlementKind.AMAZON_SETTLEMENT,
            source=SettlementSource.UPLOAD,
            header=_header(total="1"),
            lines=lines(),
        )
    with tenant_scope(tenant):
        assert not Settlement.objects.exists() and not StoredLine.objects.exists()


@pytest.mark.parametrize(
    ("header", "field"),
    [
        (SettlementHeader("", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC), None, "USD",
                          Decimal(1)), "settlement-id"),
        (SettlementHeader("1", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC), None, "usd",
                          Decimal(1)), "currency"),
        (SettlementHeader("1", datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC), None, "USD",
                          Decimal(1)), "settlement-end-date"),
    ],
)  # fmt: skip
def test_a_bad_header_is_refused_naming_its_field(
    tenant: Tenant, store: Store, header: SettlementHeader, field: str
) -> None:
    with tenant_scope(tenant), pytest.raises(SettlementImportError) as refused:
        settlement_import(
            store=store, kind=SettlementKind.AMAZON_SETTLEMENT, source=SettlementSource.UPLOAD, header=header, lines=[]
        )
    assert refused.value.field_name == field


def test_yen_amounts_are_kept_without_a_minor_unit(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        header = SettlementHeader("JP-1", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 14, tzinfo=UTC), None,
                                  "JPY", Decimal("1980"))  # fmt: skip
        settlement_import(
            store=store,
            kind=SettlementKind.AMAZON_SETTLEMENT,
            source=SettlementSource.UPLOAD,
            header=header,
            lines=[_line(2, "Order", "ItemPrice", "Principal", "1980", marketplace_name="Amazon.co.jp")],
        )
        line = StoredLine.objects.get()
        assert line.amount == Decimal("1980") and line.marketplace == "JP"


def test_mapping_a_type_recategorises_its_lines_and_reconciles(tenant: Tenant, store: Store, owner: object) -> None:
    with tenant_scope(tenant):
        _order(store, "111-1", "25.00", shipping="4.99")
        _order(store, "111-2", "10.00")
        _import(store, _lines(), total="31.22")
        assert Settlement.objects.get().status == SettlementStatus.HAS_DIFFERENCES
        # when: the unknown fee is mapped to seller fees
        rule, changed = category_rule_set(
            tenant=tenant,
            platform="amazon",
            transaction_type="other-transaction",
            amount_type="other-transaction",
            amount_description="planetsavingfee",
            category=Category.SELLER_FEES,
            actor=owner.user,
        )
        # then
        line = StoredLine.objects.get(line_number=10)
        assert changed == 1 and (line.category, line.rule_id) == (Category.SELLER_FEES, rule.pk)
        settlement = Settlement.objects.get()
        assert settlement.unclassified_count == 0 and settlement.status == SettlementStatus.RECONCILED
        # and: a later statement with that type is categorised by the rule as it arrives
        _import(store, [_line(2, "other-transaction", "other-transaction", "PlanetSavingFee", "-1")], "-1", "2")
        assert StoredLine.objects.get(settlement__external_id="2").category == Category.SELLER_FEES
        # and: mapping it again changes nothing
        assert category_rule_set(
            tenant=tenant, platform="amazon", transaction_type="other-transaction", amount_type="other-transaction",
            amount_description="PlanetSavingFee", category=Category.SELLER_FEES, actor=None,
        )[1] == 0  # fmt: skip
        assert CategoryRule.objects.count() == 1


def test_another_tenant_sees_no_statement_and_its_rules_do_not_apply(
    tenant: Tenant, other_tenant: Tenant, store: Store
) -> None:
    with tenant_scope(other_tenant):
        CategoryRule.objects.create(
            tenant=other_tenant, platform="amazon", amount_description="PlanetSavingFee", category=Category.RESERVE
        )
    with tenant_scope(tenant):
        _import(store, _lines(), total="31.22")
        assert StoredLine.objects.get(line_number=10).category == Category.UNCLASSIFIED
        pk = Settlement.objects.get().pk
    with tenant_scope(other_tenant):
        assert selectors.settlement_get(tenant=other_tenant, pk=pk) is None
        assert not selectors.settlement_list(tenant=other_tenant).exists()


def test_an_order_whose_other_items_settle_later_is_partly_settled_not_a_difference(
    tenant: Tenant, store: Store
) -> None:
    # given an order of two items, each shipped (and so settled) on its own
    with tenant_scope(tenant):
        order = _order(store, "111-7", "40.00")
        for item, amount in (("ITEM-A", "25.00"), ("ITEM-B", "15.00")):
            order.lines.create(
                tenant=tenant, external_id=item, sku=item, quantity=1, currency="USD", item_amount=Decimal(amount)
            )
        # when the first item's settlement arrives
        first = settlement_import(
            store=store,
            kind=SettlementKind.AMAZON_SETTLEMENT,
            source=SettlementSource.UPLOAD,
            header=_header("700001", "25.00"),
            lines=[_line(2, "Order", "ItemPrice", "Principal", "25.00", "111-7", order_item_code="ITEM-A")],
        ).settlement
        # then the missing item is not a difference yet
        [row] = selectors.settlement_order_reconciliation(settlement=first)
        assert row.partly_settled and row.difference == Decimal("-15.00") and not row.differs
        assert first.status == SettlementStatus.RECONCILED and first.differing_order_count == 0
        # when the next settlement pays the second item
        second = settlement_import(
            store=store,
            kind=SettlementKind.AMAZON_SETTLEMENT,
            source=SettlementSource.UPLOAD,
            header=_header("700002", "15.00"),
            lines=[_line(2, "Order", "ItemPrice", "Principal", "15.00", "111-7", order_item_code="ITEM-B")],
        ).settlement
        [row] = selectors.settlement_order_reconciliation(settlement=second)
        assert not row.partly_settled and row.difference == 0 and second.status == SettlementStatus.RECONCILED

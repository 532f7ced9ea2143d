"""Sums of many decimal lines are exact on every database: SQLite adds decimals as floats (468 - 130 x 1.80 comes
back as 233.999999999999), which must not make a statement unbalanced or an order differ."""

from __future__ import annotations

from decimal import Decimal

import pytest

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from finance.settlements.models import SettlementStatus
from finance.settlements.selectors import settlement_category_totals, settlement_order_reconciliation
from tests.factories import StoreFactory
from tests.finance.console_data import import_statement, line, make_order

pytestmark = pytest.mark.django_db


def test_a_statement_whose_lines_add_up_is_reconciled_whatever_the_database(tenant: Tenant) -> None:
    # given: an order of 234.00 settled as 468.00 goods less 130 promotion lines of 1.80
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant)
        make_order(store, "A-1", "234.00")
        lines = [line(2, "Order", "ItemPrice", "Principal", "468.00", "A-1")]
        lines += [line(n, "Order", "Promotion", "Principal", "-1.80", "A-1") for n in range(3, 133)]
        # when
        settlement = import_statement(store, total="234.00", lines=lines)
        # then: balanced, and the order settled exactly what ACORN expected
        assert settlement.lines_amount == Decimal("234.0000")
        assert settlement.status == SettlementStatus.RECONCILED
        (row,) = settlement_order_reconciliation(settlement=settlement)
        assert (row.settled, row.in_statement, row.difference) == (Decimal(234), Decimal(234), Decimal(0))
        assert settlement_category_totals(settlement=settlement) == {"sales": Decimal(468), "promotions": Decimal(-234)}

"""Statements for the finance console tests, imported the way the product imports them (settlement_import with
the adapter's DTOs). Row values follow the settlement V2 flat file taxonomy (the team's finance notes, §1.1), as in
tests/finance/test_import.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from channels.adapters.base import SettlementHeader, SettlementLine
from channels.models import Store
from finance.settlements.models import Settlement, SettlementKind, SettlementSource
from finance.settlements.services import settlement_import
from orders.models import Order

# A statement that crosses the October/November month end.
START = datetime(2026, 10, 25, tzinfo=UTC)
END = datetime(2026, 11, 8, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 30, 12, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 3, 9, tzinfo=UTC)
UNKNOWN_FEE = "PlanetSavingFee"  # a type the default mapping does not know


def make_order(store: Store, external_id: str, items: str, shipping: str = "0", *, days_ago: int = 5) -> Order:
    """An order ACORN imported, shipped, bought `days_ago` days before now."""
    purchased = timezone.now() - timedelta(days=days_ago)
    return Order.objects.create(
        tenant=store.tenant,
        store=store,
        external_id=external_id,
        purchased_at=purchased,
        channel_updated_at=purchased,
        status="shipped",
        raw_status="Shipped",
        fulfillment_channel="fba",
        currency="USD",
        item_amount=Decimal(items),
        shipping_amount=Decimal(shipping),
        total_amount=Decimal(items) + Decimal(shipping),
    )


def line(
    n: int,
    tt: str,
    at: str,
    ad: str,
    amount: str,
    order_id: str = "",
    posted: datetime | None = OCTOBER,
    **extra: object,
) -> SettlementLine:
    return SettlementLine(
        line_number=n,
        transaction_type=tt,
        amount_type=at,
        amount_description=ad,
        amount=Decimal(amount),
        order_id=order_id,
        posted_at=posted,
        **{"marketplace_name": "Amazon.com", **extra},
    )


def statement_lines(unknown_description: str = UNKNOWN_FEE) -> list[SettlementLine]:
    """Order 111-1 (known, settles 25 + 4.99 as expected), 111-2 (unknown to ACORN, November), a storage fee
    and one fee nobody maps. Sum: 31.22."""
    return [
        line(2, "Order", "ItemPrice", "Principal", "25.00", "111-1", sku="MUG", quantity=1),
        line(3, "Order", "ItemPrice", "Shipping", "4.99", "111-1"),
        line(4, "Order", "ItemPrice", "Tax", "2.40", "111-1"),
        line(5, "Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", "-2.40", "111-1"),
        line(6, "Order", "ItemFees", "Commission", "-3.75", "111-1", sku="MUG"),
        line(7, "Order", "ItemFees", "FBAPerUnitFulfillmentFee", "-3.22", "111-1", sku="MUG"),
        line(8, "Order", "ItemPrice", "Principal", "10.00", "111-2", posted=NOVEMBER, sku="CUP", quantity=2),
        line(9, "other-transaction", "other-transaction", "Storage Fee", "-1.50", posted=NOVEMBER),
        line(10, "other-transaction", "other-transaction", unknown_description, "-0.30", posted=None),
    ]


def import_statement(
    store: Store,
    *,
    settlement_id: str = "12948507001",
    total: str = "31.22",
    lines: list[SettlementLine] | None = None,
    currency: str = "USD",
    start: datetime = START,
    end: datetime = END,
) -> Settlement:
    header = SettlementHeader(
        settlement_id=settlement_id,
        start=start,
        end=end,
        deposit_date=end + timedelta(days=2),
        currency=currency,
        total_amount=Decimal(total),
    )
    return settlement_import(
        store=store,
        kind=SettlementKind.AMAZON_SETTLEMENT,
        source=SettlementSource.UPLOAD,
        header=header,
        lines=iter(statement_lines() if lines is None else lines),
        source_reference="settlement.tsv",
    ).settlement

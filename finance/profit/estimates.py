"""Fees a channel reports for an order before its statement: Amazon Finances 2024-06-19 transactions of an
order's shipment carry the fees by breakdown ("Commission", "FBA Fulfillment Fee", …). They are the order's
"estimated" fees in the P&L until a settlement holds the order. Read by the deferred-money job, which lists
every transaction of the window (finance.settlements.deferred)."""

from __future__ import annotations

from collections.abc import Sequence

from acorn.money import quantize_amount
from channels.adapters.base import FinancialTransaction
from channels.models import Store
from finance.profit.models import OrderFeeEstimate
from finance.profit.triggers import profit_due
from orders.models import Order

# Transaction types that carry a sale's fees (the vendor's sample: "Shipment"); refunds come from the refunds
# ingest, account-level fees from the statement.
SALE_TRANSACTION_TYPES = frozenset({"shipment", "order"})


def fee_component(breakdown: str) -> str:
    """The P&L component of one fee breakdown name, or "" when it is not a fee (charges, tax, promotions)."""
    name = breakdown.lower()
    if "tax" in name:
        return ""
    if "fba" in name or "fulfil" in name or "fulfill" in name or "pick" in name or "weight" in name:
        return "fba_fees"
    if "commission" in name or "referral" in name or "closing" in name:
        return "referral_fees"
    if "fee" in name:
        return "other_fees"
    return ""


def order_fee_estimates_record(*, store: Store, transactions: Sequence[FinancialTransaction]) -> int:
    """Keep the fees of these transactions (sale transactions of an order; others are left out), replacing
    what an earlier read of the same transaction recorded; the orders' P&L is refreshed after commit.
    Returns the fees written."""
    rows: list[OrderFeeEstimate] = []
    seen: list[str] = []
    external_ids: set[str] = set()
    for transaction in transactions:
        if not transaction.order_id or transaction.transaction_type.lower() not in SALE_TRANSACTION_TYPES:
            continue
        if transaction.external_id in seen:  # the same transaction twice in a page: once
            continue
        seen.append(transaction.external_id)
        external_ids.add(transaction.order_id)
        for name, amount in transaction.components:
            component = fee_component(name)
            if component and amount:
                rows.append(
                    OrderFeeEstimate(
                        tenant_id=store.tenant_id,
                        store=store,
                        order_external_id=transaction.order_id[:100],
                        transaction_id=transaction.external_id[:200],
                        component=name[:100],
                        profit_component=component,
                        currency=transaction.currency,
                        amount=quantize_amount(amount, transaction.currency),
                        posted_at=transaction.posted_at,
                    )
                )
    if not seen:
        return 0
    orders = dict(Order.objects.filter(store=store, external_id__in=external_ids).values_list("external_id", "pk"))
    merged: dict[tuple[str, str], OrderFeeEstimate] = {}
    for row in rows:
        row.order_id = orders.get(row.order_external_id)
        key = (row.transaction_id, row.component)
        if key in merged:  # the same fee on several items of one transaction: one row per fee
            merged[key].amount += row.amount
        else:
            merged[key] = row
    OrderFeeEstimate.objects.filter(store=store, transaction_id__in=seen).delete()
    OrderFeeEstimate.objects.bulk_create(merged.values())
    profit_due(tenant_id=store.tenant_id, order_ids=orders.values())
    return len(merged)

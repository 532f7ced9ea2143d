"""Reconciliation of a statement: do its lines add up, and did each order settle what ACORN expected?

- The lines must sum to the statement's total, else it is `unbalanced` (shown, never silently fixed).
- Every line naming an order is matched to ACORN's order; orders ACORN never imported are counted and listed.
- Per matched order: what ACORN expected (goods and shipping net of discounts) against what every statement
  of the store has settled for it so far (an order shipped in two parts settles in two statements).
- Lines no mapping knows (`unclassified`) are differences too until someone maps their type.

Status: unbalanced > has differences > reconciled.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from acorn.money import quantize_amount
from finance.settlements.models import Category, Settlement, SettlementLine, SettlementStatus
from finance.settlements.selectors import settlement_order_reconciliation

ZERO = Decimal(0)
CHUNK = 2000


def settlement_reconcile(*, settlement: Settlement) -> Settlement:
    """Recompute the statement's sums, order matches, differences and status; saves them."""
    lines = SettlementLine.objects.filter(settlement=settlement)
    totals = lines.aggregate(total=Sum("amount"), count=Count("pk"))
    # Lines are stored in the currency's minor unit; SQLite sums decimals as floats (1e-10 off over many lines),
    # so the sum is brought back to that unit before it is compared with the total.
    settlement.lines_amount = quantize_amount(totals["total"] or ZERO, settlement.currency)
    settlement.line_count = totals["count"] or 0
    settlement.unclassified_count = lines.filter(category=Category.UNCLASSIFIED).count()
    order_ids = list(
        lines.exclude(order_external_id="").values_list("order_external_id", flat=True).distinct().order_by()
    )
    matched = set(
        lines.exclude(order_external_id="")
        .filter(order__isnull=False)
        .values_list("order_external_id", flat=True)
        .distinct()
        .order_by()
    )
    differing, difference = 0, ZERO
    for start in range(0, len(order_ids), CHUNK):
        chunk = order_ids[start : start + CHUNK]
        for row in settlement_order_reconciliation(settlement=settlement, order_external_ids=chunk):
            if row.differs and row.difference is not None:
                differing += 1
                difference += row.difference
    settlement.order_count = len(order_ids)
    settlement.matched_order_count = len(matched)
    settlement.unmatched_order_count = len(order_ids) - len(matched)
    settlement.differing_order_count = differing
    settlement.difference_amount = difference
    if settlement.lines_amount != settlement.total_amount:
        settlement.status = SettlementStatus.UNBALANCED
    elif differing or settlement.unmatched_order_count or settlement.unclassified_count:
        settlement.status = SettlementStatus.HAS_DIFFERENCES
    else:
        settlement.status = SettlementStatus.RECONCILED
    settlement.reconciled_at = timezone.now()
    settlement.save(
        update_fields=[
            "lines_amount",
            "line_count",
            "unclassified_count",
            "order_count",
            "matched_order_count",
            "unmatched_order_count",
            "differing_order_count",
            "difference_amount",
            "status",
            "reconciled_at",
        ]
    )
    return settlement

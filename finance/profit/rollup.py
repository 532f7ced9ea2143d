"""Keeps the P&L current: facts (finance.profit.models.ProfitFact) recomputed for what changed, and the daily
rollup (ProfitDaily) re-summed for the store-days they touch."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from acorn.tenancy.models import Tenant


def profit_refresh(
    *,
    tenant: Tenant,
    order_ids: Iterable[int] = (),
    refund_ids: Iterable[int] = (),
    other_cost_ids: Iterable[int] = (),
    product_ids: Iterable[int] = (),
    since: datetime | None = None,
) -> int:
    """Recompute the facts of these orders, refunds and costs of no order, and of every sale and refund of
    these products since `since` (a cost changed); then the rollup of the days they touch. Returns facts
    written."""
    raise NotImplementedError

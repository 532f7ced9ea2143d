"""Orders keep their lines' stock state in step with inventory's allocations (inventory tells, orders listen)."""

from __future__ import annotations

from typing import Any

from inventory.models import AllocationState
from inventory.services import LINE_REF_PREFIX
from orders.fulfilment import fulfilment_queue_order_id
from orders.models import Order, OrderLine, StockProblem


def _order_stock_problem(order_id: int) -> str:
    states = set(OrderLine.objects.filter(order_id=order_id).values_list("stock_state", flat=True))
    if AllocationState.UNMAPPED in states:
        return StockProblem.UNMAPPED
    if AllocationState.BACKORDERED in states:
        return StockProblem.BACKORDERED
    return ""


def on_allocation_changed(sender: Any, *, tenant_id: int, line_ref: str, state: str, **kwargs: Any) -> None:
    if not line_ref.startswith(LINE_REF_PREFIX):
        return
    line_id = int(line_ref.removeprefix(LINE_REF_PREFIX))
    found = (
        OrderLine.objects.filter(tenant_id=tenant_id, pk=line_id)
        .values_list("order_id", "order__stock_problem")
        .first()
    )
    if found is None:
        return
    order_id, before = found
    OrderLine.objects.filter(pk=line_id).update(stock_state=state)
    problem = _order_stock_problem(order_id)
    if problem != before:
        Order.objects.filter(pk=order_id).update(stock_problem=problem)
        # A waiting order became whole (a mapping or stock arrived): it may go to its warehouse now. Orders
        # stored whole are queued by the ingest itself.
        if problem == "":
            fulfilment_queue_order_id(tenant_id=tenant_id, order_id=order_id)

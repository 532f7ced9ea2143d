"""When the P&L must be recomputed: what changed is gathered per transaction and one `finance.refresh_profit`
task is sent per tenant and kind after commit (acorn.transactions.on_commit_gathered), never inside the
transaction and never for a rollback. Orders, refunds and statements call in here; costs enqueue directly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from acorn.tasks import enqueue_now, task_named
from acorn.transactions import on_commit_gathered
from channels.models import Store
from orders.models import Order

TASK = "finance.refresh_profit"


def _send(tenant_id: int, argument: str, ids: list[int]) -> None:
    arguments: dict[str, Any] = {"tenant_id": tenant_id, argument: ids}
    enqueue_now("finance.refresh_profit", **arguments)


def profit_due(
    *,
    tenant_id: int,
    order_ids: Iterable[int] = (),
    refund_ids: Iterable[int] = (),
    settlement_ids: Iterable[int] = (),
) -> None:
    """These orders, refunds or statements changed: refresh their P&L once the transaction commits."""
    task_named("finance.refresh_profit")  # an unknown name fails here, in the caller's transaction
    for argument, ids in (("order_ids", order_ids), ("refund_ids", refund_ids), ("settlement_ids", settlement_ids)):
        wanted = {pk for pk in ids if pk}
        if wanted:
            on_commit_gathered(key=(TASK, tenant_id, argument), ids=wanted, run=partial(_send, tenant_id, argument))


def on_orders_upserted(*, store: Store, external_ids: Sequence[str], updated_external_ids: Sequence[str]) -> None:
    """orders.hooks listener: new and changed orders of a page."""
    wanted = [*external_ids, *updated_external_ids]
    if wanted:
        ids = Order.objects.filter(store=store, external_id__in=wanted).values_list("pk", flat=True)
        profit_due(tenant_id=store.tenant_id, order_ids=list(ids))


def on_refunds_money_changed(*, tenant_id: int, refund_ids: Sequence[int]) -> None:
    """refunds.listeners listener: refunds arrived, succeeded or had a return decided."""
    profit_due(tenant_id=tenant_id, refund_ids=refund_ids)

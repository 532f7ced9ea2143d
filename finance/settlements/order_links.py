"""Statements read before their orders: when orders arrive later (the settlements and orders syncs run
independently, and a first sync may import a settlement before its orders), the statement lines and the
deferred transactions naming them are linked then, and the touched statements reconciled again.

Registered with orders' explicit registry (orders.hooks) from finance's AppConfig.ready(); runs inside the
orders ingest's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import OuterRef, Subquery

from channels.models import Store
from finance.settlements.models import DeferredTransaction, Settlement, SettlementLine
from finance.settlements.reconciliation import settlement_reconcile
from orders.models import Order


def settlement_lines_link_orders(
    *, store: Store, external_ids: Sequence[str], updated_external_ids: Sequence[str]
) -> None:
    """Link the store's unlinked statement lines and deferred transactions that name the new orders; reconcile
    each statement that gained a link. Writes nothing when no statement names them."""
    if not external_ids:
        return
    matching = Order.objects.filter(store_id=store.pk, external_id=OuterRef("order_external_id"))
    lines = SettlementLine.objects.filter(
        settlement__store=store, order__isnull=True, order_external_id__in=list(external_ids)
    )
    touched = set(lines.values_list("settlement_id", flat=True).distinct().order_by())
    if touched:
        lines.update(order=Subquery(matching.values("pk")[:1]))
        for settlement in Settlement.objects.filter(pk__in=touched).order_by("pk"):
            settlement_reconcile(settlement=settlement)
    DeferredTransaction.objects.filter(
        store=store, order__isnull=True, order_external_id__in=list(external_ids)
    ).update(order=Subquery(matching.values("pk")[:1]))

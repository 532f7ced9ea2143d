"""What refunds does when the apps below it report something (registered in RefundsConfig.ready())."""

from __future__ import annotations

from collections.abc import Sequence

from channels.models import Store
from refunds.ingest import link_waiting_for_orders
from refunds.rates import rollup_add_new_orders, rollup_refresh_for_orders


def on_orders_upserted(*, store: Store, external_ids: Sequence[str], updated_external_ids: Sequence[str]) -> None:
    """New orders arrived: link the refunds and returns that were waiting for them (same transaction); then
    the refund-rate rollup follows: new orders add their units sold to their purchase days (a backfill page
    never recounts whole days), while the purchase days of changed orders — and of new orders that refunds
    were waiting for — are recounted."""
    linked: set[str] = set()
    if external_ids:
        linked = link_waiting_for_orders(store=store, external_ids=external_ids)
    rollup_add_new_orders(
        store=store, external_ids=[external_id for external_id in external_ids if external_id not in linked]
    )
    rollup_refresh_for_orders(store=store, external_ids=[*linked, *updated_external_ids])

"""What refunds does when the apps below it report something (registered in RefundsConfig.ready())."""

from __future__ import annotations

from collections.abc import Sequence

from channels.models import Store
from refunds.ingest import link_waiting_for_orders
from refunds.rates import rollup_refresh_for_orders


def on_orders_upserted(*, store: Store, external_ids: Sequence[str], updated_external_ids: Sequence[str]) -> None:
    """New orders arrived: link the refunds and returns that were waiting for them (same transaction); then
    the refund-rate rollup recounts the purchase days of the new and changed orders."""
    if external_ids:
        link_waiting_for_orders(store=store, external_ids=external_ids)
    rollup_refresh_for_orders(store=store, external_ids=[*external_ids, *updated_external_ids])

"""What follows a stock change, once the transaction commits: the channel quantities (sharing) and the
low-stock alert. One callback per transaction and tenant, whatever the number of movements in it, so an
ingest page of a hundred lines recomputes once, not a hundred times."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django_scopes import scope

from acorn.transactions import on_commit_gathered
from inventory.low_stock import low_stock_check
from inventory.sharing import listings_follow_stock


def stock_changed(*, tenant_id: int, product_ids: Iterable[int]) -> None:
    """Stock of these products moved (inside the caller's transaction). Never raises into the caller."""
    ids = set(product_ids)
    if not ids:
        return
    on_commit_gathered(key=("inventory.stock_changed", tenant_id), ids=ids, run=partial(_follow_stock, tenant_id))


def _follow_stock(tenant_id: int, product_ids: list[int]) -> None:
    with scope(tenant=tenant_id):
        listings_follow_stock(tenant_id=tenant_id, product_ids=product_ids)
        low_stock_check(tenant_id=tenant_id, product_ids=product_ids)

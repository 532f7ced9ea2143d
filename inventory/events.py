"""What follows a stock change, once the transaction commits: the channel quantities (sharing) and the
low-stock alert. One callback per transaction and tenant, whatever the number of movements in it, so an
ingest page of a hundred lines recomputes once, not a hundred times."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django_scopes import scope

from inventory.low_stock import low_stock_check
from inventory.sharing import listings_follow_stock


class _AfterStockChange:
    """The on-commit callback of one transaction: the products it moved, collected as they move."""

    def __init__(self, tenant_id: int) -> None:
        self.tenant_id = tenant_id
        self.product_ids: set[int] = set()
        self.ran = False

    def __call__(self) -> None:
        self.ran = True
        ids = sorted(self.product_ids)
        with scope(tenant=self.tenant_id):
            listings_follow_stock(tenant_id=self.tenant_id, product_ids=ids)
            low_stock_check(tenant_id=self.tenant_id, product_ids=ids)


def stock_changed(*, tenant_id: int, product_ids: Iterable[int]) -> None:
    """Stock of these products moved (inside the caller's transaction). Never raises into the caller."""
    ids = set(product_ids)
    if not ids:
        return
    connection = transaction.get_connection()
    # A callback already waiting for this transaction takes the ids. After a rollback Django has dropped
    # the callbacks, so a stale one is never found here.
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _AfterStockChange) and callback.tenant_id == tenant_id and not callback.ran:
            callback.product_ids |= ids
            return
    pending = _AfterStockChange(tenant_id)
    pending.product_ids |= ids
    transaction.on_commit(pending, robust=True)

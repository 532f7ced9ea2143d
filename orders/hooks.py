"""What orders tells the apps above it (refunds), without importing them: explicit registries that those
apps fill in their AppConfig.ready() (DESIGN.md; never Django signals for domain logic).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from channels.models import Store


class OrdersUpsertedListener(Protocol):
    def __call__(self, *, store: Store, external_ids: Sequence[str], updated_external_ids: Sequence[str]) -> None: ...


_ORDERS_UPSERTED_LISTENERS: list[OrdersUpsertedListener] = []


def register_orders_upserted_listener(listener: OrdersUpsertedListener) -> None:
    """Call `listener` whenever a page of a store's orders was stored. Registering the same listener again
    changes nothing (AppConfig.ready() may run more than once in tests)."""
    if listener not in _ORDERS_UPSERTED_LISTENERS:
        _ORDERS_UPSERTED_LISTENERS.append(listener)


def orders_upserted(*, store: Store, external_ids: Sequence[str], updated_external_ids: Sequence[str]) -> None:
    """New (`external_ids`) or changed (`updated_external_ids`) orders of `store` were stored: every listener
    runs now, inside the ingest's transaction, in the order they registered; an exception propagates and
    rolls the page back."""
    for listener in _ORDERS_UPSERTED_LISTENERS:
        listener(store=store, external_ids=external_ids, updated_external_ids=updated_external_ids)

"""What orders tells the apps above it (refunds), without importing them: explicit registries that those
apps fill in their AppConfig.ready() (DESIGN.md; never Django signals for domain logic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from django.http import HttpRequest

    from channels.models import Store
    from orders.models import Order


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


# (request, order) -> (template, context) or None; the request is the console's (a TenantRequest).
OrderDetailSection = Callable[[Any, "Order"], "tuple[str, dict[str, Any]] | None"]


_ORDER_DETAIL_SECTIONS: list[OrderDetailSection] = []


def register_order_detail_section(provider: OrderDetailSection) -> None:
    """Show a section on the order page: `provider(request, order)` returns (template, context) or None (nothing
    to show, or the member may not see it). Registering the same provider again changes nothing."""
    if provider not in _ORDER_DETAIL_SECTIONS:
        _ORDER_DETAIL_SECTIONS.append(provider)


def order_detail_sections(request: HttpRequest, order: Order) -> list[dict[str, Any]]:
    """The sections the apps above show on this order's page, in the order they registered."""
    sections = []
    for provider in _ORDER_DETAIL_SECTIONS:
        found = provider(request, order)
        if found is not None:
            sections.append({"template": found[0], "context": found[1]})
    return sections

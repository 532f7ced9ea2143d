"""What orders keeps for a store, and how it goes when the store is deleted (channels.services_lifecycle).
Refunds and returns go first (they protect orders); the stock the orders held is released by inventory's
part before the orders go."""

from __future__ import annotations

from django.utils.translation import gettext as _

from channels.models import Store
from channels.services_lifecycle import StoreData
from orders.models import FulfillmentRequest, FulfillmentState, Order


def _count(store: Store) -> dict[str, int]:
    return {"orders": Order.objects.filter(store=store).count()}


def _blocker(store: Store) -> str:
    at_warehouse = FulfillmentRequest.objects.filter(
        order__store=store, state__in=[FulfillmentState.SENT, FulfillmentState.CANCEL_PENDING]
    ).count()
    if not at_warehouse:
        return ""
    return _("%(count)d order(s) of this store are with a warehouse; cancel them there or wait until they ship.") % {
        "count": at_warehouse
    }


def _remove(store: Store) -> dict[str, int]:
    """The orders with their lines, shipments, status history and fulfilment requests."""
    orders = Order.objects.filter(store=store).count()
    Order.objects.filter(store=store).delete()
    return {"orders": orders}


ORDERS_STORE_DATA = StoreData(key="orders", position=30, count=_count, remove=_remove, blocker=_blocker)

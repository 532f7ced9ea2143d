"""What inventory keeps for a store, and how it goes when the store is deleted (channels.services_lifecycle).

Stock stays consistent with its ledger: units reserved for the store's open orders are released and its
FBA stock is taken out of the FBA warehouse, each by a movement (the ledger keeps every past movement).
The SKU mappings, channel listings, sharing rule and line allocations go with the store itself."""

from __future__ import annotations

from django.utils.translation import gettext as _

from channels.models import Store
from channels.services_lifecycle import StoreData
from inventory.fba import fba_contributions_withdraw
from inventory.ledger import stock_move
from inventory.models import AllocationState, LineAllocation, MovementKind, Reservation, SkuMapping


def _count(store: Store) -> dict[str, int]:
    return {
        "sku_mappings": SkuMapping.objects.filter(store=store).count(),
        "reservations": Reservation.objects.filter(allocation__store=store).count(),
    }


def _remove(store: Store) -> dict[str, int]:
    released = 0
    holding = Reservation.objects.filter(allocation__store=store).values("allocation_id")
    allocations = LineAllocation.objects.filter(pk__in=holding).order_by("pk")  # locked in pk order
    for allocation in allocations.select_for_update(of=("self",)):
        for reservation in allocation.reservations.select_related("product", "warehouse").order_by("pk"):
            stock_move(
                product=reservation.product,
                warehouse=reservation.warehouse,
                kind=MovementKind.RELEASE,
                reserved_delta=-reservation.quantity,
                reference=allocation.reference,
                reason=_("Store “%(store)s” deleted") % {"store": store.name},
            )
            released += 1
        allocation.reservations.all().delete()
        LineAllocation.objects.filter(pk=allocation.pk).update(state=AllocationState.RELEASED)
    return {
        "sku_mappings": SkuMapping.objects.filter(store=store).count(),
        "reservations": released,
        "fba_stock_records": fba_contributions_withdraw(store=store),
    }


INVENTORY_STORE_DATA = StoreData(key="inventory", position=20, count=_count, remove=_remove)

"""What finance keeps for a store, and how it goes when the store is deleted (channels.services_lifecycle)."""

from __future__ import annotations

from channels.models import Store
from channels.services_lifecycle import StoreData
from finance.settlements.models import DeferredTransaction, Settlement, SettlementLine


def _count(store: Store) -> dict[str, int]:
    return {"settlements": Settlement.objects.filter(store=store).count()}


def _remove(store: Store) -> dict[str, int]:
    """Statements first: their lines point at the store's orders and refunds."""
    settlements = Settlement.objects.filter(store=store)
    count = settlements.count()
    SettlementLine.objects.filter(settlement__store=store).delete()
    settlements.delete()
    DeferredTransaction.objects.filter(store=store).delete()
    return {"settlements": count}


FINANCE_STORE_DATA = StoreData(key="finance", position=5, count=_count, remove=_remove)

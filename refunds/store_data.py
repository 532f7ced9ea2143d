"""What refunds keeps for a store, and how it goes when the store is deleted (channels.services_lifecycle)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from channels.models import Store
from channels.services_lifecycle import StoreData
from refunds.models import Refund, RefundStatus, Return


def _count(store: Store) -> dict[str, int]:
    return {
        "refunds": Refund.objects.filter(store=store).count(),
        "returns": Return.objects.filter(store=store).count(),
    }


def _blocker(store: Store) -> str:
    executing = Refund.objects.filter(store=store, status=RefundStatus.EXECUTING).count()
    if not executing:
        return ""
    return _("%(count)d refund(s) of this store are being executed on the channel; wait until they finish.") % {
        "count": executing
    }


def _remove(store: Store) -> dict[str, int]:
    """Returns first (they may point at refunds), then refunds with their lines and approvals."""
    returns, _by_model = Return.objects.filter(store=store).delete()
    refunds = Refund.objects.filter(store=store).count()
    Refund.objects.filter(store=store).delete()
    return {"refunds": refunds, "returns": returns}


REFUNDS_STORE_DATA = StoreData(key="refunds", position=10, count=_count, remove=_remove, blocker=_blocker)

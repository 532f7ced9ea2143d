"""Row locks on tenancy rows, taken in one way everywhere (STYLE §1 `locks.py`)."""

from __future__ import annotations

from django.db.models import QuerySet

from acorn.tenancy.models import Tenant


def tenant_qs_select_for_update() -> QuerySet[Tenant]:
    """Tenants locked in primary-key order (only the tenant rows, never what a query joins)."""
    return Tenant.objects.order_by("pk").select_for_update(of=("self",))


def tenant_lock(tenant: Tenant) -> Tenant:
    """Lock the tenant's row until the transaction ends and return it fresh, so that checks against the
    plan's limits (seats, stores) for one tenant run one after another. Call inside a transaction."""
    return tenant_qs_select_for_update().get(pk=tenant.pk)

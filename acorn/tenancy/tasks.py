"""The tenant-aware Celery task base, and the tenancy housekeeping task.

A tenant task is called with ``tenant_id=<int>`` (keyword) and runs inside that tenant's scope, so its
queries see only that tenant's rows. The scope lives in a context variable that does not cross the
broker; re-entering it here is what makes a forgotten filter in a task fail loudly instead of leaking.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from acorn import logcontext
from acorn.dates import tenant_time_zone
from acorn.tenancy.models import Tenant
from acorn.tenancy.retention import retention_apply, tenants_due_for_deletion
from acorn.tenancy.scoping import tenant_scope
from acorn.tenancy.services import invitations_expire_all, tenant_closure_complete

logger = logging.getLogger(__name__)


class TenantTaskError(TypeError):
    """A tenant task was called without a usable tenant_id."""


class TenantTask(Task):
    """Base for every task that touches tenant-owned rows."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tenant_id = kwargs.get("tenant_id")
        if not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
            raise TenantTaskError(f"{self.name} must be called with tenant_id=<int>, got {tenant_id!r}.")
        tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
        if tenant is None:
            # Deleted or deactivated since the task was queued: nothing to do, and nothing to retry.
            logger.info("tenant_missing", extra={"tenant_id": tenant_id, "task": self.name})
            return None
        # The trace id came with the task's headers (acorn/celery.py); the tenant is known from here on. Its time
        # zone too, as in the console: a date filter or an email's date means the same day in both.
        with logcontext.bound(tenant_id=tenant.pk), tenant_scope(tenant), tenant_time_zone(tenant.time_zone):
            return super().__call__(*args, **kwargs)


@shared_task(name="tenancy.expire_invitations", acks_late=True)
def expire_invitations_task() -> int:
    """Mark invitations past their expiry date as expired. Safe to run twice."""
    return invitations_expire_all()


@shared_task(name="tenancy.dispatch_retention", acks_late=True)
def dispatch_retention_task() -> dict[str, int]:
    """Beat, nightly: one retention task per active tenant, one deletion task per closed tenant past its
    grace period. Returns how many of each were queued."""
    active = list(Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    closed = list(tenants_due_for_deletion().values_list("pk", flat=True))
    for tenant_id in active:
        apply_retention_task.delay(tenant_id=tenant_id)
    for tenant_id in closed:
        delete_closed_tenant_task.delay(tenant_id=tenant_id)
    return {"tenants": len(active), "closed": len(closed)}


@shared_task(name="tenancy.apply_retention", base=TenantTask, bind=True, acks_late=True)
def apply_retention_task(self: TenantTask, *, tenant_id: int) -> int:
    """Delete or anonymise what is past one tenant's retention. Safe to run twice. Returns rows handled."""
    return retention_apply(tenant=Tenant.objects.get(pk=tenant_id)).total_rows


@shared_task(name="tenancy.delete_closed_tenant", acks_late=True)
def delete_closed_tenant_task(*, tenant_id: int) -> int:
    """Delete a closed tenant's data once its grace period is over (not a TenantTask: the tenant is
    inactive). Safe to run twice. Returns rows deleted."""
    tenant = tenants_due_for_deletion().filter(pk=tenant_id).first()
    if tenant is None:
        return 0
    with logcontext.bound(tenant_id=tenant.pk):
        return sum(tenant_closure_complete(tenant=tenant).values())

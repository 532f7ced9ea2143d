"""Account closure: only the owner closes, the console closes at once, the owner may reopen within the grace
period, and after it the nightly job deletes the tenant's data (and nobody else's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from acorn.audit.models import AuditEvent
from acorn.tenancy import services
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from acorn.tenancy.tasks import dispatch_retention_task
from channels.models import Store, SyncRun
from tests.factories import StoreFactory, SyncRunFactory
from tests.tenancy.test_retention import OLD, _order, _seed

pytestmark = pytest.mark.django_db

CLOSED_AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _close(tenant: Tenant, owner: Membership) -> Tenant:
    return services.tenant_close(tenant=tenant, actor=owner.user, membership=owner, confirm_name=tenant.name)


def _rows(tenant: Tenant) -> dict[str, int]:
    with dangerously_unscoped():
        from orders.models import Order

        return {
            "orders": Order.objects.filter(tenant=tenant).count(),
            "stores": Store.objects.filter(tenant=tenant).count(),
            "runs": SyncRun.objects.filter(tenant=tenant).count(),
            "members": Membership.objects.filter(tenant=tenant).count(),
        }


@pytest.mark.parametrize("role", [Role.ADMIN, Role.FINANCE, Role.OPERATOR])
def test_only_the_owner_can_close_the_account(
    tenant: Tenant, owner: Membership, make_member: Callable[..., Membership], client_for: Any, role: str
) -> None:
    member = make_member(tenant, role)
    with pytest.raises(PermissionDenied):
        services.tenant_close(tenant=tenant, actor=member.user, membership=member, confirm_name=tenant.name)
    response = client_for(member).post(reverse("tenancy:tenant-close"), {"confirm_name": tenant.name})
    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.is_active and tenant.closed_at is None


def test_the_wrong_company_name_is_refused_with_a_message(tenant: Tenant, owner_client: Client) -> None:
    response = owner_client.post(reverse("tenancy:tenant-close"), {"confirm_name": "Alpha"})
    assert response.status_code == 400
    assert "Type the company name exactly as shown" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.is_active


def test_closing_locks_everyone_out_at_once_and_emails_the_owner(
    tenant: Tenant,
    owner: Membership,
    make_member: Callable[..., Membership],
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given an owner and an operator signed in
    operator_client = client_for(make_member(tenant, Role.OPERATOR))
    owner_client = client_for(owner)
    assert operator_client.get(reverse("console:dashboard")).status_code == 200
    # when the owner closes the account from the settings
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("tenancy:tenant-close"), {"confirm_name": tenant.name})
    # then the tenant is inactive, nobody enters its console, the owner is told by email
    assert response.status_code == 302 and response["Location"] == reverse("console:tenant-reopen")
    tenant.refresh_from_db()
    assert not tenant.is_active and tenant.closed_at is not None
    assert operator_client.get(reverse("console:dashboard"))["Location"] == reverse("console:no-tenant")
    assert owner_client.get(reverse("orders:order-list")).status_code == 302
    assert [message.to for message in mail.outbox] == [[owner.user.email]]
    assert "closed" in mail.outbox[0].subject
    with tenant_scope(tenant):
        assert AuditEvent.objects.filter(action="tenant.closed", actor=owner.user).count() == 1
    # and no sync is dispatched for its stores
    with tenant_scope(tenant):
        StoreFactory(tenant=tenant)
    from channels.tasks import dispatch_due_syncs_task

    assert not dispatch_due_syncs_task()


def test_the_owner_reopens_within_the_grace_period(
    tenant: Tenant, owner: Membership, make_member: Callable[..., Membership], client_for: Any
) -> None:
    # given a closed account
    operator = make_member(tenant, Role.OPERATOR)
    with time_machine.travel(CLOSED_AT, tick=False):
        _close(tenant, owner)
    # when, 29 days later, the operator tries and then the owner reopens it
    with time_machine.travel(CLOSED_AT + timedelta(days=29), tick=False):
        with pytest.raises(PermissionDenied):
            services.tenant_reopen(tenant_pk=tenant.pk, actor=operator.user)
        client = client_for(owner)
        page = client.get(reverse("console:tenant-reopen")).content.decode()
        assert tenant.name in page and "2026-07-01" in page
        response = client.post(reverse("console:tenant-reopen"), {"tenant_id": tenant.pk})
        # then it is active again and the console opens
        assert response.status_code == 302 and response["Location"] == reverse("console:dashboard")
        assert client.get(reverse("console:dashboard")).status_code == 200
    tenant.refresh_from_db()
    assert tenant.is_active and tenant.closed_at is None
    with tenant_scope(tenant):
        assert AuditEvent.objects.filter(action="tenant.reopened").count() == 1


def test_after_the_grace_period_the_data_is_gone_and_other_tenants_untouched(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: Membership,
    other_owner: Membership,
    enqueued: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given two tenants with data, the first closed
    with time_machine.travel(CLOSED_AT, tick=False):
        _seed(tenant, "A")
        _seed(other_tenant, "B")
        with tenant_scope(tenant):
            SyncRunFactory(store=Store.objects.filter(tenant=tenant).first())
        _close(tenant, owner)
    other_before = _rows(other_tenant)
    # when the nightly job runs one day before the end of the grace period: nothing goes
    with time_machine.travel(CLOSED_AT + timedelta(days=29), tick=False):
        assert dispatch_retention_task()["closed"] == 0
    enqueued.clear()
    assert _rows(tenant)["orders"] > 0
    # and when it runs after the grace period
    mail.outbox.clear()
    with time_machine.travel(CLOSED_AT + timedelta(days=30, hours=1), tick=False):
        assert dispatch_retention_task() == {"tenants": 1, "closed": 1}
        with django_capture_on_commit_callbacks(execute=True):
            enqueued.run_all()
        # the owner cannot reopen any more
        with pytest.raises(PermissionDenied):
            services.tenant_reopen(tenant_pk=tenant.pk, actor=owner.user)
    # then every row of the tenant is gone, the tenant row stays as a tombstone with its append-only audit trail
    assert _rows(tenant) == {"orders": 0, "stores": 0, "runs": 0, "members": 0}
    tenant.refresh_from_db()
    assert tenant.data_deleted_at is not None and not tenant.is_active and tenant.contact_name == ""
    with dangerously_unscoped():
        actions = list(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
        assert actions[0] == "tenant.data_deleted" and "tenant.closed" in actions
    assert [message.to for message in mail.outbox] == [[owner.user.email]]
    # and the other tenant has all of its data (only what its own plan retention removes)
    assert _rows(other_tenant)["stores"] == other_before["stores"]
    assert _rows(other_tenant)["members"] == other_before["members"]
    with tenant_scope(other_tenant):
        assert Store.objects.get().tenant_id == other_tenant.pk
    # and running again does nothing
    with time_machine.travel(CLOSED_AT + timedelta(days=31), tick=False):
        assert dispatch_retention_task()["closed"] == 0
        assert services.tenant_closure_complete(tenant=tenant) == {}


def test_the_close_page_is_the_owners_own_company(tenant: Tenant, other_owner: Membership, client_for: Any) -> None:
    # the other tenant's owner typing this tenant's name closes nothing here: the page acts on their own company
    response = client_for(other_owner).post(reverse("tenancy:tenant-close"), {"confirm_name": tenant.name})
    assert response.status_code == 400
    tenant.refresh_from_db()
    assert tenant.is_active


def test_an_order_kept_open_on_a_closed_tenant_still_goes_after_grace(tenant: Tenant, owner: Membership) -> None:
    # closure deletes everything, open items included (the account is gone)
    with time_machine.travel(CLOSED_AT, tick=False):
        with tenant_scope(tenant):
            _order(StoreFactory(tenant=tenant), "OPEN", at=OLD, status="paid_unshipped")
        _close(tenant, owner)
    with time_machine.travel(CLOSED_AT + timedelta(days=31), tick=False):
        deleted = services.tenant_closure_complete(tenant=tenant)
    assert deleted["orders.Order"] == 1 and deleted["inventory.LineAllocation"] == 1
    assert _rows(tenant)["orders"] == 0

"""The tenant-aware task base, and a real worker running a tenant task through the real broker."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction
from django_scopes import ScopeError

from acorn.celery import app
from acorn.notifications.models import Notification
from acorn.notifications.services import notify
from acorn.notifications.tasks import send_notification_emails_task
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from acorn.tenancy.tasks import TenantTaskError


@pytest.mark.django_db
def test_tenant_task_refuses_to_run_without_tenant_id() -> None:
    with pytest.raises(TenantTaskError):
        send_notification_emails_task(notification_ids=[1])
    with pytest.raises(TenantTaskError):
        send_notification_emails_task(tenant_id="1", notification_ids=[1])


@pytest.mark.django_db
def test_tenant_task_for_a_missing_tenant_does_nothing() -> None:
    assert send_notification_emails_task(tenant_id=999999, notification_ids=[1]) is None


@pytest.mark.django_db
def test_tenant_task_runs_in_scope_and_sees_only_its_tenant(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, other_owner: Membership
) -> None:
    with tenant_scope(tenant):
        mine = notify(tenant=tenant, kind="member_joined", title="A")
    with tenant_scope(other_tenant):
        theirs = notify(tenant=other_tenant, kind="member_joined", title="B")
    mail.outbox.clear()
    # when: tenant A's task is handed B's ids as well
    sent = send_notification_emails_task(tenant_id=tenant.pk, notification_ids=[n.pk for n in mine + theirs])
    # then: only A's notification was emailed; B's is untouched
    assert sent == 1
    assert [m.to for m in mail.outbox] == [[owner.user.email]]
    with dangerously_unscoped():
        assert Notification.objects.get(pk=theirs[0].pk).emailed_at is None


@pytest.mark.django_db
def test_scope_does_not_leak_out_of_a_task(tenant: Tenant, owner: Membership) -> None:
    send_notification_emails_task(tenant_id=tenant.pk, notification_ids=[])
    with pytest.raises(ScopeError):
        list(Membership.objects.all())


def other_owner_user(tenant: Tenant) -> object:
    return Membership.objects.get(tenant=tenant, role=Role.OWNER).user


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_tenant_task_through_the_broker(
    tenant: Tenant, other_tenant: Tenant, make_member: Callable[..., Membership]
) -> None:
    """The task is serialised to JSON, goes through the configured broker (Redis in CI, the filesystem
    broker locally), is executed by a worker, and inside it queries see only the task's tenant."""
    owner = make_member(tenant, Role.OWNER, "owner-a@example.com")
    make_member(other_tenant, Role.OWNER, "owner-b@example.com")
    with tenant_scope(other_tenant):
        foreign = Notification.objects.create(
            tenant=other_tenant, recipient=other_owner_user(other_tenant), kind="member_joined", title="B's"
        )
    mail.outbox.clear()
    app.control.purge()  # nothing left over from an earlier run

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with tenant_scope(tenant), transaction.atomic():
            # notify() enqueues on commit, as services do in production
            mine = notify(tenant=tenant, kind="member_joined", title="A's")
        # and one message naming the other tenant's ids: the scope must keep them out
        send_notification_emails_task.delay(tenant_id=tenant.pk, notification_ids=[foreign.pk])

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with dangerously_unscoped():
                if Notification.objects.filter(pk=mine[0].pk, emailed_at__isnull=False).exists():
                    break
            time.sleep(0.2)
        time.sleep(1)  # give the second message time to run too

    with dangerously_unscoped():
        assert Notification.objects.get(pk=mine[0].pk).emailed_at is not None
        assert Notification.objects.get(pk=foreign.pk).emailed_at is None
    assert [m.to for m in mail.outbox] == [[owner.user.email]]

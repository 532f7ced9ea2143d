"""The tenant row lock: concurrent checks against one tenant's plan limits run one after another, and
another tenant is not held up by it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection

from acorn.tenancy import services
from acorn.tenancy.locks import tenant_lock
from acorn.tenancy.models import Invitation, Membership, Plan, Role, Tenant
from acorn.tenancy.plans import PlanLimitExceeded
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from channels.models import Platform, Store
from channels.services import store_create


def _race(count: int, attempt: Callable[[int], None]) -> tuple[int, list[BaseException]]:
    """Run `attempt` in `count` threads released at once; return how many succeeded and what was raised."""
    start = threading.Barrier(count)
    succeeded: list[int] = []
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            start.wait()
            attempt(index)
            succeeded.append(index)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return len(succeeded), errors


def test_the_lock_returns_the_tenant_fresh_and_touches_no_other_tenant(tenant: Tenant, other_tenant: Tenant) -> None:
    # given a tenant whose plan changed behind the object in hand
    Tenant.objects.filter(pk=tenant.pk).update(plan=Plan.PRO)
    # when
    locked = tenant_lock(tenant)
    # then
    assert locked.pk == tenant.pk and locked.plan == Plan.PRO
    assert Tenant.objects.get(pk=other_tenant.pk).plan == other_tenant.plan


def _basic(tenant: Tenant) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(plan=Plan.BASIC)
    tenant.refresh_from_db()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_concurrent_invitations_never_pass_the_seat_limit(
    tenant: Tenant, other_tenant: Tenant, make_member: Callable[..., Membership]
) -> None:
    # given the basic plan (3 users): the owner and one invitation hold two seats; another tenant likewise
    _basic(tenant)
    owner = make_member(tenant, Role.OWNER, "owner@alpha.example")
    other_owner = make_member(other_tenant, Role.OWNER, "owner@beta.example")
    with tenant_scope(tenant):
        services.invitation_create(
            tenant=tenant, actor=owner.user, membership=owner, email="second@example.com", role=Role.OPERATOR
        )

    # when six invitations for the last seat arrive at once
    def invite(index: int) -> None:
        with tenant_scope(tenant):
            services.invitation_create(
                tenant=tenant, actor=owner.user, membership=owner, email=f"p{index}@example.com", role=Role.OPERATOR
            )

    succeeded, errors = _race(6, invite)

    # then exactly one gets it, the others are told the plan is full; the other tenant is untouched
    assert succeeded == 1
    assert len(errors) == 5 and all(isinstance(error, PlanLimitExceeded) for error in errors), errors
    with dangerously_unscoped():
        assert Invitation.objects.filter(tenant=tenant).count() == 2
        assert not Invitation.objects.filter(tenant=other_tenant).exists()
    assert other_owner.tenant_id == other_tenant.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_concurrent_store_connections_never_pass_the_store_limit(tenant: Tenant) -> None:
    # given the basic plan (2 stores) and none connected
    _basic(tenant)

    # when five stores are created at once
    def create(index: int) -> None:
        with tenant_scope(tenant):
            store_create(
                tenant=tenant,
                actor=None,
                membership=None,
                platform=Platform.WOOCOMMERCE,
                name=f"Shop {index}",
                seller_id=f"https://shop{index}.example.com",
            )

    succeeded, errors = _race(5, create)

    # then two are created and three refused by the plan
    assert succeeded == 2
    assert len(errors) == 3 and all(isinstance(error, PlanLimitExceeded) for error in errors), errors
    with tenant_scope(tenant):
        assert Store.objects.count() == 2

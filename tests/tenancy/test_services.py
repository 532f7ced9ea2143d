"""Tenancy services: tenants, invitations, roles and plan limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy import services
from acorn.tenancy.models import Invitation, InvitationStatus, Membership, Plan, Role, Tenant
from acorn.tenancy.plans import PlanLimitExceeded, limits_for
from acorn.tenancy.scoping import tenant_scope
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _invite(tenant: Tenant, owner: Membership, email: str, role: str = Role.OPERATOR) -> Invitation:
    with tenant_scope(tenant):
        return services.invitation_create(tenant=tenant, actor=owner.user, membership=owner, email=email, role=role)


def test_tenant_create_makes_the_creator_owner_and_audits(db: None) -> None:
    user = UserFactory()
    tenant = services.tenant_create(name="Shenzhen Gadgets", owner=user, contact_name="Li", phone="+86 755 1234 5678")
    with tenant_scope(tenant):
        assert Membership.objects.get().role == Role.OWNER
        assert AuditEvent.objects.get().action == "tenant.created"
    assert tenant.slug == "shenzhen-gadgets"


def test_tenant_create_with_owner_rejects_weak_password_and_writes_nothing(db: None) -> None:
    with pytest.raises(ValidationError) as error:
        services.tenant_create_with_owner(name="X", owner_email="x@example.com", password="123")
    assert "password" in error.value.message_dict
    assert not get_user_model().objects.filter(email="x@example.com").exists()
    assert not Tenant.objects.exists()


def test_tenant_create_rejects_unknown_currency(db: None) -> None:
    with pytest.raises(ValidationError) as error:
        services.tenant_create_with_owner(
            name="X", owner_email="x@example.com", password="long-enough-pass-1", reporting_currency="ABC"
        )
    assert "reporting_currency" in error.value.message_dict
    assert not get_user_model().objects.exists()


def test_invitation_sends_email_on_commit_with_a_working_link(
    tenant: Tenant, owner: Membership, django_capture_on_commit_callbacks: Callable
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(tenant, owner, "New.Person@Example.com")
    assert invitation.email == "new.person@example.com"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    assert f"/invitations/{invitation.token}/" in mail.outbox[0].body


def test_plan_limit_refuses_the_n_plus_first_user_and_creates_nothing(tenant: Tenant, owner: Membership) -> None:
    # given: the basic plan allows 3 users; the owner and one invitation hold 2 seats
    tenant.plan = Plan.BASIC
    tenant.save(update_fields=["plan"])
    assert limits_for(tenant).max_users == 3
    _invite(tenant, owner, "second@example.com")
    _invite(tenant, owner, "third@example.com")

    # when: a fourth is invited
    with pytest.raises(PlanLimitExceeded) as error:
        _invite(tenant, owner, "fourth@example.com")

    # then: a clear message, and no invitation, email or audit row for the refused one
    assert "allows 3 users" in error.value.message
    with tenant_scope(tenant):
        assert not Invitation.objects.filter(email="fourth@example.com").exists()
        assert not AuditEvent.objects.filter(after__email="fourth@example.com").exists()


def test_accepting_rechecks_the_limit_without_counting_the_invitation_twice(tenant: Tenant, owner: Membership) -> None:
    tenant.plan = Plan.BASIC
    tenant.save(update_fields=["plan"])
    invitations = [_invite(tenant, owner, f"p{i}@example.com") for i in (1, 2)]
    for invitation in invitations:
        services.invitation_accept(invitation=invitation, user=UserFactory(email=invitation.email))
    with tenant_scope(tenant):
        assert Membership.objects.count() == 3


def test_custom_plan_limits_apply(tenant: Tenant, owner: Membership) -> None:
    superuser = UserFactory(email="staff@acorn.example", is_superuser=True)
    with tenant_scope(tenant):
        services.tenant_set_custom_limits(
            tenant=tenant, actor=superuser, max_stores=50, max_users=2, retention_months=60
        )
    tenant.refresh_from_db()
    assert (tenant.plan, limits_for(tenant).max_users) == (Plan.CUSTOM, 2)
    _invite(tenant, owner, "one@example.com")
    with pytest.raises(PlanLimitExceeded):
        _invite(tenant, owner, "two@example.com")


def test_custom_limits_are_for_platform_staff_only(tenant: Tenant, owner: Membership) -> None:
    with tenant_scope(tenant), pytest.raises(PermissionDenied):
        services.tenant_set_custom_limits(
            tenant=tenant, actor=owner.user, max_stores=99, max_users=99, retention_months=99
        )


def test_downgrade_refused_when_usage_does_not_fit(
    tenant: Tenant, owner: Membership, make_member: Callable[..., Membership]
) -> None:
    for _ in range(3):
        make_member(tenant, Role.OPERATOR)
    with tenant_scope(tenant), pytest.raises(PlanLimitExceeded) as error:
        services.tenant_change_plan(tenant=tenant, actor=owner.user, membership=owner, plan=Plan.BASIC)
    assert "allows 3 users but you have 4" in error.value.message
    tenant.refresh_from_db()
    assert tenant.plan == Plan.PRO


def test_only_the_owner_changes_the_plan(tenant: Tenant, make_member: Callable[..., Membership]) -> None:
    admin = make_member(tenant, Role.ADMIN)
    with tenant_scope(tenant), pytest.raises(PermissionDenied):
        services.tenant_change_plan(tenant=tenant, actor=admin.user, membership=admin, plan=Plan.BASIC)


def test_operator_cannot_invite_or_change_members(
    tenant: Tenant, owner: Membership, make_member: Callable[..., Membership]
) -> None:
    operator = make_member(tenant, Role.OPERATOR)
    support = make_member(tenant, Role.SUPPORT)
    with tenant_scope(tenant):
        with pytest.raises(PermissionDenied):
            services.invitation_create(
                tenant=tenant,
                actor=operator.user,
                membership=operator,
                email="x@example.com",
                role=Role.SUPPORT,
            )
        with pytest.raises(PermissionDenied):
            services.membership_change_role(
                tenant=tenant, actor=operator.user, membership=operator, target=support, role=Role.ADMIN
            )
        with pytest.raises(PermissionDenied):
            services.membership_remove(tenant=tenant, actor=operator.user, membership=operator, target=support)
        assert Membership.objects.get(pk=support.pk).role == Role.SUPPORT


def test_admin_cannot_promote_to_admin_or_touch_the_owner(
    tenant: Tenant, owner: Membership, make_member: Callable[..., Membership]
) -> None:
    admin = make_member(tenant, Role.ADMIN)
    operator = make_member(tenant, Role.OPERATOR)
    with tenant_scope(tenant):
        with pytest.raises(PermissionDenied):
            services.membership_change_role(
                tenant=tenant, actor=admin.user, membership=admin, target=operator, role=Role.ADMIN
            )
        with pytest.raises(ValidationError):
            services.membership_remove(tenant=tenant, actor=admin.user, membership=admin, target=owner)
        services.membership_change_role(
            tenant=tenant, actor=admin.user, membership=admin, target=operator, role=Role.FINANCE
        )
        event = AuditEvent.objects.get(action="member.role_changed")
    assert (event.before, event.after) == ({"role": "operator"}, {"role": "finance"})


def test_invitation_for_another_email_or_expired_cannot_be_accepted(tenant: Tenant, owner: Membership) -> None:
    invitation = _invite(tenant, owner, "right@example.com")
    with pytest.raises(services.InvitationUnusable):
        services.invitation_accept(invitation=invitation, user=UserFactory(email="wrong@example.com"))
    with tenant_scope(tenant):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        invitation.refresh_from_db()
    with pytest.raises(services.InvitationUnusable):
        services.invitation_accept(invitation=invitation, user=UserFactory(email="right@example.com"))
    with tenant_scope(tenant):
        assert Membership.objects.count() == 1


def test_invitation_is_single_use(tenant: Tenant, owner: Membership) -> None:
    invitation = _invite(tenant, owner, "once@example.com")
    user = UserFactory(email="once@example.com")
    services.invitation_accept(invitation=invitation, user=user)
    with pytest.raises(services.InvitationUnusable):
        services.invitation_accept(invitation=invitation, user=user)


def test_revoked_invitation_frees_its_seat(tenant: Tenant, owner: Membership) -> None:
    tenant.plan = Plan.BASIC
    tenant.save(update_fields=["plan"])
    first = _invite(tenant, owner, "a@example.com")
    _invite(tenant, owner, "b@example.com")
    with tenant_scope(tenant):
        services.invitation_revoke(tenant=tenant, actor=owner.user, membership=owner, invitation=first)
    _invite(tenant, owner, "c@example.com")  # fits again
    with tenant_scope(tenant):
        first.refresh_from_db()
    assert first.status == InvitationStatus.REVOKED


def test_duplicate_open_invitation_is_refused(tenant: Tenant, owner: Membership) -> None:
    _invite(tenant, owner, "dup@example.com")
    with pytest.raises(ValidationError) as error:
        _invite(tenant, owner, "DUP@example.com")
    assert "already has an open invitation" in str(error.value)


def test_expire_invitations_is_idempotent(tenant: Tenant, owner: Membership) -> None:
    invitation = _invite(tenant, owner, "late@example.com")
    with tenant_scope(tenant):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert services.invitations_expire_all() == 1
    assert services.invitations_expire_all() == 0

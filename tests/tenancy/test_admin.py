"""The Django admin: tenant staff see and change only their tenant's rows, by role; superusers see all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from acorn.audit.services import audit_record
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_tenant_admin_sees_only_own_members(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, other_owner: Membership, owner_client: Client
) -> None:
    response = owner_client.get(reverse("admin:tenancy_membership_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "owner@alpha.example" in body and "owner@beta.example" not in body


def test_tenant_staff_cannot_open_platform_models(owner_client: Client) -> None:
    assert owner_client.get(reverse("admin:tenancy_tenant_changelist")).status_code == 403
    assert owner_client.get(reverse("admin:auth_user_changelist")).status_code == 403
    index = owner_client.get(reverse("admin:index")).content.decode()
    assert "Tenants" not in index and "Users" not in index


def test_memberships_are_read_only_in_the_admin_for_tenant_staff(
    tenant: Tenant, owner: Membership, make_member: Callable[..., Membership], owner_client: Client
) -> None:
    operator = make_member(tenant, Role.OPERATOR)
    url = reverse("admin:tenancy_membership_change", args=[operator.pk])
    assert owner_client.get(url).status_code == 200
    owner_client.post(url, {"role": Role.ADMIN, "user": operator.user_id})
    with tenant_scope(tenant):
        operator.refresh_from_db()
    assert operator.role == Role.OPERATOR


def test_audit_events_in_admin_are_view_only(tenant: Tenant, owner: Membership, owner_client: Client) -> None:
    with tenant_scope(tenant):
        event = audit_record(tenant=tenant, actor=owner.user, action="x.y", target=tenant)
    assert owner_client.get(reverse("admin:audit_auditevent_change", args=[event.pk])).status_code == 200
    assert owner_client.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    assert owner_client.get(reverse("admin:audit_auditevent_add")).status_code == 403


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.SUPPORT])
def test_roles_without_admin_access_are_refused(
    role: str, tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable
) -> None:
    client = client_for(make_member(tenant, role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 403


def test_anonymous_admin_visitors_go_to_the_product_sign_in(client: Client) -> None:
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))


def test_superuser_sees_every_tenant(owner: Membership, other_owner: Membership) -> None:
    client = Client()
    client.force_login(UserFactory(email="root@acorn.example", is_superuser=True, is_staff=True))
    body = client.get(reverse("admin:tenancy_membership_changelist")).content.decode()
    assert "owner@alpha.example" in body and "owner@beta.example" in body
    assert client.get(reverse("admin:tenancy_tenant_changelist")).status_code == 200

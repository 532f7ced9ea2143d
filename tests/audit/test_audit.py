"""The audit trail: append-only, scoped, and listed for owners and admins."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import Client
from django.urls import reverse

from acorn.audit.models import AppendOnlyError, AuditEvent
from acorn.audit.services import audit_record
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope

pytestmark = pytest.mark.django_db


def _event(tenant: Tenant, owner: Membership, **kwargs: object) -> AuditEvent:
    with tenant_scope(tenant):
        return audit_record(tenant=tenant, actor=owner.user, action="settings.changed", target=tenant, **kwargs)


def test_audit_record_keeps_decimals_exact_and_the_request_id(tenant: Tenant, owner: Membership) -> None:
    event = _event(tenant, owner, before={"fee": Decimal("0.1")}, after={"fee": Decimal("0.30")}, request_id="r-1")
    event.refresh_from_db()
    assert (event.before, event.after, event.request_id) == ({"fee": "0.1"}, {"fee": "0.30"}, "r-1")
    assert event.actor_label == owner.user.email


def test_audit_events_cannot_be_changed_or_deleted(tenant: Tenant, owner: Membership) -> None:
    event = _event(tenant, owner)
    event.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


@pytest.mark.postgres
def test_database_refuses_updates_and_deletes_on_postgres(tenant: Tenant, owner: Membership) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    event = _event(tenant, owner)
    with tenant_scope(tenant):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).delete()
        # deleting the actor's account only forgets the link; the label stays
        owner.user.delete()
        event.refresh_from_db()
    assert (event.actor_id, event.actor_label) == (None, "owner@alpha.example")


def test_audit_page_lists_own_events_with_filters(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, other_owner: Membership, owner_client: Client
) -> None:
    _event(tenant, owner)
    with tenant_scope(other_tenant):
        audit_record(tenant=other_tenant, actor=other_owner.user, action="secret.beta", target=other_tenant)
    page = owner_client.get(reverse("audit:auditevent-list")).content.decode()
    assert "settings.changed" in page and "secret.beta" not in page
    with tenant_scope(tenant):
        audit_record(tenant=tenant, actor=owner.user, action="member.invited", target=tenant)
    filtered = owner_client.get(reverse("audit:auditevent-list"), {"action": "member.invited"}).content.decode()
    rows = filtered.split("<tbody>")[-1]
    assert "member.invited" in rows and "settings.changed" not in rows


def test_audit_page_rejects_reversed_dates(owner_client: Client) -> None:
    response = owner_client.get(reverse("audit:auditevent-list"), {"since": "2026-02-01", "until": "2026-01-01"})
    assert "The end date is before the start date." in response.content.decode()


def test_audit_page_paginates(tenant: Tenant, owner: Membership, owner_client: Client) -> None:
    for _ in range(60):
        _event(tenant, owner)
    first = owner_client.get(reverse("audit:auditevent-list"))
    assert first.context["page"].paginator.num_pages == 2
    assert "1\u201350 of 60" in first.content.decode()


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.FINANCE, Role.SUPPORT])
def test_audit_page_is_for_owners_and_admins(
    role: str, tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable
) -> None:
    assert client_for(make_member(tenant, role)).get(reverse("audit:auditevent-list")).status_code == 403


def test_changes_pair_before_and_after(tenant: Tenant, owner: Membership) -> None:
    event = _event(tenant, owner, before={"role": "operator"}, after={"role": "finance", "note": "x"})
    assert event.changes == [("role", "operator", "finance"), ("note", None, "x")]

"""Scoping: a tenant-owned query outside a scope raises; inside one it sees one tenant."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django_scopes import ScopeError

from acorn.tenancy.models import Membership, Tenant, TenantScopedModel
from acorn.tenancy.scoping import tenant_scope

pytestmark = pytest.mark.django_db


def test_query_outside_a_scope_raises(owner: Membership) -> None:
    with pytest.raises(ScopeError):
        list(Membership.objects.all())
    with pytest.raises(ScopeError):
        Membership.objects.filter(pk=owner.pk).first()


def test_scope_sees_only_its_tenant(owner: Membership, other_owner: Membership, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        assert list(Membership.objects.all()) == [owner]
        assert Membership.objects.filter(pk=other_owner.pk).first() is None


def test_a_none_tenant_is_refused_instead_of_unscoping() -> None:
    with pytest.raises(ValueError), tenant_scope(None):
        pass


def test_every_tenant_owned_model_is_scoped() -> None:
    """A model with a tenant FK that does not inherit TenantScopedModel would be queryable unscoped."""
    offenders = [
        model._meta.label
        for model in apps.get_models()
        if any(field.name == "tenant" for field in model._meta.fields) and not issubclass(model, TenantScopedModel)
    ]
    assert offenders == []


@pytest.mark.django_db
def test_a_signed_in_page_view_does_not_rewrite_the_session(owner: Membership, client_for: Any) -> None:
    # given: a member whose session already names their tenant
    client = client_for(owner)
    from django.contrib.sessions.models import Session

    before = Session.objects.get().expire_date

    # when: they open a page
    response = client.get("/app/")

    # then: the session row was not written again (no Set-Cookie, same expiry)
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert Session.objects.get().expire_date == before

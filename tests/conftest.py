"""Shared fixtures: two tenants, members of each role, and clients signed in as them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from django_scopes import scopes_disabled

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from tests.factories import MembershipFactory, TenantFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Rate-limit buckets and cached values must not leak from one test into the next."""
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A page requested in Chinese leaves the thread's language active (LocaleMiddleware does not reset it):
    each test starts in the default language, so service messages read the same whatever ran before."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def tenant(db: Any) -> Tenant:
    return TenantFactory(name="Alpha Trading", slug="alpha")


@pytest.fixture
def other_tenant(db: Any) -> Tenant:
    return TenantFactory(name="Beta Imports", slug="beta")


@pytest.fixture
def make_member(db: Any) -> Callable[..., Membership]:
    def make(tenant: Tenant, role: str = Role.OWNER, email: str | None = None) -> Membership:
        with scopes_disabled():
            user = UserFactory(**({"email": email} if email else {}))
            return MembershipFactory(tenant=tenant, user=user, role=role)

    return make


@pytest.fixture
def owner(tenant: Tenant, make_member: Callable[..., Membership]) -> Membership:
    return make_member(tenant, Role.OWNER, "owner@alpha.example")


@pytest.fixture
def other_owner(other_tenant: Tenant, make_member: Callable[..., Membership]) -> Membership:
    return make_member(other_tenant, Role.OWNER, "owner@beta.example")


@pytest.fixture
def client_for() -> Callable[[Membership], Client]:
    """A test client signed in as the membership's user, acting in the membership's tenant."""

    def make(membership: Membership) -> Client:
        client = Client()
        client.force_login(membership.user)
        session = client.session
        session["acorn_tenant_id"] = membership.tenant_id
        session.save()
        return client

    return make


@pytest.fixture
def owner_client(owner: Membership, client_for: Callable[[Membership], Client]) -> Client:
    return client_for(owner)


@pytest.fixture
def in_scope(tenant: Tenant) -> Iterator[None]:
    with tenant_scope(tenant):
        yield


class EnqueuedTasks(list[tuple[Any, dict[str, Any]]]):
    """Tasks that services enqueued (kwargs round-tripped through JSON, as the broker would)."""

    def run_all(self) -> list[Any]:
        """Run every recorded task in-process, in order, and forget them."""
        results = [task(**kwargs) for task, kwargs in self]
        self.clear()
        return results


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> EnqueuedTasks:
    """Record apply_async instead of sending to the broker. The real broker is covered by the worker tests."""
    import json

    from celery.app.task import Task

    recorded = EnqueuedTasks()

    def fake_apply_async(self: Task, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        assert not args, f"{self.name}: pass keyword arguments only"
        recorded.append((self, json.loads(json.dumps(kwargs or {}))))

    monkeypatch.setattr(Task, "apply_async", fake_apply_async)
    return recorded

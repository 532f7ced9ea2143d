"""Shared fixtures: two tenants, members of each role, and clients signed in as them.

Also the clock check: ``--clock-ahead=DAYS`` (or ``ACORN_TEST_CLOCK_AHEAD_DAYS``) moves the clock that many days
ahead for the whole session, ticking, so that a test which only passes this month fails today instead of next
month. ``make test-clock`` runs the tests marked ``clock`` that way; tests that freeze the clock themselves
still can (time-machine travels stack).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from django_scopes import scopes_disabled

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from tests.factories import MembershipFactory, TenantFactory, UserFactory

CLOCK_AHEAD_ENV = "ACORN_TEST_CLOCK_AHEAD_DAYS"
_session_travel: time_machine.travel | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-ahead",
        type=int,
        default=int(os.environ.get(CLOCK_AHEAD_ENV) or 0),
        metavar="DAYS",
        help=f"run the whole session with the clock DAYS days ahead of today, ticking (also ${CLOCK_AHEAD_ENV})",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Start the session's clock travel before collection, so that module-level dates see the moved clock too."""
    global _session_travel
    days = config.getoption("--clock-ahead")
    if not days:
        return
    _session_travel = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
    _session_travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _session_travel
    if _session_travel is not None:
        _session_travel.stop()
        _session_travel = None


def pytest_report_header(config: pytest.Config) -> str | None:
    days = config.getoption("--clock-ahead")
    return f"clock: {days} days ahead, now {datetime.now(UTC):%Y-%m-%d %H:%M} UTC" if days else None


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Rate-limit buckets and cached values must not leak from one test into the next: Django's cache, and
    python-amazon-sp-api's module-level access-token caches (a token one simulator issued is unknown to the
    next test's simulator, which answers 403)."""
    from sp_api.auth import access_token_client

    cache.clear()
    access_token_client.cache.clear()
    access_token_client.grantless_cache.clear()
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


# Queued by orders, refunds and statements for finance's P&L: outside tests/finance the tests of those apps do
# not see it (tests/finance/test_profit.py proves it is queued, with what).
FINANCE_ONLY_TASKS = frozenset({"finance.refresh_profit"})


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> EnqueuedTasks:
    """Record apply_async instead of sending to the broker. The real broker is covered by the worker tests."""
    import json

    from celery.app.task import Task

    recorded = EnqueuedTasks()
    in_finance = "/tests/finance/" in str(request.node.path)

    def fake_apply_async(self: Task, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        assert not args, f"{self.name}: pass keyword arguments only"
        if self.name in FINANCE_ONLY_TASKS and not in_finance:
            return
        recorded.append((self, json.loads(json.dumps(kwargs or {}))))

    monkeypatch.setattr(Task, "apply_async", fake_apply_async)
    return recorded

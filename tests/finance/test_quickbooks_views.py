"""The QuickBooks connection page: connect through Intuit's OAuth (the simulator's consent page, over real
HTTP), the callback's state bound to the session and the tenant, disconnect, post now, permissions and both
languages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import translation

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from finance.models import Account, JournalStatus
from finance.quickbooks.models import QuickBooksConnection, QuickBooksStatus
from finance.quickbooks.selectors import quickbooks_connection_get
from simulator.server import SimulatorServer
from tests.conftest import EnqueuedTasks
from tests.finance.test_quickbooks import CLIENT_ID, CLIENT_SECRET, REMOTE_ACCOUNTS, _journal

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
MakeMember = Callable[..., Membership]


@pytest.fixture
def sim(settings: object) -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=19, tls_port=None) as server:
        server.quickbooks.add_app(CLIENT_ID, CLIENT_SECRET, ("http://testserver/app/finance/quickbooks/callback/",))
        realm = server.quickbooks.add_company("Console Trading Inc")
        for name, account_type in REMOTE_ACCOUNTS:
            server.quickbooks.add_account(realm, name, account_type)
        settings.ACORN_QUICKBOOKS_API_BASE = server.quickbooks.endpoint
        settings.ACORN_QUICKBOOKS_CLIENT_ID = CLIENT_ID
        settings.ACORN_QUICKBOOKS_CLIENT_SECRET = CLIENT_SECRET
        yield server


def _consent(client: Client) -> str:
    """Start connecting, follow Intuit's consent page (the simulator's) and return the callback path+query."""
    started = client.post(reverse("finance:quickbooks-connect"))
    assert started.status_code == 302
    consent = requests.get(started["Location"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["Location"])
    assert back.path == reverse("finance:quickbooks-callback")
    return f"{back.path}?{back.query}"


def test_connecting_from_the_console_goes_through_intuit_and_back(
    tenant: Tenant, owner_client: Client, sim: SimulatorServer
) -> None:
    # given an owner on the page
    page = owner_client.get(reverse("finance:quickbooks"))
    assert page.status_code == 200 and "Connect QuickBooks" in page.content.decode()
    # when they connect and Intuit sends them back
    response = owner_client.get(_consent(owner_client))
    # then the company is connected, its accounts matched, and the page says so
    assert response.status_code == 302
    with tenant_scope(tenant):
        connection = quickbooks_connection_get(tenant=tenant)
        assert connection is not None and connection.status == QuickBooksStatus.CONNECTED
        assert connection.company_name == "Console Trading Inc"
        assert connection.connected_by is not None
        assert Account.objects.get(tenant=tenant, key="amazon_sales").quickbooks_id
    body = owner_client.get(reverse("finance:quickbooks")).content.decode()
    assert "Console Trading Inc" in body and "Amazon FBA Fees" in body and "Post now" in body


def test_the_callback_state_cannot_be_replayed_or_used_for_another_tenant(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: Membership,
    make_member: MakeMember,
    client_for: ClientFor,
    sim: SimulatorServer,
) -> None:
    # given the owner started connecting in their company, then switched to another company they belong to
    make_member(other_tenant, Role.OWNER, email=owner.user.email)
    client = client_for(owner)
    callback = _consent(client)
    session = client.session
    session["acorn_tenant_id"] = other_tenant.pk
    session.save()
    # when the callback arrives in the other company
    client.get(callback)
    # then nothing is connected anywhere, and the state is spent
    with tenant_scope(other_tenant):
        assert quickbooks_connection_get(tenant=other_tenant) is None
    session = client.session
    session["acorn_tenant_id"] = tenant.pk
    session.save()
    client.get(callback)
    with tenant_scope(tenant):
        assert quickbooks_connection_get(tenant=tenant) is None
    # and another tenant's owner cannot use someone else's callback URL either
    fresh = client_for(owner)
    other_callback = _consent(fresh)
    intruder = client_for(make_member(other_tenant, Role.OWNER))
    intruder.get(other_callback)
    with tenant_scope(other_tenant):
        assert quickbooks_connection_get(tenant=other_tenant) is None
    # while the one who started it can still finish it
    fresh.get(other_callback)
    with tenant_scope(tenant):
        assert quickbooks_connection_get(tenant=tenant) is not None


def test_post_now_queues_the_posting_which_posts_each_journal_once(
    tenant: Tenant,
    owner_client: Client,
    sim: SimulatorServer,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    owner_client.get(_consent(owner_client))
    entry = _journal(tenant, "AMZ-150000000001", "25.00")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("finance:quickbooks-post"))
    assert response.status_code == 302
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [("finance.post_journals", {"tenant_id": tenant.pk})]
    assert enqueued.run_all() == [{"posted": 1, "already_posted": 0, "failed": 0}]
    with tenant_scope(tenant):
        entry.refresh_from_db()
        assert entry.status == JournalStatus.POSTED
        realm = quickbooks_connection_get(tenant=tenant).realm_id
    assert len(sim.quickbooks.journals(realm)) == 1


def test_disconnect_forgets_the_tokens(tenant: Tenant, owner_client: Client, sim: SimulatorServer) -> None:
    owner_client.get(_consent(owner_client))
    owner_client.post(reverse("finance:quickbooks-disconnect"))
    with tenant_scope(tenant):
        connection = QuickBooksConnection.objects.get(tenant=tenant)
        assert connection.status == QuickBooksStatus.DISCONNECTED and connection.secret_values() == {}
    assert "Connect again" in owner_client.get(reverse("finance:quickbooks")).content.decode()


def test_finance_view_may_look_but_only_finance_manage_may_connect_and_support_sees_nothing(
    tenant: Tenant, make_member: MakeMember, client_for: ClientFor, sim: SimulatorServer
) -> None:
    admin = client_for(make_member(tenant, Role.ADMIN))  # finance.view without finance.manage
    assert admin.get(reverse("finance:quickbooks")).status_code == 200
    for name in ("quickbooks-connect", "quickbooks-disconnect", "quickbooks-accounts", "quickbooks-post"):
        assert admin.post(reverse(f"finance:{name}")).status_code == 403, name
    assert admin.get(reverse("finance:quickbooks-callback"), {"state": "x"}).status_code == 403
    support = client_for(make_member(tenant, Role.SUPPORT))
    assert support.get(reverse("finance:quickbooks")).status_code == 403


def test_the_page_speaks_chinese(owner_client: Client, sim: SimulatorServer) -> None:
    with translation.override("zh-hans"):
        body = owner_client.get(reverse("finance:quickbooks"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "QuickBooks Online 尚未连接。" in body

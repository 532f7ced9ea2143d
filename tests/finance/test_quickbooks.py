"""Posting journals to QuickBooks Online, over real HTTP to the simulator through python-quickbooks and
intuit-oauth: connect, account matching, exactly-once posting (also when the first create times out after
QuickBooks saved it), 401 refresh, 429 backoff, a failed journal kept and retried, locking, cross-tenant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Platform
from finance.ledger.chart import DEFAULT_CHART, chart_ensure
from finance.ledger.services import LineDraft, journal_write, journals_lock, settlement_journals
from finance.models import Account, AccountType, JournalEntry, JournalSource, JournalStatus, LedgerRole
from finance.quickbooks.client import QuickBooksAuthError
from finance.quickbooks.models import QuickBooksConnection, QuickBooksStatus
from finance.quickbooks.selectors import quickbooks_connection_get
from finance.quickbooks.services import (
    AppCredentials,
    QuickBooksNotConnected,
    journal_payload,
    journals_post,
    quickbooks_accounts_match,
    quickbooks_api,
    quickbooks_connect,
    request_id_for,
)
from simulator.server import SimulatorServer
from tests.factories import StoreFactory
from tests.finance import test_ledger as ledger_tests

pytestmark = pytest.mark.django_db

CLIENT_ID = "acorn-test-qbo-client"
CLIENT_SECRET = "acorn-test-qbo-secret"
# QuickBooks accounts named like ACORN's default chart (FBA fees deliberately missing).
REMOTE_ACCOUNTS = (
    ("Amazon Sales", "Income"),
    ("Amazon Clearing", "Bank"),
    ("Amazon Seller Fees", "Expense"),
    ("ACORN Suspense", "Other Current Asset"),
)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=17, tls_port=None) as server:
        server.quickbooks.add_app(CLIENT_ID, CLIENT_SECRET)
        server.quickbooks.hang_seconds = 2.0  # above the test client's 1 s timeout
        yield server


def _company(sim: SimulatorServer, name: str = "Acme Trading LLC", **options: object) -> tuple[str, str]:
    realm = sim.quickbooks.add_company(name, **options)
    for account_name, account_type in REMOTE_ACCOUNTS:
        sim.quickbooks.add_account(realm, account_name, account_type)
    return realm, sim.quickbooks.issue_refresh_token(CLIENT_ID, realm)


def _connect(tenant: Tenant, sim: SimulatorServer, **options: object) -> QuickBooksConnection:
    realm, refresh = _company(sim, **options)
    with tenant_scope(tenant):
        return quickbooks_connect(
            tenant=tenant,
            actor=None,
            realm_id=realm,
            api_base=sim.quickbooks.endpoint,
            refresh_token=refresh,
            app=AppCredentials(CLIENT_ID, CLIENT_SECRET),
        )


def _journal(
    tenant: Tenant, number: str, amount: str, *, day: date | None = None, currency: str = "USD"
) -> JournalEntry:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        bank = Account.objects.get(tenant=tenant, key="amazon_clearing")
        sales = Account.objects.get(tenant=tenant, key="amazon_sales")
        fees = Account.objects.get(tenant=tenant, key="amazon_fees")
        value = Decimal(amount)
        return journal_write(
            tenant=tenant,
            number=number,
            day=day or timezone.now().date(),
            source=JournalSource.ADJUSTMENT,
            currency=currency,
            narration=f"Test journal {number}",
            lines=[
                LineDraft(bank, LedgerRole.BANK, value - Decimal("1.50"), "Deposit"),
                LineDraft(fees, LedgerRole.SELLER_FEES, Decimal("1.50"), "Commission"),
                LineDraft(sales, LedgerRole.SALES, -value, "Principal"),
            ],
        )


def _post(tenant: Tenant, waits: list[float] | None = None, **options: object) -> dict[str, int]:
    with tenant_scope(tenant):
        return journals_post(tenant=tenant, sleep=(waits if waits is not None else []).append, **options)


def _creates(sim: SimulatorServer) -> int:
    return sum(1 for r in sim.requests if r.method == "POST" and r.path.endswith("/journalentry"))


def test_connect_stores_tokens_encrypted_reads_the_company_and_matches_accounts_by_name(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given a company whose chart has some of ACORN's default account names
    # when the tenant connects it
    connection = _connect(tenant, sim, home_currency="USD")
    # then the company is read and the tokens are stored, encrypted at rest
    with tenant_scope(tenant):
        connection.refresh_from_db()
        assert connection.status == QuickBooksStatus.CONNECTED
        assert connection.company_name == "Acme Trading LLC"
        assert connection.home_currency == "USD"
        refresh = connection.secret_values()["refresh_token"]
        assert refresh.startswith("RT1-")
        assert connection.access_expires_at is not None and connection.access_expires_at > timezone.now()
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT secrets FROM finance_quickbooksconnection WHERE id = %s", [connection.pk])
            (raw,) = cursor.fetchone()
        assert refresh not in raw and "access_token" not in raw
        # and accounts are matched by name; the rest are listed
        remote = {a["Name"]: a["Id"] for a in sim.quickbooks.companies[connection.realm_id].accounts.values()}
        assert Account.objects.get(tenant=tenant, key="amazon_sales").quickbooks_id == remote["Amazon Sales"]
        assert Account.objects.get(tenant=tenant, key="amazon_clearing").quickbooks_id == remote["Amazon Clearing"]
        assert Account.objects.get(tenant=tenant, key="amazon_fba_fees").quickbooks_id == ""
        assert "Amazon FBA Fees" in connection.unmatched_accounts
        assert "Amazon Sales" not in connection.unmatched_accounts
        assert AuditEvent.objects.filter(tenant=tenant, action="finance.quickbooks_connected").count() == 1


def test_accounts_match_by_full_name_ignoring_case_and_spacing_and_follow_renames(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    connection = _connect(tenant, sim)
    realm = connection.realm_id
    parent = sim.quickbooks.add_account(realm, "Marketplace", "Income")
    child = sim.quickbooks.add_account(realm, "Amazon Refunds", "Income", parent=parent)
    with tenant_scope(tenant):
        refunds = Account.objects.get(tenant=tenant, key="amazon_refunds")
        refunds.name = "marketplace : amazon  refunds"
        refunds.save(update_fields=["name"])
        unmatched = quickbooks_accounts_match(tenant=tenant)
        refunds.refresh_from_db()
        assert refunds.quickbooks_id == child
        assert "marketplace : amazon  refunds" not in unmatched


def test_posting_creates_each_journal_exactly_once_and_locks_it(tenant: Tenant, sim: SimulatorServer) -> None:
    # given two balanced journals on matched accounts
    connection = _connect(tenant, sim)
    first = _journal(tenant, "AMZ-100000000001", "120.00")
    second = _journal(tenant, "AMZ-100000000002", "80.25")
    # when posting runs twice
    assert _post(tenant) == {"posted": 2, "already_posted": 0, "failed": 0}
    assert _post(tenant) == {"posted": 0, "already_posted": 0, "failed": 0}
    # then QuickBooks holds each once, balanced, with the journal number as DocNumber
    journals = sim.quickbooks.journals(connection.realm_id)
    assert sorted(j["DocNumber"] for j in journals) == ["AMZ-100000000001", "AMZ-100000000002"]
    assert _creates(sim) == 2
    by_number = {j["DocNumber"]: j for j in journals}
    lines = by_number["AMZ-100000000001"]["Line"]
    debit = sum(Decimal(str(x["Amount"])) for x in lines if x["JournalEntryLineDetail"]["PostingType"] == "Debit")
    credit = sum(Decimal(str(x["Amount"])) for x in lines if x["JournalEntryLineDetail"]["PostingType"] == "Credit")
    assert debit == credit == Decimal("120.00")
    # and each journal is posted, locked, with QuickBooks' Id
    with tenant_scope(tenant):
        for entry in (first, second):
            entry.refresh_from_db()
            assert entry.status == JournalStatus.POSTED
            assert entry.locked_at is not None and entry.posted_at is not None
            assert entry.external_id == by_number[entry.number]["Id"]
        assert AuditEvent.objects.filter(tenant=tenant, action="finance.journal_posted").count() == 2


def test_an_exported_journal_is_posted_once_and_a_posted_one_is_never_sent_again(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    connection = _connect(tenant, sim)
    entry = _journal(tenant, "AMZ-200000000001", "50.00")
    with tenant_scope(tenant):
        journals_lock(entries=[entry], status=JournalStatus.EXPORTED)
        lines_before = list(entry.lines.values_list("account_id", "amount"))
    assert _post(tenant)["posted"] == 1
    sim.clear_requests()
    assert _post(tenant) == {"posted": 0, "already_posted": 0, "failed": 0}
    assert sim.requests == []  # nothing was even looked up: a posted journal is not due
    with tenant_scope(tenant):
        entry.refresh_from_db()
        assert entry.status == JournalStatus.POSTED
        assert list(entry.lines.values_list("account_id", "amount")) == lines_before
    assert len(sim.quickbooks.journals(connection.realm_id)) == 1


def test_a_create_that_times_out_after_quickbooks_saved_it_is_posted_once(tenant: Tenant, sim: SimulatorServer) -> None:
    # given QuickBooks saves the first create, then never answers
    connection = _connect(tenant, sim)
    entry = _journal(tenant, "AMZ-300000000001", "99.99")
    sim.quickbooks.fail_next("journalentry", "timeout_after_save")
    # when posting runs
    waits: list[float] = []
    result = _post(tenant, waits)
    # then the retry finds it by DocNumber: one entry in QuickBooks, the journal posted with its Id
    assert result == {"posted": 1, "already_posted": 0, "failed": 0}
    journals = sim.quickbooks.journals(connection.realm_id)
    assert [j["DocNumber"] for j in journals] == ["AMZ-300000000001"]
    assert len(waits) == 1
    with tenant_scope(tenant):
        entry.refresh_from_db()
        assert entry.external_id == journals[0]["Id"] and entry.status == JournalStatus.POSTED


def test_the_same_request_id_returns_quickbooks_first_answer_instead_of_a_second_entry(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given the create's answer was lost (timeout after save) and the retry sends the same payload
    connection = _connect(tenant, sim)
    entry = _journal(tenant, "AMZ-400000000001", "10.00")
    with tenant_scope(tenant):
        api = quickbooks_api(connection=quickbooks_connection_get(tenant=tenant))
        payload = journal_payload(entry=entry, connection=connection)
        request_id = request_id_for(connection=connection, entry=entry, payload=payload)
        assert request_id == request_id_for(
            connection=connection, entry=entry, payload=journal_payload(entry=entry, connection=connection)
        )
        assert len(request_id) <= 50
        sim.quickbooks.fail_next("journalentry", "timeout_after_save")
        with pytest.raises(Exception, match="did not answer in time"):
            api.journal_create(payload, request_id=request_id)
        # when it is sent again with the same request id
        again = api.journal_create(journal_payload(entry=entry, connection=connection), request_id=request_id)
    # then QuickBooks answers with the entry it saved the first time
    journals = sim.quickbooks.journals(connection.realm_id)
    assert [j["Id"] for j in journals] == [again]


def test_an_expired_access_token_is_refreshed_on_401_and_the_new_tokens_are_kept(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    _connect(tenant, sim)
    _journal(tenant, "AMZ-500000000001", "20.00")
    with tenant_scope(tenant):
        old_refresh = quickbooks_connection_get(tenant=tenant).secret_values()["refresh_token"]
    sim.quickbooks.expire_access_tokens()  # ACORN still believes its access token is good for an hour
    assert _post(tenant)["posted"] == 1
    statuses = [r.status for r in sim.requests if "/v3/company/" in r.path]
    assert 401 in statuses
    with tenant_scope(tenant):
        refreshed = quickbooks_connection_get(tenant=tenant)
        assert refreshed is not None
        assert refreshed.secret_values()["refresh_token"] != old_refresh  # Intuit rotated it; the old one is dead now
    _journal(tenant, "AMZ-500000000002", "21.00")
    assert _post(tenant)["posted"] == 1


def test_an_access_token_about_to_expire_is_refreshed_before_the_call(tenant: Tenant, sim: SimulatorServer) -> None:
    _connect(tenant, sim)
    _journal(tenant, "AMZ-510000000001", "20.00")
    with tenant_scope(tenant):
        QuickBooksConnection.objects.filter(tenant=tenant).update(
            access_expires_at=timezone.now() + timedelta(seconds=5)
        )
    assert _post(tenant)["posted"] == 1
    assert not [r for r in sim.requests if "/v3/company/" in r.path and r.status == 401]


def test_throttling_429_is_retried_with_exponential_backoff(
    tenant: Tenant, sim: SimulatorServer, settings: object
) -> None:
    settings.ACORN_QUICKBOOKS_BACKOFF_SECONDS = 2.0
    _connect(tenant, sim)
    _journal(tenant, "AMZ-600000000001", "30.00")
    sim.quickbooks.fail_next("query", 429)
    sim.quickbooks.fail_next("query", 429)
    waits: list[float] = []
    assert _post(tenant, waits) == {"posted": 1, "already_posted": 0, "failed": 0}
    assert waits == [2.0, 4.0]
    assert [r.status for r in sim.requests if r.path.endswith("/query")].count(429) == 2


def test_a_journal_that_keeps_failing_keeps_quickbooks_error_and_is_posted_by_a_later_run(
    tenant: Tenant, sim: SimulatorServer, settings: object
) -> None:
    settings.ACORN_QUICKBOOKS_RETRIES = 2
    connection = _connect(tenant, sim)
    entry = _journal(tenant, "AMZ-700000000001", "40.00")
    sim.quickbooks.fail_next("journalentry", 500)
    sim.quickbooks.fail_next("journalentry", 500)
    assert _post(tenant) == {"posted": 0, "already_posted": 0, "failed": 1}
    with tenant_scope(tenant):
        entry.refresh_from_db()
        assert entry.status == JournalStatus.DRAFT and entry.external_id == ""
        assert "500" in entry.post_error and entry.post_attempts == 1
        assert quickbooks_connection_get(tenant=tenant).last_error
    assert sim.quickbooks.journals(connection.realm_id) == []
    # the next run posts it and clears the error
    assert _post(tenant) == {"posted": 1, "already_posted": 0, "failed": 0}
    with tenant_scope(tenant):
        entry.refresh_from_db()
        assert entry.status == JournalStatus.POSTED and entry.post_error == "" and entry.post_attempts == 2


def test_a_journal_quickbooks_refuses_keeps_its_message_and_is_not_retried_in_the_run(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given a company without multicurrency and a journal in EUR
    connection = _connect(tenant, sim, home_currency="USD")
    entry = _journal(tenant, "AMZ-800000000001", "15.00", currency="EUR")
    waits: list[float] = []
    assert _post(tenant, waits) == {"posted": 0, "already_posted": 0, "failed": 1}
    assert waits == []
    with tenant_scope(tenant):
        entry.refresh_from_db()
        assert "EUR" in entry.post_error and "6000" in entry.post_error
    assert sim.quickbooks.journals(connection.realm_id) == []


def test_journals_on_unmatched_accounts_wait_and_a_month_narrows_the_run(tenant: Tenant, sim: SimulatorServer) -> None:
    _connect(tenant, sim)
    today = timezone.now().date()
    this_month = _journal(tenant, "AMZ-900000000001", "11.00", day=today)
    earlier = _journal(tenant, "AMZ-900000000002", "12.00", day=today.replace(day=1) - timedelta(days=1))
    with tenant_scope(tenant):
        fba = Account.objects.get(tenant=tenant, key="amazon_fba_fees")
        bank = Account.objects.get(tenant=tenant, key="amazon_clearing")
        waiting = journal_write(
            tenant=tenant,
            number="AMZ-900000000003",
            day=today,
            source=JournalSource.ADJUSTMENT,
            currency="USD",
            narration="Uses FBA fees, not in QuickBooks",
            lines=[LineDraft(fba, LedgerRole.FBA_FEES, Decimal("3")), LineDraft(bank, LedgerRole.BANK, Decimal("-3"))],
        )
    assert _post(tenant, month=today.replace(day=1)) == {"posted": 1, "already_posted": 0, "failed": 0}
    with tenant_scope(tenant):
        for entry, status in (
            (this_month, JournalStatus.POSTED),
            (earlier, JournalStatus.DRAFT),
            (waiting, JournalStatus.DRAFT),
        ):
            entry.refresh_from_db()
            assert entry.status == status, entry.number


def test_a_journal_already_in_quickbooks_is_recorded_not_created_again(tenant: Tenant, sim: SimulatorServer) -> None:
    # given a journal whose earlier posting reached QuickBooks but was never recorded in ACORN
    connection = _connect(tenant, sim)
    entry = _journal(tenant, "AMZ-110000000001", "60.00")
    assert _post(tenant)["posted"] == 1
    with tenant_scope(tenant):
        JournalEntry.objects.filter(pk=entry.pk).update(
            external_id="", posted_at=None, status=JournalStatus.EXPORTED, post_attempts=0
        )
    # when posting runs again
    assert _post(tenant) == {"posted": 0, "already_posted": 1, "failed": 0}
    assert len(sim.quickbooks.journals(connection.realm_id)) == 1


def test_a_refused_refresh_token_stops_posting_and_asks_to_connect_again(tenant: Tenant, sim: SimulatorServer) -> None:
    _connect(tenant, sim)
    _journal(tenant, "AMZ-120000000001", "5.00")
    with tenant_scope(tenant):
        connection = quickbooks_connection_get(tenant=tenant)
        connection.set_secrets({**connection.secret_values(), "access_token": "", "refresh_token": "RT1-revoked"})
        connection.save(update_fields=["secrets"])
        with pytest.raises(QuickBooksAuthError):
            journals_post(tenant=tenant, sleep=lambda seconds: None)
        connection.refresh_from_db()
        assert connection.status == QuickBooksStatus.NEEDS_REAUTH
        with pytest.raises(QuickBooksNotConnected):
            journals_post(tenant=tenant, sleep=lambda seconds: None)


def test_another_tenants_connection_and_journals_are_invisible(
    tenant: Tenant, other_tenant: Tenant, sim: SimulatorServer
) -> None:
    # given two companies each connected to its own QuickBooks company, each with a journal of the same number
    mine = _connect(tenant, sim, name="Mine Inc")
    theirs = _connect(other_tenant, sim, name="Theirs Ltd")
    _journal(tenant, "AMZ-130000000001", "7.00")
    other_entry = _journal(other_tenant, "AMZ-130000000001", "8.00")
    # when the first tenant posts
    assert _post(tenant)["posted"] == 1
    # then only its journal went, and only to its company
    assert [j["DocNumber"] for j in sim.quickbooks.journals(mine.realm_id)] == ["AMZ-130000000001"]
    assert sim.quickbooks.journals(theirs.realm_id) == []
    with tenant_scope(other_tenant):
        other_entry.refresh_from_db()
        assert other_entry.status == JournalStatus.DRAFT
        assert quickbooks_connection_get(tenant=other_tenant).realm_id == theirs.realm_id
    with tenant_scope(tenant):
        assert QuickBooksConnection.objects.count() == 1
    # and a tenant with no connection cannot post through anyone else's
    lonely = Tenant.objects.create(name="Lonely", slug="lonely")
    with tenant_scope(lonely), pytest.raises(QuickBooksNotConnected):
        journals_post(tenant=lonely)


def test_connect_quickbooks_and_post_journals_commands(tenant: Tenant, sim: SimulatorServer) -> None:
    realm, refresh = _company(sim)
    credentials = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "realm_id": realm, "refresh_token": refresh}
    out = StringIO()
    call_command(
        "connect_quickbooks",
        "--tenant",
        tenant.slug,
        "--endpoint",
        sim.quickbooks.endpoint,
        "--credentials",
        json.dumps(credentials),
        stdout=out,
    )
    connected = json.loads(out.getvalue().strip().splitlines()[-1])
    assert connected["connected"] is True and connected["realm_id"] == realm
    assert "Amazon FBA Fees" in connected["unmatched_accounts"]
    _journal(tenant, "AMZ-140000000001", "9.00")
    for expected in ({"posted": 1, "already_posted": 0, "failed": 0}, {"posted": 0, "already_posted": 0, "failed": 0}):
        out = StringIO()
        call_command(
            "post_journals", "--tenant", tenant.slug, "--month", timezone.now().strftime("%Y-%m"), "--json", stdout=out
        )
        assert json.loads(out.getvalue().strip().splitlines()[-1]) == expected
    with pytest.raises(CommandError, match="missing client_secret, realm_id, refresh_token"):
        call_command("connect_quickbooks", "--tenant", tenant.slug, "--credentials", json.dumps({"client_id": "x"}))
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("post_journals", "--tenant", tenant.slug, "--month", "2026/11")


_QBO_TYPES = {
    AccountType.REVENUE: "Income",
    AccountType.OTHER_INCOME: "Other Income",
    AccountType.EXPENSE: "Expense",
    AccountType.CURRENT_ASSET: "Other Current Asset",
    AccountType.BANK: "Bank",
    AccountType.CURRENT_LIABILITY: "Other Current Liability",
}


def test_a_settlement_crossing_a_month_end_posts_as_its_two_journals_each_once(
    tenant: Tenant, sim: SimulatorServer
) -> None:
    # given a QuickBooks company set up with ACORN's whole default chart, and an Amazon settlement across a month end
    realm = sim.quickbooks.add_company("Full Chart Co")
    for default in DEFAULT_CHART:
        sim.quickbooks.add_account(realm, default.name, _QBO_TYPES[AccountType(default.account_type)])
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    with tenant_scope(tenant):
        quickbooks_connect(
            tenant=tenant,
            actor=None,
            realm_id=realm,
            api_base=sim.quickbooks.endpoint,
            refresh_token=sim.quickbooks.issue_refresh_token(CLIENT_ID, realm),
            app=AppCredentials(CLIENT_ID, CLIENT_SECRET),
        )
        assert quickbooks_connection_get(tenant=tenant).unmatched_accounts == []
        october, november = settlement_journals(
            settlement=ledger_tests._settlement(store, ledger_tests._crossing_lines(), total="116.25")
        )
    # when posting runs (twice)
    assert _post(tenant) == {"posted": 2, "already_posted": 0, "failed": 0}
    assert _post(tenant) == {"posted": 0, "already_posted": 0, "failed": 0}
    # then QuickBooks has both parts, dated in their months, and each says what ACORN's journal says
    journals = {j["DocNumber"]: j for j in sim.quickbooks.journals(realm)}
    assert set(journals) == {"AMZ-12948507001-1", "AMZ-12948507001-2"}
    with tenant_scope(tenant):
        for entry in (october, november):
            entry.refresh_from_db()
            posted = journals[entry.number]
            assert posted["TxnDate"] == entry.date.isoformat() and posted["Id"] == entry.external_id
            sent = sorted(
                (line["JournalEntryLineDetail"]["AccountRef"]["value"], line["JournalEntryLineDetail"]["PostingType"],
                 Decimal(str(line["Amount"])))
                for line in posted["Line"]
            )  # fmt: skip
            ours = sorted(
                (line.account.quickbooks_id, "Debit" if line.amount > 0 else "Credit", abs(line.amount))
                for line in entry.lines.select_related("account")
            )
            assert sent == ours

"""The ledger console: accounts, the account mapping (with the rebuild it queues), journals (list and page),
the statement page's journals box and "Build journals", periods (close, reopen); both languages, the roles,
and another tenant's ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from acorn.audit.models import AuditEvent
from acorn.fx.models import ExchangeRate
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Platform, Store
from finance import views
from finance.ledger.chart import chart_ensure
from finance.ledger.services import journals_lock, settlement_journals
from finance.models import (
    Account,
    AccountMapping,
    AccountType,
    Category,
    ClosedPeriod,
    JournalEntry,
    JournalSource,
    JournalStatus,
    LedgerRole,
    Settlement,
)
from finance.settlements.services import category_rule_set, settlement_lines_recategorise
from finance.tasks import rebuild_channel_journals_task
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory
from tests.finance.console_data import UNKNOWN_FEE, import_statement

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
MakeMember = Callable[..., Membership]
REBUILD = "finance.rebuild_channel_journals"


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon NA", platform=Platform.AMAZON)


@pytest.fixture
def settlement(tenant: Tenant, store: Store) -> Settlement:
    """A statement crossing the October/November month end, with one unknown fee (suspense)."""
    with tenant_scope(tenant):
        return import_statement(store)


@pytest.fixture
def journals(tenant: Tenant, settlement: Settlement) -> list[JournalEntry]:
    with tenant_scope(tenant):
        return settlement_journals(settlement=settlement)


@pytest.fixture
def finance_client(tenant: Tenant, make_member: MakeMember, client_for: ClientFor) -> Client:
    return client_for(make_member(tenant, Role.FINANCE))


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Callable[..., object]) -> Callable[[], object]:
    """Run what services queue "after the commit" (the test's transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _client(client: Client, language: str) -> Client:
    if language == "zh-hans":
        client.cookies["django_language"] = "zh-hans"
    return client


def _page(client: Client, url: str, language: str = "en") -> str:
    response = _client(client, language).get(url)
    assert response.status_code == 200, url
    body = response.content.decode()
    assert f'lang="{language}"' in body
    return body


def _account(tenant: Tenant, key: str) -> Account:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        return Account.objects.get(tenant=tenant, key=key)


def _messages(response: object) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- every page, with data and empty, in both languages -----------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", {"accounts": "Sales Tax Collected", "mapping": "Overrides per store and marketplace",
                "journals": "Debits", "detail": "Balanced: debits equal credits", "periods": "Close the month"}),
        ("zh-hans", {"accounts": "科目", "mapping": "按店铺和站点覆盖", "journals": "借方",
                     "detail": "借方等于贷方", "periods": "结账"}),
    ],
)  # fmt: skip
def test_the_ledger_pages_show_their_data_in_both_languages(
    owner_client: Client, tenant: Tenant, journals: list[JournalEntry], language: str, words: dict[str, str]
) -> None:
    october, november = journals
    body = _page(owner_client, reverse("finance:account-list"), language)
    assert "Amazon Sales" in body and "AMZ100" in body and words["accounts"] in body
    body = _page(owner_client, reverse("finance:account-mapping"), language)
    assert words["mapping"] in body and 'id="mapping-table"' in body
    body = _page(owner_client, reverse("finance:journal-list"), language)
    assert october.number in body and november.number in body and words["journals"] in body
    assert reverse("finance:journal-detail", args=[november.pk]) in body
    body = _page(owner_client, reverse("finance:journal-detail", args=[november.pk]), language)
    assert words["detail"] in body and "Amazon Clearing" in body
    assert reverse("finance:settlement-detail", args=[november.settlement_id]) in body
    body = _page(owner_client, reverse("finance:period-list"), language)
    assert "2026-10" in body and "2026-11" in body and words["periods"] in body
    body = _page(owner_client, reverse("finance:account-create"), language)
    assert 'name="code"' in body
    body = _page(owner_client, reverse("finance:account-edit", args=[_account(tenant, "amazon_sales").pk]), language)
    assert 'value="Amazon Sales"' in body


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_empty_pages_say_so(owner_client: Client, language: str) -> None:
    body = _page(owner_client, reverse("finance:journal-list"), language)
    assert 'id="journal-table"' not in body
    assert ("No journals yet." if language == "en" else "还没有日记账") in body
    body = _page(owner_client, reverse("finance:period-list"), language)
    assert timezone.now().strftime("%Y-%m") in body  # the current month is always listed
    body = _page(owner_client, reverse("finance:account-mapping") + "?channel=shopify", language)
    assert 'id="no-overrides"' in body and "Shopify Sales" in body
    # the chart is made on first use
    body = _page(owner_client, reverse("finance:account-list"), language)
    assert "ACORN Suspense" in body


def test_the_finance_navigation_lists_the_ledger_sections(owner_client: Client) -> None:
    body = _page(owner_client, reverse("finance:settlement-list"))
    for name in ("finance:journal-list", "finance:account-list", "finance:account-mapping", "finance:period-list"):
        assert f'href="{reverse(name)}"' in body


# --- accounts ---------------------------------------------------------------------------------------------------


def _account_form(**changes: str) -> dict[str, str]:
    return {
        "name": "Marketplace Sales:Amazon DE",
        "code": "4010",
        "account_type": AccountType.REVENUE,
        "tax_rate": "Tax Exempt",
        "platform": Platform.AMAZON,
        **changes,
    }


def test_finance_adds_an_account_and_it_is_audited(finance_client: Client, tenant: Tenant) -> None:
    response = finance_client.post(reverse("finance:account-create"), _account_form())
    assert response.status_code == 302 and response["Location"] == reverse("finance:account-list")
    with tenant_scope(tenant):
        account = Account.objects.get(tenant=tenant, name="Marketplace Sales:Amazon DE")
        assert (account.code, account.key, account.active) == ("4010", "", True)
        assert AuditEvent.objects.filter(tenant=tenant, action="finance.account_created").count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "amazon sales"}, "name", "Another account is already called “amazon sales”."),
        ({"code": "amz100"}, "code", "Another account already has the code “amz100”."),
        ({"code": "SALES-AMAZON-DE"}, "code", "Xero takes account codes of at most 10 characters"),
        ({"code": "40 10"}, "code", "An account code cannot contain spaces."),
        ({"name": "Sales::Amazon"}, "name", "Each part of a “Parent:Sub” name needs text"),
        ({"name": "Sales : Amazon"}, "name", "without spaces around the colon"),
        ({"tax_rate": " "}, "tax_rate", "This field is required."),
        ({"account_type": "equity"}, "account_type", "Select a valid choice."),
    ],
)
def test_account_validation_names_the_field(
    finance_client: Client, tenant: Tenant, changes: dict[str, str], field: str, message: str
) -> None:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
    response = finance_client.post(reverse("finance:account-create"), _account_form(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    with tenant_scope(tenant):
        assert not Account.objects.filter(tenant=tenant, key="").exists()


def test_account_validation_messages_are_translated(finance_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
    response = _client(finance_client, "zh-hans").post(
        reverse("finance:account-create"), _account_form(code="SALES-AMAZON-DE")
    )
    assert "Xero 的科目代码最多 10 个字符" in response.content.decode()


def test_editing_renames_an_account_and_deactivating_it_rebuilds_its_channels_journals(
    finance_client: Client,
    tenant: Tenant,
    journals: list[JournalEntry],
    enqueued: EnqueuedTasks,
    committed: Callable[[], Any],
) -> None:
    fees = _account(tenant, "amazon_fees")
    url = reverse("finance:account-edit", args=[fees.pk])
    form = _account_form(name="6100 Amazon:Seller Fees", code="6100", account_type=AccountType.EXPENSE)
    with committed():
        response = finance_client.post(url, {**form, "active": "on"})
    assert response.status_code == 302
    assert not enqueued  # a rename changes no journal line
    fees.refresh_from_db()
    assert (fees.name, fees.code) == ("6100 Amazon:Seller Fees", "6100")

    with committed():
        finance_client.post(url, form)  # "active" unticked
    fees.refresh_from_db()
    assert not fees.active
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        (REBUILD, {"tenant_id": tenant.pk, "platform": "amazon", "store_id": None})
    ]
    enqueued.run_all()
    with tenant_scope(tenant):
        october = JournalEntry.objects.get(tenant=tenant, number=journals[0].number)
        line = october.lines.get(role=LedgerRole.SELLER_FEES)
        assert line.account.key == "suspense" and "not mapped" in line.description


def test_the_suspense_account_stays_active(finance_client: Client, tenant: Tenant) -> None:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
    suspense = _account(tenant, "suspense")
    form = _account_form(name=suspense.name, code=suspense.code, account_type=AccountType.CURRENT_ASSET, platform="")
    response = finance_client.post(reverse("finance:account-edit", args=[suspense.pk]), form)
    assert response.status_code == 400
    assert "it stays active" in str(response.context["form"].errors["active"])
    suspense.refresh_from_db()
    assert suspense.active


def test_an_account_in_a_locked_journal_cannot_be_deleted_but_an_unused_one_can(
    finance_client: Client, tenant: Tenant, store: Store, settlement: Settlement
) -> None:
    finance_client.post(reverse("finance:account-create"), _account_form())
    finance_client.post(reverse("finance:account-create"), _account_form(name="Unused", code="9999"))
    with tenant_scope(tenant):
        german = Account.objects.get(tenant=tenant, code="4010")
        unused = Account.objects.get(tenant=tenant, code="9999")
        mapping = AccountMapping.objects.create(
            tenant=tenant, role=LedgerRole.SALES, platform=Platform.AMAZON, store=store, account=german
        )
        entries = settlement_journals(settlement=settlement)
        journals_lock(entries=entries, status=JournalStatus.EXPORTED)
        mapping.delete()

    response = finance_client.post(reverse("finance:account-delete", args=[german.pk]), follow=True)
    assert "is in journals that were exported or posted: deactivate it instead." in " ".join(_messages(response))
    body = finance_client.get(reverse("finance:account-edit", args=[german.pk])).content.decode()
    assert 'id="account-locked-note"' in body
    default = _account(tenant, "amazon_sales")
    response = finance_client.post(reverse("finance:account-delete", args=[default.pk]), follow=True)
    assert "one of the default accounts" in " ".join(_messages(response))
    response = finance_client.post(reverse("finance:account-delete", args=[unused.pk]))
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert set(Account.objects.filter(tenant=tenant, key="").values_list("code", flat=True)) == {"4010"}
        assert AccountMapping.objects.filter(tenant=tenant, account=default).exists()


# --- the mapping --------------------------------------------------------------------------------------------


def _mapping_form(tenant: Tenant, platform: str = Platform.AMAZON, **changes: str) -> dict[str, str]:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        current = dict(
            AccountMapping.objects.filter(
                tenant=tenant, platform=platform, store__isnull=True, marketplace=""
            ).values_list("role", "account_id")
        )
    form = {"channel": platform}
    for role in LedgerRole.values:
        if role != LedgerRole.SUSPENSE:
            form[role] = str(current.get(role, ""))
    return {**form, **changes}


def test_a_mapping_change_queues_the_rebuild_which_adjusts_a_locked_journal_and_rebuilds_drafts(
    finance_client: Client,
    tenant: Tenant,
    settlement: Settlement,
    enqueued: EnqueuedTasks,
    committed: Callable[[], Any],
) -> None:
    # given: the October part exported (locked), the November part a draft; storage fees are in November
    with tenant_scope(tenant):
        october, november = settlement_journals(settlement=settlement)
        journals_lock(entries=[october], status=JournalStatus.EXPORTED)
        october_lines = sorted(october.lines.values_list("account_id", "amount"))
    fees = _account(tenant, "amazon_fees")

    # when: seller fees and storage fees both go to one new account
    finance_client.post(reverse("finance:account-create"), _account_form(name="All Amazon fees", code="6000",
                                                                         account_type=AccountType.EXPENSE))  # fmt: skip
    with tenant_scope(tenant):
        combined = Account.objects.get(tenant=tenant, code="6000")
    form = _mapping_form(tenant, seller_fees=str(combined.pk), storage_fees=str(combined.pk))
    with committed():
        response = finance_client.post(reverse("finance:account-mapping"), form, follow=True)

    # then: saved, said so, and one rebuild of the channel is queued (after the commit)
    assert response.status_code == 200
    assert "2 roles mapped anew." in _messages(response)
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        (REBUILD, {"tenant_id": tenant.pk, "platform": "amazon", "store_id": None})
    ]
    (result,) = enqueued.run_all()
    assert len(result["adjustments"]) == 1 and not result["failed"]
    with tenant_scope(tenant):
        october.refresh_from_db()
        assert sorted(october.lines.values_list("account_id", "amount")) == october_lines and october.locked
        adjustment = JournalEntry.objects.get(tenant=tenant, source=JournalSource.ADJUSTMENT)
        moves = {(line.account_id, line.amount) for line in adjustment.lines.all()}
        assert moves == {(fees.pk, Decimal("-3.75")), (combined.pk, Decimal("3.75"))}
        rebuilt = JournalEntry.objects.get(tenant=tenant, number=november.number)
        assert rebuilt.lines.get(role=LedgerRole.STORAGE_FEES).account_id == combined.pk
        assert AuditEvent.objects.filter(tenant=tenant, action="finance.account_mapping_changed").count() == 1
        # running the task again changes nothing more
        again = rebuild_channel_journals_task(tenant_id=tenant.pk, platform="amazon")
        assert again["adjustments"] == result["adjustments"]  # the unsent adjustment rebuilt, not doubled
        assert JournalEntry.objects.filter(tenant=tenant, source=JournalSource.ADJUSTMENT).count() == 1


def test_an_unmapped_role_shows_as_suspense_and_is_flagged(
    finance_client: Client, tenant: Tenant, enqueued: EnqueuedTasks, committed: Callable[[], Any]
) -> None:
    form = _mapping_form(tenant, advertising="")
    with committed():
        finance_client.post(reverse("finance:account-mapping"), form)
    with tenant_scope(tenant):
        assert not AccountMapping.objects.filter(tenant=tenant, platform="amazon", role="advertising").exists()
    body = finance_client.get(reverse("finance:account-mapping")).content.decode()
    assert 'id="unmapped-warning"' in body and "1 role goes to suspense." in body
    with committed():
        unchanged = finance_client.post(reverse("finance:account-mapping"), _mapping_form(tenant), follow=True)
    assert "Nothing changed." in _messages(unchanged)
    assert len(enqueued) == 1


def test_a_mapping_to_an_unknown_account_is_refused(finance_client: Client, tenant: Tenant) -> None:
    response = finance_client.post(reverse("finance:account-mapping"), _mapping_form(tenant, sales="999999"))
    assert response.status_code == 400 and "Select a valid choice." in response.content.decode()


def test_overrides_per_store_and_marketplace_are_added_and_removed(
    finance_client: Client, tenant: Tenant, store: Store, enqueued: EnqueuedTasks, committed: Callable[[], Any]
) -> None:
    sales = _account(tenant, "amazon_sales")
    url = reverse("finance:account-mapping-override")
    refused = finance_client.post(url, {"channel": "amazon", "role": "sales", "account": sales.pk})
    assert refused.status_code == 400
    assert "Choose a store or a marketplace" in refused.content.decode()

    with committed():
        added = finance_client.post(
            url, {"channel": "amazon", "role": "sales", "store": store.pk, "marketplace": "DE", "account": sales.pk}
        )
    assert added.status_code == 302
    with tenant_scope(tenant):
        override = AccountMapping.objects.get(tenant=tenant, store=store)
        assert (override.role, override.marketplace, override.account_id) == ("sales", "DE", sales.pk)
    assert [kwargs for _task, kwargs in enqueued] == [
        {"tenant_id": tenant.pk, "platform": "amazon", "store_id": store.pk}
    ]
    body = finance_client.get(reverse("finance:account-mapping")).content.decode()
    assert 'id="override-table"' in body and reverse("finance:account-mapping-delete", args=[override.pk]) in body

    with committed():
        finance_client.post(reverse("finance:account-mapping-delete", args=[override.pk]))
    with tenant_scope(tenant):
        assert not AccountMapping.objects.filter(tenant=tenant, store=store).exists()
    assert len(enqueued) == 2


# --- journals -----------------------------------------------------------------------------------------------


def test_journal_filters_narrow_the_list_and_a_bad_month_is_named(
    owner_client: Client, tenant: Tenant, journals: list[JournalEntry]
) -> None:
    october, november = journals
    url = reverse("finance:journal-list")
    body = owner_client.get(url, {"period": "2026-10"}).content.decode()
    assert october.number in body and november.number not in body
    body = owner_client.get(url, {"status": "exported"}).content.decode()
    assert "No journals match these filters." in body
    body = owner_client.get(url, {"source": "settlement", "status": "draft"}).content.decode()
    assert october.number in body and november.number in body
    response = owner_client.get(url, {"period": "2026-13"})
    assert response.status_code == 400
    assert "Enter a month as YYYY-MM, e.g. 2026-11." in response.content.decode()
    response = owner_client.get(url, {"store": "999999"})
    assert response.status_code == 400 and "Select a valid choice." in response.content.decode()


def test_journals_come_in_keyset_pages(
    owner_client: Client, journals: list[JournalEntry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "JOURNAL_PER_PAGE", 1)
    october, november = journals
    first = owner_client.get(reverse("finance:journal-list"))
    page = first.context["page"]
    assert [entry.number for entry in page.object_list] == [november.number] and page.has_next
    second = owner_client.get(reverse("finance:journal-list"), {"cursor": page.next_cursor})
    assert [entry.number for entry in second.context["page"].object_list] == [october.number]
    back = owner_client.get(reverse("finance:journal-list"), {"cursor": second.context["page"].previous_cursor})
    assert [entry.number for entry in back.context["page"].object_list] == [november.number]  # dates round-trip


def test_the_journal_page_proves_the_balance_and_shows_the_rate_or_its_absence(
    owner_client: Client, tenant: Tenant, settlement: Settlement
) -> None:
    with tenant_scope(tenant):
        ExchangeRate.objects.create(base="USD", quote="CNY", rate_date=date(2026, 10, 30), rate="7.1234", source="ecb")
        october, november = settlement_journals(settlement=settlement)
    body = _page(owner_client, reverse("finance:journal-detail", args=[november.pk]))
    assert "1 USD = 7.1234 CNY" in body and "2026-10-30, ecb" in body
    assert "Balanced: debits equal credits" in body
    assert 'id="suspense-note"' in body  # the unknown fee sits on suspense
    assert reverse("finance:journal-detail", args=[october.pk]) in body  # the other part
    lines = body.split('id="journal-totals"')[1]
    assert f">{november.debit_amount:.2f}<" in lines
    with tenant_scope(tenant):
        tenant.reporting_currency = "ISK"
        tenant.save(update_fields=["reporting_currency"])
        fresh = Settlement.objects.select_related("tenant").get(pk=settlement.pk)
        (entry,) = [e for e in settlement_journals(settlement=fresh) if e.part == 2]
    body = _page(owner_client, reverse("finance:journal-detail", args=[entry.pk]))
    assert "No rate to ISK for this date" in body, body.split('id="exchange-rate"')[1][:300]


def test_the_settlement_page_lists_its_journals_and_builds_them(
    finance_client: Client, tenant: Tenant, settlement: Settlement
) -> None:
    url = reverse("finance:settlement-detail", args=[settlement.pk])
    body = _page(finance_client, url)
    assert 'id="journals"' in body and "No journals yet" in body
    response = finance_client.post(reverse("finance:settlement-journals", args=[settlement.pk]), follow=True)
    assert "Journals written: AMZ-12948507001-1, AMZ-12948507001-2." in _messages(response)
    body = response.content.decode()
    with tenant_scope(tenant):
        october, november = JournalEntry.objects.filter(tenant=tenant).order_by("part")
        assert AuditEvent.objects.filter(tenant=tenant, action="finance.journals_built").count() == 1
    assert reverse("finance:journal-detail", args=[october.pk]) in body

    # after the export, a newly mapped type becomes an adjustment
    with tenant_scope(tenant):
        journals_lock(entries=[october, november], status=JournalStatus.EXPORTED)
        category_rule_set(
            tenant=tenant, platform=Platform.AMAZON, transaction_type="other-transaction",
            amount_type="other-transaction", amount_description=UNKNOWN_FEE, category=Category.SELLER_FEES, actor=None,
        )  # fmt: skip
        settlement_lines_recategorise(tenant=tenant, platform=Platform.AMAZON)
    response = finance_client.post(reverse("finance:settlement-journals", args=[settlement.pk]), follow=True)
    (warning,) = [m for m in _messages(response) if "adjustment journal" in m]
    assert "ADJ1-12948507001" in warning
    with tenant_scope(tenant):
        journals_lock(entries=JournalEntry.objects.filter(tenant=tenant, locked_at__isnull=True), status="exported")
    response = finance_client.post(reverse("finance:settlement-journals", args=[settlement.pk]), follow=True)
    assert "Nothing changed" in " ".join(_messages(response))


def test_the_build_button_is_for_finance_managers(client_for: ClientFor, make_member: MakeMember, tenant: Tenant,
                                                  settlement: Settlement) -> None:  # fmt: skip
    admin = client_for(make_member(tenant, Role.ADMIN))
    body = _page(admin, reverse("finance:settlement-detail", args=[settlement.pk]))
    assert 'id="journals"' in body and reverse("finance:settlement-journals", args=[settlement.pk]) not in body
    assert admin.post(reverse("finance:settlement-journals", args=[settlement.pk])).status_code == 403


# --- periods ------------------------------------------------------------------------------------------------


def test_finance_closes_a_month_and_only_the_owner_reopens_it_after_confirming(
    finance_client: Client, owner_client: Client, tenant: Tenant, journals: list[JournalEntry]
) -> None:
    response = finance_client.post(reverse("finance:period-close"), {"month": "2026-10"}, follow=True)
    assert "2026-10 is closed" in " ".join(_messages(response))
    with tenant_scope(tenant):
        assert ClosedPeriod.objects.filter(tenant=tenant, month=date(2026, 10, 1)).exists()
    body = response.content.decode()
    october_row = body.split("2026-10</a>")[1].split("</tr>")[0]
    assert "Closed" in october_row and "Reopen" not in october_row  # finance cannot reopen

    reopen = reverse("finance:period-reopen")
    assert finance_client.get(reopen, {"month": "2026-10"}).status_code == 403
    assert finance_client.post(reopen, {"month": "2026-10", "confirm": "on"}).status_code == 403
    body = _page(owner_client, reverse("finance:period-list"))
    assert f"{reopen}?month=2026-10" in body
    body = _page(owner_client, f"{reopen}?month=2026-10", "zh-hans")
    assert "重新打开" in body
    owner_client.cookies["django_language"] = "en"
    refused = owner_client.post(reopen, {"month": "2026-10"})
    assert refused.status_code == 400 and "Tick the box to confirm reopening the month." in refused.content.decode()
    with tenant_scope(tenant):
        assert ClosedPeriod.objects.filter(tenant=tenant).exists()
    owner_client.post(reopen, {"month": "2026-10", "confirm": "on"})
    with tenant_scope(tenant):
        assert not ClosedPeriod.objects.filter(tenant=tenant).exists()
        assert AuditEvent.objects.filter(tenant=tenant, action="finance.period_reopened").count() == 1


def test_a_bad_month_is_not_closed(finance_client: Client, tenant: Tenant) -> None:
    response = finance_client.post(reverse("finance:period-close"), {"month": "October"}, follow=True)
    assert "The month was not closed: Enter a month as YYYY-MM" in " ".join(_messages(response))
    with tenant_scope(tenant):
        assert not ClosedPeriod.objects.filter(tenant=tenant).exists()


def test_a_rebuild_into_a_closed_month_is_reported_not_forced(
    tenant: Tenant, settlement: Settlement, journals: list[JournalEntry]
) -> None:
    with tenant_scope(tenant):
        ClosedPeriod.objects.create(tenant=tenant, month=date(2026, 11, 1))
        AccountMapping.objects.filter(tenant=tenant, platform="amazon", role="sales").delete()
        result = rebuild_channel_journals_task(tenant_id=tenant.pk, platform="amazon")
        assert list(result["failed"]) == [str(settlement)] and "closed" in result["failed"][str(settlement)]
        assert {entry.pk for entry in JournalEntry.objects.filter(tenant=tenant)} == {e.pk for e in journals}


# --- who may do what ------------------------------------------------------------------------------------------


def _view_urls(tenant: Tenant, journal: JournalEntry) -> list[str]:
    return [
        reverse("finance:account-list"),
        reverse("finance:account-edit", args=[_account(tenant, "amazon_sales").pk]),
        reverse("finance:account-mapping"),
        reverse("finance:journal-list"),
        reverse("finance:journal-detail", args=[journal.pk]),
        reverse("finance:period-list"),
    ]


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.OPERATOR])
def test_support_and_operators_see_no_ledger(
    role: str, tenant: Tenant, journals: list[JournalEntry], make_member: MakeMember, client_for: ClientFor
) -> None:
    client = client_for(make_member(tenant, role))
    for url in [*_view_urls(tenant, journals[0]), reverse("finance:account-create")]:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("finance:account-create"), _account_form()).status_code == 403
    assert client.post(reverse("finance:period-close"), {"month": "2026-10"}).status_code == 403


def test_an_admin_sees_the_ledger_but_changes_nothing(
    tenant: Tenant, journals: list[JournalEntry], make_member: MakeMember, client_for: ClientFor
) -> None:
    client = client_for(make_member(tenant, Role.ADMIN))
    for url in _view_urls(tenant, journals[0]):
        assert client.get(url).status_code == 200, url
    body = client.get(reverse("finance:account-mapping")).content.decode()
    assert "Save the mapping" not in body and 'id="override-form"' not in body
    sales = _account(tenant, "amazon_sales")
    assert client.get(reverse("finance:account-create")).status_code == 403
    assert client.post(reverse("finance:account-edit", args=[sales.pk]), _account_form()).status_code == 403
    assert client.post(reverse("finance:account-mapping"), _mapping_form(tenant, sales="")).status_code == 403
    assert client.post(reverse("finance:period-close"), {"month": "2026-10"}).status_code == 403
    with tenant_scope(tenant):
        assert AccountMapping.objects.filter(tenant=tenant, platform="amazon", role="sales").exists()
        assert not ClosedPeriod.objects.filter(tenant=tenant).exists()


# --- another tenant -------------------------------------------------------------------------------------------


def test_another_tenants_accounts_journals_and_mappings_answer_404(
    tenant: Tenant,
    store: Store,
    journals: list[JournalEntry],
    other_owner: Membership,
    client_for: ClientFor,
) -> None:
    with tenant_scope(tenant):
        override = AccountMapping.objects.create(
            tenant=tenant, role="sales", platform="amazon", store=store, account=_account(tenant, "amazon_sales")
        )
    account = _account(tenant, "amazon_sales")
    client = client_for(other_owner)
    for url in (
        reverse("finance:account-edit", args=[account.pk]),
        reverse("finance:journal-detail", args=[journals[0].pk]),
    ):
        assert client.get(url).status_code == 404
    assert client.post(reverse("finance:account-edit", args=[account.pk]), _account_form()).status_code == 404
    assert client.post(reverse("finance:account-delete", args=[account.pk])).status_code == 404
    assert client.post(reverse("finance:account-mapping-delete", args=[override.pk])).status_code == 404
    assert client.post(reverse("finance:settlement-journals", args=[journals[0].settlement_id])).status_code == 404
    # and B's own pages show nothing of A's
    body = client.get(reverse("finance:journal-list")).content.decode()
    assert journals[0].number not in body
    body = client.get(reverse("finance:account-mapping")).content.decode()
    assert 'id="override-table"' not in body
    # an override naming A's store or account from B's console is refused
    response = client.post(
        reverse("finance:account-mapping-override"),
        {"channel": "amazon", "role": "sales", "store": store.pk, "account": account.pk},
    )
    assert response.status_code == 400
    with tenant_scope(tenant):
        assert AccountMapping.objects.filter(tenant=tenant, pk=override.pk).exists()
        assert Account.objects.get(pk=account.pk).name == "Amazon Sales"


def test_dates_in_the_period_list_follow_the_clock(owner_client: Client) -> None:
    """The current month is listed whatever today is."""
    next_month = (timezone.now().date().replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    body = _page(owner_client, reverse("finance:period-list"))
    assert timezone.now().strftime("%Y-%m") in body and next_month not in body


def test_building_into_a_closed_month_dates_that_part_in_the_first_open_month_and_says_so(
    finance_client: Client, tenant: Tenant, settlement: Settlement
) -> None:
    finance_client.post(reverse("finance:period-close"), {"month": "2026-11"})
    response = finance_client.post(reverse("finance:settlement-journals", args=[settlement.pk]), follow=True)
    assert "Journals written: AMZ-12948507001-1, AMZ-12948507001-2." in _messages(response)
    with tenant_scope(tenant):
        october, november = JournalEntry.objects.filter(tenant=tenant).order_by("part")
        assert october.period == date(2026, 10, 1)
        assert november.date == november.period == date(2026, 12, 1)
        assert "(dated in 2026-12: 2026-11 is closed)" in november.narration


def test_a_shop_of_ones_own_is_overridden_per_store(
    finance_client: Client, tenant: Tenant, committed: Callable[[], Any], enqueued: EnqueuedTasks
) -> None:
    with tenant_scope(tenant):
        shop = StoreFactory(tenant=tenant, name="Outfitters", platform=Platform.SHOPIFY)
        amazon = StoreFactory(tenant=tenant, name="Amazon JP", platform=Platform.AMAZON)
    body = finance_client.get(reverse("finance:account-mapping"), {"channel": "shopify"}).content.decode()
    assert "Outfitters" in body and "Amazon JP" not in body.split('id="override-form"')[1]
    assert '<option value="DE">' not in body  # no marketplaces on a shop of one's own
    shipping = _account(tenant, "shopify_shipping")
    url = reverse("finance:account-mapping-override")
    wrong = finance_client.post(
        url, {"channel": "shopify", "role": "sales", "store": amazon.pk, "account": shipping.pk}
    )
    assert wrong.status_code == 400  # an Amazon store is no Shopify store
    with committed():
        finance_client.post(url, {"channel": "shopify", "role": "sales", "store": shop.pk, "account": shipping.pk})
    with tenant_scope(tenant):
        override = AccountMapping.objects.get(tenant=tenant, store=shop)
        assert (override.platform, override.role, override.marketplace) == ("shopify", "sales", "")
    assert [kwargs["platform"] for _task, kwargs in enqueued] == ["shopify"]

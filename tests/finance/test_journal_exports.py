"""Journal exports: each file read back by its importer's rules (QuickBooks Online CSV, QuickBooks Desktop IIF, Xero
manual journal CSV), the month-crossing and negative statements, foreign currency, tax never on revenue, locking,
re-download, the command-line contract, the console pages and another tenant."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from sp_api.auth import access_token_client

from acorn.audit.models import AuditEvent
from acorn.fx.models import ExchangeRate
from acorn.spreadsheets import BYTE_ORDER_MARK, csv_text_restore
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels import services
from channels.models import Platform, Store
from channels.sync import sync_run_execute
from finance.exports.formats import (
    IIF_END_HEADER,
    IIF_SPL_HEADER,
    IIF_TRNS_HEADER,
    QBO_HEADER,
    XERO_HEADER,
    XERO_MAX_LINES,
    JournalExportError,
)
from finance.exports.models import JournalExport
from finance.exports.services import EmptyExportScopeError, JournalExportOptions, journals_export
from finance.ledger.chart import chart_ensure, mapping_table
from finance.ledger.services import LineDraft, journal_write, settlement_journals
from finance.models import (
    Account,
    AccountType,
    Category,
    JournalEntry,
    JournalSource,
    JournalStatus,
    LedgerRole,
    Settlement,
)
from finance.settlements.woocommerce import woocommerce_statement_build
from orders.models import Order
from simulator.server import SimulatorServer
from simulator.world import ManualClock, World
from tests.factories import StoreFactory
from tests.finance.console_data import END, OCTOBER, import_statement, line

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]
MakeMember = Callable[..., Membership]
MINOR_UNITS = {"USD": 2, "EUR": 2, "JPY": 0, "GBP": 2}


# --- the importers' rules, as tests read the files back ---------------------------------------------------------


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def read_qbo(content: bytes, *, date_pattern: str = "%m/%d/%Y") -> dict[str, list[dict[str, str]]]:
    """QuickBooks Online's journal import: the columns, one of Debits / Credits per row and never negative, each
    Journal No. (≤ 21 characters) balanced, dates in the company's format, amounts in the currency's minor unit."""
    text = content.decode("utf-8")
    assert text.startswith(BYTE_ORDER_MARK)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert tuple(rows[0]) == QBO_HEADER
    journals: dict[str, list[dict[str, str]]] = defaultdict(list)
    for cells in rows[1:]:
        row = dict(zip(QBO_HEADER, cells, strict=True))
        debit, credit = row["Debits"], row["Credits"]
        assert bool(debit) != bool(credit), row
        amount = Decimal(debit or credit)
        assert amount > 0, row
        assert _decimals(debit or credit) == MINOR_UNITS[row["Currency"]], row
        datetime.strptime(row["Journal Date"], date_pattern)
        assert row["Account Name"] and len(row["Journal No."]) <= 21
        journals[row["Journal No."]].append(row)
    for number, lines in journals.items():
        debits = sum(Decimal(row["Debits"] or 0) for row in lines)
        credits = sum(Decimal(row["Credits"] or 0) for row in lines)
        assert debits == credits, number
        assert len({row["Journal Date"] for row in lines}) == 1 and len({row["Currency"] for row in lines}) == 1
    return dict(journals)


def read_iif(content: bytes) -> list[list[dict[str, str]]]:
    """QuickBooks Desktop's IIF: CRLF lines, the three header rows exactly, TRNS then SPL rows then ENDTRNS, tab
    separated with as many cells as the header, GENERAL JOURNAL, MM/DD/YYYY, each block summing to zero."""
    assert content.count(b"\n") == content.count(b"\r\n") and content.endswith(b"\r\n")
    rows = [row.split("\t") for row in content.decode("utf-8").split("\r\n")[:-1]]
    assert [tuple(row) for row in rows[:3]] == [IIF_TRNS_HEADER, IIF_SPL_HEADER, IIF_END_HEADER]
    blocks: list[list[dict[str, str]]] = []
    block: list[dict[str, str]] | None = None
    for row in rows[3:]:
        if row == ["ENDTRNS"]:
            assert block, "ENDTRNS without a transaction"
            assert sum(Decimal(split["AMOUNT"]) for split in block) == 0, block
            assert len({(split["DATE"], split["DOCNUM"]) for split in block}) == 1
            blocks.append(block)
            block = None
            continue
        header = IIF_TRNS_HEADER if row[0] == "TRNS" else IIF_SPL_HEADER
        assert len(row) == len(header), row
        cells = dict(zip(header[1:], row[1:], strict=True))
        if row[0] == "TRNS":
            assert block is None, "TRNS inside a transaction"
            block = []
        else:
            assert row[0] == "SPL" and block is not None, row
        assert cells["TRNSTYPE"] == "GENERAL JOURNAL" and re.fullmatch(r"\d{2}/\d{2}/\d{4}", cells["DATE"])
        datetime.strptime(cells["DATE"], "%m/%d/%Y")
        assert cells["ACCNT"] and Decimal(cells["AMOUNT"]) != 0
        block.append(cells)
    assert block is None, "a transaction without ENDTRNS"
    return blocks


def read_xero(content: bytes, *, date_pattern: str = "%d/%m/%Y") -> dict[tuple[str, str], list[dict[str, str]]]:
    """Xero's manual journal import: the template's columns, at most 300 lines, every line with a code, a tax rate
    and an amount, journals (same narration and date) balanced."""
    text = content.decode("utf-8")
    assert text.startswith(BYTE_ORDER_MARK)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert tuple(rows[0]) == XERO_HEADER
    assert 1 <= len(rows) - 1 <= XERO_MAX_LINES
    journals: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for cells in rows[1:]:
        row = dict(zip(XERO_HEADER, cells, strict=True))
        assert row["*Narration"] and row["*AccountCode"] and row["*TaxRate"], row
        datetime.strptime(row["*Date"], date_pattern)
        assert Decimal(row["*Amount"]) != 0
        journals[(row["*Narration"], row["*Date"])].append(row)
    for key, lines in journals.items():
        assert sum(Decimal(row["*Amount"]) for row in lines) == 0, key
    return dict(journals)


# --- data ------------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _dollar_books(tenant: Tenant) -> None:
    """The company keeps its books in US dollars (the factory's CNY would convert every IIF and Xero file)."""
    tenant.reporting_currency = "USD"
    tenant.save(update_fields=["reporting_currency"])


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon NA", marketplaces=["US"])


@pytest.fixture
def crossing(tenant: Tenant, store: Store) -> Settlement:
    """October 25 - November 8, deposit November 10: 31.22 USD, one fee nobody maps."""
    with tenant_scope(tenant):
        return import_statement(store)


def _export(tenant: Tenant, export_format: str, **scope: Any) -> JournalExport:
    with tenant_scope(tenant):
        return journals_export(tenant=tenant, format=export_format, actor=None, **scope)


def _files(export: JournalExport) -> list[bytes]:
    with tenant_scope(export.tenant):
        return [bytes(file.content) for file in export.files.order_by("position")]


def _journals(tenant: Tenant, settlement: Settlement) -> list[JournalEntry]:
    with tenant_scope(tenant):
        return list(JournalEntry.objects.filter(tenant=tenant, settlement=settlement).order_by("part"))


# --- QuickBooks Online -----------------------------------------------------------------------------------------


def test_a_month_crossing_statement_exports_to_quickbooks_online_as_two_balanced_journals_through_carried_forward(
    tenant: Tenant, store: Store, crossing: Settlement
) -> None:
    # when
    export = _export(tenant, "qbo", settlement=crossing)
    (content,) = _files(export)
    journals = read_qbo(content)
    # then: two journals, each dated in its month, in USD, with store as class and marketplace as location
    assert list(journals) == ["AMZ-12948507001-1", "AMZ-12948507001-2"]
    october, november = journals.values()
    assert {row["Journal Date"] for row in october} == {OCTOBER.strftime("%m/%d/%Y")}
    assert {row["Journal Date"] for row in november} == {(END + timedelta(days=2)).strftime("%m/%d/%Y")}
    assert {row["Currency"] for row in october + november} == {"USD"}
    assert {row["Class"] for row in october} == {"Amazon NA"} and "US" in {row["Location"] for row in october}
    assert all(row["Name"] == "" for row in october + november)

    # the pair sums to the deposit through the carried-forward account
    def signed(rows: list[dict[str, str]], account: str) -> Decimal:
        return sum(Decimal(r["Debits"] or 0) - Decimal(r["Credits"] or 0) for r in rows if r["Account Name"] == account)

    carried = "Amazon Carried Forward Balance"
    assert signed(october, carried) > 0 and signed(october, carried) + signed(november, carried) == 0
    assert signed(november, "Amazon Clearing") == Decimal("31.22") == crossing.total_amount
    # every line of the ledger is in the file (none dropped, none added)
    entries = _journals(tenant, crossing)
    assert export.journal_count == 2 and export.line_count == sum(entry.line_count for entry in entries)
    assert sum(len(rows) for rows in journals.values()) == export.line_count


def test_quickbooks_online_takes_the_day_first_date_and_tracking_can_be_left_out(
    tenant: Tenant, crossing: Settlement
) -> None:
    with tenant_scope(tenant):
        export = journals_export(
            tenant=tenant,
            format="qbo",
            settlement=crossing,
            actor=None,
            options=JournalExportOptions(date_format="dmy", tracking=False),
        )
    journals = read_qbo(_files(export)[0], date_pattern="%d/%m/%Y")
    rows = [row for rows in journals.values() for row in rows]
    assert {row["Journal Date"] for row in rows} == {"30/10/2026", "10/11/2026"}
    assert {row["Class"] for row in rows} == {""} and {row["Location"] for row in rows} == {""}


def test_yen_has_no_decimals_in_any_format(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        japan = StoreFactory(tenant=tenant, name="Amazon JP", region="FE", marketplaces=["JP"])
        settlement = import_statement(
            japan,
            settlement_id="5550001",
            currency="JPY",
            total="1180",
            lines=[
                line(2, "Order", "ItemPrice", "Principal", "1500", "503-1", marketplace_name="Amazon.co.jp"),
                line(3, "Order", "ItemFees", "Commission", "-225", "503-1", marketplace_name="Amazon.co.jp"),
                line(
                    4, "Order", "ItemFees", "FBAPerUnitFulfillmentFee", "-95", "503-1", marketplace_name="Amazon.co.jp"
                ),
            ],
        )
        tenant.reporting_currency = "JPY"
        tenant.save(update_fields=["reporting_currency"])
    (qbo,) = _files(_export(tenant, "qbo", settlement=settlement))
    rows = [row for rows in read_qbo(qbo).values() for row in rows]
    assert {row["Currency"] for row in rows} == {"JPY"}
    assert "1500" in {row["Credits"] for row in rows} and "1180" in {row["Debits"] for row in rows}
    (content,) = _files(_export(tenant, "iif", settlement=settlement))
    assert all("." not in split["AMOUNT"] for block in read_iif(content) for split in block)
    (content,) = _files(_export(tenant, "xero", settlement=settlement))
    assert all("." not in row["*Amount"] for rows in read_xero(content).values() for row in rows)


# --- QuickBooks Desktop IIF ------------------------------------------------------------------------------------


def test_iif_has_the_exact_headers_crlf_and_one_zero_sum_block_per_journal(
    tenant: Tenant, crossing: Settlement
) -> None:
    (content,) = _files(_export(tenant, "iif", settlement=crossing))
    blocks = read_iif(content)
    assert [block[0]["DOCNUM"] for block in blocks] == ["AMZ-12948507001-1", "AMZ-12948507001-2"]
    assert [block[0]["DATE"] for block in blocks] == ["10/30/2026", "11/10/2026"]
    assert {split["CLASS"] for block in blocks for split in block} == {"Amazon NA"}
    november = {split["ACCNT"]: Decimal(split["AMOUNT"]) for split in blocks[1]}
    assert november["Amazon Clearing"] == Decimal("31.22")  # the deposit, a debit, positive
    assert november["Amazon Sales"] == Decimal("-10.00")  # a credit, negative


def test_iif_values_cannot_cut_a_row_nor_run_as_a_formula(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        store.name = '=HYPERLINK("x")\tEvil\r\nStore'
        store.save(update_fields=["name"])
        settlement = import_statement(store, settlement_id="4440001")
    (content,) = _files(_export(tenant, "iif", settlement=settlement))
    classes = {split["CLASS"] for block in read_iif(content) for split in block}
    assert classes == {'\'=HYPERLINK("x") Evil Store'}
    assert csv_text_restore(classes.pop()) == '=HYPERLINK("x") Evil Store'
    (qbo,) = _files(_export(tenant, "qbo", settlement=settlement))
    assert {row["Class"][:2] for rows in read_qbo(qbo).values() for row in rows} == {"'="}


def _euro_store(tenant: Tenant) -> Store:
    return StoreFactory(tenant=tenant, name="Amazon DE", region="EU", marketplaces=["DE"])


def _euro_lines() -> list[Any]:
    de = {"marketplace_name": "Amazon.de"}
    return [
        line(2, "Order", "ItemPrice", "Principal", "10.01", "302-1", **de),
        line(3, "Order", "ItemPrice", "Shipping", "10.01", "302-1", **de),
        line(4, "other-transaction", "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE", "10.01", **de),
    ]


def test_a_euro_journal_in_iif_is_converted_to_the_home_currency_balanced_and_says_its_rate(tenant: Tenant) -> None:
    # given: a EUR statement, a USD company, and the ECB-style rate of the journal's date
    ExchangeRate.objects.create(
        base="EUR", quote="USD", rate_date=date(2026, 10, 1), rate=Decimal("1.0833"), source="ecb"
    )
    with tenant_scope(tenant):
        settlement = import_statement(_euro_store(tenant), settlement_id="7770001", currency="EUR", total="30.03",
                                      lines=_euro_lines())  # fmt: skip
    # when
    (content,) = _files(_export(tenant, "iif", settlement=settlement))
    (block,) = read_iif(content)
    # then: each line converted (10.01 x 1.0833 = 10.84, three times), the deposit (30.03 x 1.0833 = 32.53) less
    # the cent of rounding, said so, on the bank line
    amounts = {split["ACCNT"]: Decimal(split["AMOUNT"]) for split in block}
    assert amounts == {
        "Amazon Sales": Decimal("-10.84"),
        "Amazon Shipping Income": Decimal("-10.84"),
        "Amazon Reimbursements": Decimal("-10.84"),
        "Amazon Clearing": Decimal("32.52"),
    }
    bank = next(split for split in block if split["ACCNT"] == "Amazon Clearing")
    assert "30.03 EUR at 1.0833, ecb 2026-10-01" in bank["MEMO"]
    assert "-0.01 USD of conversion rounding" in bank["MEMO"]
    # Xero is in the base currency too; QuickBooks Online keeps the journal's currency
    (xero,) = _files(_export(tenant, "xero", settlement=settlement))
    rows = [row for rows in read_xero(xero).values() for row in rows]
    assert sorted(Decimal(row["*Amount"]) for row in rows) == [Decimal("-10.84")] * 3 + [Decimal("32.52")]
    (qbo,) = _files(_export(tenant, "qbo", settlement=settlement))
    assert {row["Currency"] for rows in read_qbo(qbo).values() for row in rows} == {"EUR"}


def test_a_foreign_journal_without_a_rate_is_refused_naming_it_and_nothing_is_recorded(tenant: Tenant) -> None:
    ExchangeRate.objects.all().delete()  # not even the reference rates
    with tenant_scope(tenant):
        settlement = import_statement(_euro_store(tenant), settlement_id="7770002", currency="EUR", total="30.03",
                                      lines=_euro_lines())  # fmt: skip
    with pytest.raises(JournalExportError, match="AMZ-7770002 is in EUR and has no exchange rate to USD"):
        _export(tenant, "iif", settlement=settlement)
    with tenant_scope(tenant):
        assert not JournalExport.objects.filter(tenant=tenant).exists()
        assert not JournalEntry.objects.filter(tenant=tenant, locked_at__isnull=False).exists()


# --- Xero ------------------------------------------------------------------------------------------------------


def _big_journal(tenant: Tenant, number: str, lines: int) -> JournalEntry:
    """A journal of `lines` lines (one bank line against `lines - 1` sales lines of 1.00)."""
    chart_ensure(tenant=tenant)
    sales = Account.objects.get(tenant=tenant, key="amazon_sales")
    bank = Account.objects.get(tenant=tenant, key="amazon_clearing")
    drafts = [LineDraft(sales, LedgerRole.SALES, Decimal("-1.00"), f"sale {n}") for n in range(lines - 1)]
    return journal_write(
        tenant=tenant,
        number=number,
        day=date(2026, 9, 15),
        source=JournalSource.ADJUSTMENT,
        currency="USD",
        narration=f"Big journal {number}",
        lines=[*drafts, LineDraft(bank, LedgerRole.BANK, Decimal(lines - 1), "deposit")],
    )


def test_xero_files_hold_at_most_300_lines_and_never_split_a_journal(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        for number in ("ADJ-A", "ADJ-B", "ADJ-C"):
            _big_journal(tenant, number, 120)
    export = _export(tenant, "xero", month=date(2026, 9, 1))
    files = _files(export)
    assert len(files) == 2
    journals = [read_xero(content) for content in files]
    assert [len(found) for found in journals] == [2, 1]  # 240 lines, then 120
    assert all(row["*TaxRate"] == "Tax Exempt" for found in journals for rows in found.values() for row in rows)
    assert all(row["*Date"] == "15/09/2026" for found in journals for rows in found.values() for row in rows)
    with tenant_scope(tenant):
        names = list(export.files.order_by("position").values_list("name", flat=True))
    assert [name.rsplit("-", 1)[1] for name in names] == ["1.csv", "2.csv"]


def test_a_journal_of_more_than_300_lines_is_refused_for_xero(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        _big_journal(tenant, "ADJ-HUGE", 301)
    with pytest.raises(JournalExportError, match="ADJ-HUGE has 301 lines"):
        _export(tenant, "xero", month=date(2026, 9, 1))


def test_xero_refuses_an_account_without_a_code_naming_it(tenant: Tenant, crossing: Settlement) -> None:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        Account.objects.filter(tenant=tenant, key="amazon_fees").update(code="", name="Marketplace fees")
    with pytest.raises(JournalExportError, match=r"Account “Marketplace fees” .* has no code"):
        _export(tenant, "xero", settlement=crossing)


def test_xero_tracks_store_and_marketplace_and_uses_each_accounts_tax_rate(
    tenant: Tenant, crossing: Settlement
) -> None:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        Account.objects.filter(tenant=tenant, key="amazon_sales").update(tax_rate="Zero Rated Income")
    (content,) = _files(_export(tenant, "xero", settlement=crossing))
    rows = [row for rows in read_xero(content).values() for row in rows]
    sales = [row for row in rows if row["*AccountCode"] == "AMZ100"]
    assert sales and {row["*TaxRate"] for row in sales} == {"Zero Rated Income"}
    assert {(row["TrackingName1"], row["TrackingOption1"]) for row in rows} == {("Store", "Amazon NA")}
    assert ("Marketplace", "US") in {(row["TrackingName2"], row["TrackingOption2"]) for row in rows}
    assert {row["*Narration"].split(" ", 1)[0] for row in rows} == {"AMZ-12948507001-1", "AMZ-12948507001-2"}


# --- statements ------------------------------------------------------------------------------------------------


def test_a_negative_settlement_exports_with_the_charge_credited_to_the_bank(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        settlement = import_statement(
            store,
            settlement_id="900001",
            total="-159.99",
            lines=[
                line(2, "other-transaction", "other-transaction", "Subscription Fee", "-39.99"),
                line(3, "ServiceFee", "Cost of Advertising", "TransactionTotalAmount", "-120.00"),
            ],
        )
    (qbo,) = _files(_export(tenant, "qbo", settlement=settlement))
    (rows,) = read_qbo(qbo).values()
    bank = next(row for row in rows if row["Account Name"] == "Amazon Clearing")
    assert (bank["Debits"], bank["Credits"]) == ("", "159.99")
    (content,) = _files(_export(tenant, "iif", settlement=settlement))
    (block,) = read_iif(content)
    assert {split["ACCNT"]: split["AMOUNT"] for split in block}["Amazon Clearing"] == "-159.99"


TAX_ROLES = (LedgerRole.TAX_COLLECTED, LedgerRole.TAX_WITHHELD)
INCOME = (AccountType.REVENUE, AccountType.OTHER_INCOME)


def test_tax_collected_and_withheld_never_reach_a_revenue_account_in_any_export(
    tenant: Tenant, crossing: Settlement
) -> None:
    # given: over every category of every channel, the default mapping keeps tax off income accounts
    with tenant_scope(tenant):
        settlement_journals(settlement=crossing)
        table = mapping_table(tenant=tenant)
        tax_accounts = set()
        for platform in Platform.values:
            for category in Category.values:
                account, _mapped = table.account_for(role=category, platform=platform, store_id=None, marketplace="")
                if category in TAX_ROLES:
                    assert account.account_type not in INCOME, (platform, category)
                    tax_accounts.add(account.pk)
        for platform in Platform.values:
            for category in Category.values:
                account, _mapped = table.account_for(role=category, platform=platform, store_id=None, marketplace="")
                if category not in TAX_ROLES:
                    assert account.pk not in tax_accounts, (platform, category)
        accounts = {account.name: account for account in Account.objects.filter(tenant=tenant)}
        by_code = {account.code: account for account in accounts.values()}
        tax_lines = {
            line.description: line.account.name
            for entry in _journals(tenant, crossing)
            for line in entry.lines.select_related("account")
            if line.role in TAX_ROLES
        }
    assert len(tax_lines) == 2  # the statement has both: tax collected and marketplace-withheld tax
    # when / then: in every format, the tax lines land on the liability accounts
    (qbo,) = _files(_export(tenant, "qbo", settlement=crossing))
    rows = [row for rows in read_qbo(qbo).values() for row in rows]
    for row in rows:
        if row["Description"] in tax_lines:
            assert accounts[row["Account Name"]].account_type == AccountType.CURRENT_LIABILITY
    (iif,) = _files(_export(tenant, "iif", settlement=crossing))
    for block in read_iif(iif):
        for split in block:
            if split["MEMO"] in tax_lines:
                assert accounts[split["ACCNT"]].account_type == AccountType.CURRENT_LIABILITY
    (xero,) = _files(_export(tenant, "xero", settlement=crossing))
    for found in read_xero(xero).values():
        for row in found:
            if row["Description"] in tax_lines:
                assert by_code[row["*AccountCode"]].account_type == AccountType.CURRENT_LIABILITY
    assert sum(1 for row in rows if row["Description"] in tax_lines) == 2


# --- locking, history, re-download -----------------------------------------------------------------------------


def test_export_locks_the_journals_records_and_audits_it_and_a_re_export_takes_the_same_journals_plus_new(
    tenant: Tenant, store: Store, crossing: Settlement, owner: Membership
) -> None:
    # when
    with tenant_scope(tenant):
        first = journals_export(tenant=tenant, format="qbo", store=store, actor=owner.user)
    # then: locked as exported, recorded with checksum, audited
    entries = _journals(tenant, crossing)
    assert {(entry.status, entry.locked) for entry in entries} == {(JournalStatus.EXPORTED, True)}
    with tenant_scope(tenant):
        (file,) = first.files.all()
        event = AuditEvent.objects.get(tenant=tenant, action="finance.journals_exported")
        assert set(first.journals.values_list("number", flat=True)) == {entry.number for entry in entries}
    assert event.after["files"] == {file.name: file.sha256} and event.actor_label == owner.user.email
    assert len(file.sha256) == 64 and file.size == len(bytes(file.content))

    # a new statement arrives: exporting the store again writes the old journals again and the new one
    with tenant_scope(tenant):
        later = import_statement(store, settlement_id="12948507002", start=END, end=END + timedelta(days=14))
        second = journals_export(tenant=tenant, format="qbo", store=store, actor=owner.user)
        numbers = set(second.journals.values_list("number", flat=True))
    assert numbers == {entry.number for entry in entries} | {entry.number for entry in _journals(tenant, later)}
    # re-downloading the first gives exactly its bytes
    assert _files(first) == [bytes(file.content)]


def test_an_empty_scope_is_refused(tenant: Tenant, store: Store) -> None:
    with pytest.raises(EmptyExportScopeError):
        _export(tenant, "qbo", month=date(2026, 1, 1))


def test_a_month_scope_takes_only_that_months_part_of_a_crossing_statement(
    tenant: Tenant, crossing: Settlement
) -> None:
    november = _export(tenant, "iif", month=date(2026, 11, 1))
    (block,) = read_iif(_files(november)[0])
    assert block[0]["DOCNUM"] == "AMZ-12948507001-2"
    october, later = _journals(tenant, crossing)
    assert (october.status, later.status) == (JournalStatus.DRAFT, JournalStatus.EXPORTED)


# --- command line ----------------------------------------------------------------------------------------------


def _command(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("export_journals", *args, stdout=out)
    return json.loads(out.getvalue().splitlines()[-1])


def test_the_command_writes_the_file_and_prints_the_contract_object(
    tenant: Tenant, crossing: Settlement, tmp_path: Path
) -> None:
    target = tmp_path / "books.iif"
    result = _command("--tenant", tenant.slug, "--format", "iif", "--out", str(target),
                      "--settlement", crossing.external_id, "--json")  # fmt: skip
    assert result["files"] == [str(target)]
    assert (result["journals"], result["balanced"]) == (2, True)
    assert result["lines"] == sum(entry.line_count for entry in _journals(tenant, crossing))
    assert len(read_iif(target.read_bytes())) == 2
    with tenant_scope(tenant):
        stored = JournalExport.objects.get(pk=result["export_id"]).files.get()
    assert bytes(stored.content) == target.read_bytes()


def test_the_command_writes_several_xero_files_into_a_directory_or_numbered_next_to_a_path(
    tenant: Tenant, tmp_path: Path
) -> None:
    with tenant_scope(tenant):
        for number in ("ADJ-A", "ADJ-B", "ADJ-C"):
            _big_journal(tenant, number, 120)
    result = _command("--tenant", tenant.slug, "--format", "xero", "--out", str(tmp_path / "xero.csv"),
                      "--month", "2026-09", "--json")  # fmt: skip
    assert result["files"] == [str(tmp_path / "xero-1.csv"), str(tmp_path / "xero-2.csv")]
    assert (result["journals"], result["lines"]) == (3, 360)
    folder = tmp_path / "out"
    folder.mkdir()
    again = _command("--tenant", tenant.slug, "--format", "xero", "--out", str(folder), "--month", "2026-09", "--json")
    assert [Path(path).parent for path in again["files"]] == [folder, folder]
    assert [read_xero(Path(path).read_bytes()) for path in again["files"]]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--settlement", "404404"], "no settlement '404404'"),
        (["--month", "2025-01"], "no journals to export"),
        (["--month", "2025-13"], "not a month"),
        (["--store", "999999"], "no store with id 999999"),
    ],
)
def test_the_command_exits_1_with_a_message(
    tenant: Tenant, crossing: Settlement, tmp_path: Path, extra: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("export_journals", "--tenant", tenant.slug, "--format", "qbo", "--out", str(tmp_path), *extra)
    assert list(tmp_path.iterdir()) == []


def test_the_command_refuses_an_unknown_tenant(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No tenant"):
        call_command("export_journals", "--tenant", "nobody", "--format", "qbo", "--out", str(tmp_path))


# --- another tenant --------------------------------------------------------------------------------------------


def test_another_tenant_cannot_export_or_see_this_tenants_journals(
    tenant: Tenant, other_tenant: Tenant, crossing: Settlement, store: Store, tmp_path: Path
) -> None:
    _export(tenant, "qbo", settlement=crossing)
    with tenant_scope(other_tenant), pytest.raises(ValueError, match="another tenant"):
        journals_export(tenant=other_tenant, format="qbo", settlement=crossing, actor=None)
    with tenant_scope(other_tenant):
        assert not JournalExport.objects.filter(tenant=other_tenant).exists()
    with pytest.raises(CommandError, match="no settlement"):
        call_command("export_journals", "--tenant", other_tenant.slug, "--format", "qbo", "--out", str(tmp_path),
                     "--settlement", crossing.external_id)  # fmt: skip
    with pytest.raises(CommandError, match="no store"):
        call_command("export_journals", "--tenant", other_tenant.slug, "--format", "qbo", "--out", str(tmp_path),
                     "--store", str(store.pk))  # fmt: skip
    with pytest.raises(CommandError, match="no journals"):
        call_command("export_journals", "--tenant", other_tenant.slug, "--format", "qbo", "--out", str(tmp_path))


def test_the_ledger_is_unchanged_by_an_export_of_built_journals(tenant: Tenant, crossing: Settlement) -> None:
    with tenant_scope(tenant):
        built = settlement_journals(settlement=crossing)
        before = [(entry.number, entry.debit_amount, entry.line_count) for entry in built]
    _export(tenant, "xero", settlement=crossing)
    after = [(entry.number, entry.debit_amount, entry.line_count) for entry in _journals(tenant, crossing)]
    assert after == before


# --- a month of the simulator's statements --------------------------------------------------------------------

SHOP = "books-e2e.myshopify.com"


def _simulated_store(tenant: Tenant, sim: SimulatorServer, platform: str) -> Store:
    with tenant_scope(tenant):
        if platform == "amazon":
            seller_id = sim.world.add_seller("NA", ["US"], orders_per_day=6).selling_partner_id
            store = services.store_create(tenant=tenant, actor=None, membership=None, platform="amazon",
                                          name="Amazon US", region="NA", marketplaces=["US"],
                                          permissions=["orders", "finance"], endpoint=sim.url)  # fmt: skip
            secrets = {"refresh_token": sim.world.issue_refresh_token(seller_id)}
        else:
            seller_id = SHOP
            store = services.store_create(tenant=tenant, actor=None, membership=None, platform="shopify",
                                          name="Shopify EU", permissions=["orders", "finance"],
                                          endpoint=f"{sim.url}/shopify/{SHOP}", seller_id=SHOP)  # fmt: skip
            secrets = {"access_token": sim.shopify.issue_access_token(SHOP)}
        store = services.store_authorize(store=store, actor=None, seller_id=seller_id, secrets=secrets,
                                         queue_sync=False)  # fmt: skip
        for _ in range(30):
            run = sync_run_execute(store=store, resource="settlements", trigger="command", sleep=lambda seconds: None)
            if run.status == "succeeded":
                return store
            assert run.status == "partial", f"{run.status} {run.error_code}: {run.message}"
    raise AssertionError("settlements not synced")


def test_a_month_of_the_simulators_settlements_and_payouts_exports_to_all_three_formats(
    tenant: Tenant, settings: Any
) -> None:
    # given: an Amazon US seller and a Shopify shop in euros, their statements synced over real HTTP
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 60
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120
    access_token_client.cache.clear()
    world = World(seed=11, clock=ManualClock(datetime.now(UTC).replace(microsecond=0)))
    with SimulatorServer(seed=11, faults="none", world=world) as sim:
        sim.shopify.add_shop(SHOP, currency="EUR", orders_per_day=6, history_days=50)
        stores = [_simulated_store(tenant, sim, "amazon"), _simulated_store(tenant, sim, "shopify")]
    with tenant_scope(tenant):
        statements = list(Settlement.objects.filter(tenant=tenant))
        assert {statement.store_id for statement in statements} == {store.pk for store in stores}
        for statement in statements:
            settlement_journals(settlement=statement)
        periods = list(JournalEntry.objects.filter(tenant=tenant).values_list("period", "store_id"))
    # the month with journals of both stores and the most journals
    both = {period for period, _store in periods if {s for p, s in periods if p == period} == {s.pk for s in stores}}
    month = max(both, key=lambda period: sum(1 for p, _store in periods if p == period))
    with tenant_scope(tenant):
        expected = {entry.number: entry for entry in JournalEntry.objects.filter(tenant=tenant, period=month)}
        lines = sum(entry.line_count for entry in expected.values())
        assert {entry.currency for entry in expected.values()} == {"USD", "EUR"}
    # when / then: every journal of the month in each format, by that importer's rules
    (qbo,) = _files(_export(tenant, "qbo", month=month))
    rows = read_qbo(qbo)
    assert set(rows) == set(expected) and sum(len(found) for found in rows.values()) == lines
    (iif,) = _files(_export(tenant, "iif", month=month))
    blocks = read_iif(iif)
    assert {block[0]["DOCNUM"] for block in blocks} == set(expected)
    xero = [read_xero(content) for content in _files(_export(tenant, "xero", month=month))]
    narrations = {narration.split(" ", 1)[0] for found in xero for narration, _day in found}
    assert narrations == set(expected)
    # the euro payouts are in dollars in IIF and Xero, each journal's deposit converted at its stored rate
    for block in blocks:
        entry = expected[block[0]["DOCNUM"]]
        if entry.currency == "EUR":
            assert entry.exchange_rate is not None and all(" EUR at " in split["MEMO"] for split in block)
    with tenant_scope(tenant):
        assert not JournalEntry.objects.filter(tenant=tenant, period=month, status=JournalStatus.DRAFT).exists()


def test_a_woocommerce_monthly_statement_exports_as_one_journal_with_its_tax_on_the_liability_account(
    tenant: Tenant,
) -> None:
    # given: a March of a WooCommerce shop (EUR, tax on top, a refund), its statement built after the month
    march = datetime(2026, 3, 10, 9, tzinfo=UTC)
    with tenant_scope(tenant):
        shop = StoreFactory(tenant=tenant, platform="woocommerce", name="Woo EU", region="", marketplaces=[])
        for number, (items, tax) in enumerate([("100.00", "19.00"), ("50.00", "9.50")], start=1):
            Order.objects.create(
                tenant=tenant, store=shop, external_id=str(100 + number), merchant_order_id=str(100 + number),
                purchased_at=march + timedelta(days=number), channel_updated_at=march, status="shipped",
                raw_status="completed", fulfillment_channel="merchant", currency="EUR", item_amount=Decimal(items),
                tax_amount=Decimal(tax), total_amount=Decimal(items) + Decimal(tax),
                tags=["payment_method:stripe", "payment_method_title:Credit card (Stripe)"],
            )  # fmt: skip
        [built] = woocommerce_statement_build(store=shop, month="2026-03", now=datetime(2026, 5, 1, tzinfo=UTC))
        statement = built.settlement
        assert statement is not None
    # when
    qbo = read_qbo(_files(_export(tenant, "qbo", store=shop, month=date(2026, 3, 1)))[0])
    (blocks,) = [read_iif(content) for content in _files(_export(tenant, "iif", store=shop))]
    xero = read_xero(_files(_export(tenant, "xero", settlement=statement))[0])
    # then: one journal, the same in every file; tax credited to the WooCommerce tax liability
    ((journal_number, journal_rows),) = qbo.items()
    assert len(blocks) == 1 and blocks[0][0]["DOCNUM"] == journal_number and len(xero) == 1
    credits = {row["Account Name"]: row["Credits"] for row in journal_rows if row["Credits"]}
    assert credits["WooCommerce Sales Tax Collected"] == "28.50" and credits["WooCommerce Sales"] == "150.00"
    assert {row["Journal Date"] for row in journal_rows} == {"03/31/2026"}


# --- console ---------------------------------------------------------------------------------------------------


def _post_export(client: Client, **data: Any) -> Any:
    return client.post(reverse("finance:journal-export"), {"format": "qbo", "tracking": "on", **data})


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ["Export journals", "QuickBooks Desktop (IIF)", "Date format"]), ("zh-hans", ["导出分录", "日期格式"])],
)
def test_the_export_page_offers_format_scope_and_date_format_in_both_languages(
    owner_client: Client, crossing: Settlement, language: str, words: list[str]
) -> None:
    owner_client.cookies["django_language"] = language
    response = owner_client.get(reverse("finance:journal-export") + f"?settlement={crossing.pk}")
    body = response.content.decode()
    assert response.status_code == 200 and f'lang="{language}"' in body
    assert f'<option value="{crossing.pk}" selected>12948507001' in body
    for word in words:
        assert word in body


def test_exporting_from_the_console_locks_lists_and_downloads_the_same_bytes_every_time(
    owner_client: Client, owner: Membership, tenant: Tenant, crossing: Settlement
) -> None:
    # when
    response = _post_export(owner_client, format="iif", settlement=crossing.pk, date_format="")
    # then
    with tenant_scope(tenant):
        export = JournalExport.objects.get(tenant=tenant)
        file = export.files.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?new={export.pk}")
    assert export.created_by == owner.user and export.format == "iif" and export.settlement == crossing
    history = owner_client.get(response["Location"]).content.decode()
    assert file.name in history and file.sha256 in history and owner.user.email in history
    url = reverse("finance:journal-export-download", args=[export.pk]) + "?file=1"
    first, second = owner_client.get(url), owner_client.get(url)
    assert first.status_code == 200 and first.content == second.content == bytes(file.content)
    assert first["Content-Disposition"] == f'attachment; filename="{file.name}"'
    assert len(read_iif(first.content)) == 2
    assert {entry.status for entry in _journals(tenant, crossing)} == {JournalStatus.EXPORTED}
    assert owner_client.get(reverse("finance:journal-export-download", args=[export.pk]) + "?file=2").status_code == 404


def test_the_console_shows_why_an_export_was_refused_and_keeps_nothing(
    owner_client: Client, tenant: Tenant, crossing: Settlement
) -> None:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        Account.objects.filter(tenant=tenant, key="amazon_fees").update(code="")
    no_scope = _post_export(owner_client, format="qbo")
    assert no_scope.status_code == 400 and "Choose a statement, a month or a store" in no_scope.content.decode()
    bad_month = _post_export(owner_client, format="qbo", month="2026-13")
    assert bad_month.status_code == 400 and "Enter a month such as 2026-11." in bad_month.content.decode()
    refused = _post_export(owner_client, format="xero", month="2026-10")
    assert refused.status_code == 400 and "has no code" in refused.content.decode()
    with tenant_scope(tenant):  # all or nothing: not even the journals built for the refused export are kept
        assert not JournalExport.objects.filter(tenant=tenant).exists()
        assert not JournalEntry.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.OPERATOR])
def test_support_and_operators_cannot_export(
    role: str, tenant: Tenant, crossing: Settlement, make_member: MakeMember, client_for: ClientFor
) -> None:
    export = _export(tenant, "qbo", settlement=crossing)
    client = client_for(make_member(tenant, role))
    for url in (
        reverse("finance:journal-export"),
        reverse("finance:journal-export-list"),
        reverse("finance:journal-export-download", args=[export.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert _post_export(client, settlement=crossing.pk).status_code == 403


def test_another_tenants_export_is_not_listed_and_answers_404(
    tenant: Tenant, crossing: Settlement, other_owner: Membership, client_for: ClientFor
) -> None:
    export = _export(tenant, "qbo", settlement=crossing)
    client = client_for(other_owner)
    assert client.get(reverse("finance:journal-export-download", args=[export.pk])).status_code == 404
    history = client.get(reverse("finance:journal-export-list")).content.decode()
    assert "12948507001" not in history and "No journal exports yet." in history
    # B cannot export A's statement by posting its id: the form only knows B's statements
    refused = _post_export(client, settlement=crossing.pk)
    assert refused.status_code == 400
    with tenant_scope(tenant):
        assert JournalExport.objects.filter(tenant=tenant).count() == 1

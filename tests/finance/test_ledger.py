"""The ledger: the default chart, statements as balanced journals (month split, negative, unbalanced,
unmapped), locking with adjustments, closed months, and one writer of lines."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import SettlementHeader, SettlementLine
from channels.models import Platform, Store
from finance.ledger.chart import DEFAULT_CHART, chart_ensure, mapping_table
from finance.ledger.services import (
    ClosedPeriodError,
    LineDraft,
    UnbalancedJournalError,
    journal_number,
    journal_write,
    journals_lock,
    period_close,
    settlement_journals,
)
from finance.models import (
    Account,
    AccountMapping,
    AccountType,
    Category,
    JournalEntry,
    JournalSource,
    JournalStatus,
    LedgerRole,
    Settlement,
    SettlementKind,
    SettlementSource,
)
from finance.settlements.services import category_rule_set, settlement_import, settlement_lines_recategorise
from finance.tasks import build_statement_journals_task
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

OCT = datetime(2026, 10, 25, tzinfo=UTC)


def _line(n: int, tt: str, at: str, ad: str, amount: str, posted: datetime | None, **extra: object) -> SettlementLine:
    return SettlementLine(
        line_number=n,
        transaction_type=tt,
        amount_type=at,
        amount_description=ad,
        amount=Decimal(amount),
        posted_at=posted,
        **{"marketplace_name": "Amazon.com", **extra},
    )


def _settlement(store: Store, lines: list[SettlementLine], *, total: str, sid: str = "12948507001") -> Settlement:
    header = SettlementHeader(
        settlement_id=sid,
        start=OCT,
        end=OCT + timedelta(days=14),
        deposit_date=OCT + timedelta(days=16),
        currency="USD",
        total_amount=Decimal(total),
    )
    return settlement_import(
        store=store, kind=SettlementKind.AMAZON_SETTLEMENT, source=SettlementSource.UPLOAD, header=header, lines=lines
    ).settlement


def _crossing_lines() -> list[SettlementLine]:
    october, november = OCT + timedelta(days=3), OCT + timedelta(days=9)
    return [
        _line(2, "Order", "ItemPrice", "Principal", "100.00", october, order_id="111-1"),
        _line(3, "Order", "ItemPrice", "Tax", "8.00", october, order_id="111-1"),
        _line(4, "Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", "-8.00", october, order_id="111-1"),
        _line(5, "Order", "ItemFees", "Commission", "-15.00", october, order_id="111-1"),
        _line(6, "Order", "ItemPrice", "Principal", "50.00", november, order_id="111-2"),
        _line(7, "Order", "ItemFees", "FBAPerUnitFulfillmentFee", "-5.50", november, order_id="111-2"),
        _line(8, "other-transaction", "", "Storage Fee", "-3.25", november),
        _line(9, "other-transaction", "", "Previous Reserve Amount Balance", "20.00", None),
        _line(10, "other-transaction", "", "Current Reserve Amount", "-30.00", None),
    ]


def _lines_of(entry: JournalEntry) -> list[tuple[str, str, Decimal]]:
    return [(line.account.key, line.role, line.amount) for line in entry.lines.select_related("account")]


def test_the_default_chart_maps_every_category_on_every_channel_and_tax_never_to_revenue(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        chart_ensure(tenant=tenant)  # idempotent
        assert Account.objects.filter(tenant=tenant).count() == len(DEFAULT_CHART)
        table = mapping_table(tenant=tenant)
        for platform in Platform.values:
            for role in LedgerRole.values:
                account, mapped = table.account_for(role=role, platform=platform, store_id=None, marketplace="")
                assert mapped, (platform, role)
                if role in (LedgerRole.TAX_COLLECTED, LedgerRole.TAX_WITHHELD):
                    assert account.account_type == AccountType.CURRENT_LIABILITY, (platform, role)
                if role in (Category.SALES, Category.REFUNDS, Category.SHIPPING_INCOME):
                    assert account.account_type == AccountType.REVENUE
        # a person's rename survives the next ensure
        sales = Account.objects.get(tenant=tenant, key="amazon_sales")
        sales.name = "4000 Marketplace Sales:Amazon"
        sales.save()
        chart_ensure(tenant=tenant)
        assert Account.objects.get(tenant=tenant, key="amazon_sales").name == "4000 Marketplace Sales:Amazon"


def test_a_settlement_crossing_a_month_end_becomes_two_journals_through_the_carried_forward_account(
    tenant: Tenant,
) -> None:
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    with tenant_scope(tenant):
        settlement = _settlement(store, _crossing_lines(), total="116.25")
        assert settlement.balanced
        october, november = settlement_journals(settlement=settlement)
        assert (october.number, november.number) == ("AMZ-12948507001-1", "AMZ-12948507001-2")
        assert (october.date, october.period) == (date(2026, 10, 28), date(2026, 10, 1))
        assert (november.date, november.period) == (date(2026, 11, 10), date(2026, 11, 1))  # the deposit
        for entry in (october, november):
            assert sum(line.amount for line in entry.lines.all()) == 0
            assert entry.source == JournalSource.SETTLEMENT and entry.status == JournalStatus.DRAFT
        assert sorted(_lines_of(october)) == sorted(
            [
                ("amazon_sales", "sales", Decimal("-100.00")),
                ("amazon_tax", "tax_collected", Decimal("-8.00")),
                ("amazon_tax_withheld", "tax_withheld", Decimal("8.00")),
                ("amazon_fees", "seller_fees", Decimal("15.00")),
                ("amazon_carried_forward", "carried_forward", Decimal("85.00")),
            ]
        )
        assert sorted(_lines_of(november)) == sorted(
            [
                ("amazon_sales", "sales", Decimal("-50.00")),
                ("amazon_fba_fees", "fba_fees", Decimal("5.50")),
                ("amazon_storage", "storage_fees", Decimal("3.25")),
                ("amazon_reserve", "reserve", Decimal("10.00")),
                ("amazon_carried_forward", "carried_forward", Decimal("-85.00")),
                ("amazon_clearing", "bank", Decimal("116.25")),
            ]
        )
        # building again changes nothing: the same drafts stay
        assert settlement_journals(settlement=settlement) == []
        assert sorted(JournalEntry.objects.filter(tenant=tenant).values_list("pk", flat=True)) == sorted(
            [october.pk, november.pk]
        )


def test_a_negative_settlement_credits_the_bank_and_an_unbalanced_one_shows_its_difference_on_suspense(
    tenant: Tenant,
) -> None:
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    day = OCT + timedelta(days=2)
    with tenant_scope(tenant):
        negative = _settlement(
            store,
            [
                _line(2, "other-transaction", "", "Subscription Fee", "-39.99", day),
                _line(3, "ServiceFee", "Cost of Advertising", "TransactionTotalAmount", "-120.00", day),
            ],
            total="-159.99",
            sid="900001",
        )
        (entry,) = settlement_journals(settlement=negative)
        assert ("amazon_clearing", "bank", Decimal("-159.99")) in _lines_of(entry)
        assert sum(line.amount for line in entry.lines.all()) == 0

        unbalanced = _settlement(
            store, [_line(2, "Order", "ItemPrice", "Principal", "10.00", day)], total="12.00", sid="900002"
        )
        (entry,) = settlement_journals(settlement=unbalanced)
        lines = _lines_of(entry)
        assert ("suspense", "suspense", Decimal("-2.00")) in lines and sum(amount for *_x, amount in lines) == 0


def test_a_role_nobody_mapped_goes_to_suspense_and_says_so(tenant: Tenant) -> None:
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        AccountMapping.objects.filter(tenant=tenant, platform=Platform.AMAZON, role=LedgerRole.ADVERTISING).delete()
        settlement = _settlement(
            store,
            [_line(2, "ServiceFee", "Cost of Advertising", "TransactionTotalAmount", "-20.00", OCT)],
            total="-20.00",
            sid="900003",
        )
        (entry,) = settlement_journals(settlement=settlement)
        line = entry.lines.get(role=LedgerRole.ADVERTISING)
        assert line.account.key == "suspense" and "not mapped" in line.description


def test_a_store_or_marketplace_mapping_wins_over_the_channels(tenant: Tenant) -> None:
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        german = Account.objects.create(
            tenant=tenant, name="Amazon DE Sales", code="4010", account_type=AccountType.REVENUE
        )
        AccountMapping.objects.create(
            tenant=tenant,
            role=LedgerRole.SALES,
            platform=Platform.AMAZON,
            store=store,
            marketplace="DE",
            account=german,
        )
        settlement = _settlement(
            store,
            [
                _line(2, "Order", "ItemPrice", "Principal", "10.00", OCT, marketplace_name="Amazon.de"),
                _line(3, "Order", "ItemPrice", "Principal", "7.00", OCT, marketplace_name="Amazon.fr"),
            ],
            total="17.00",
            sid="900004",
        )
        (entry,) = settlement_journals(settlement=settlement)
        by_marketplace = {line.marketplace: line.account.name for line in entry.lines.filter(role=LedgerRole.SALES)}
        assert by_marketplace == {"DE": "Amazon DE Sales", "FR": "Amazon Sales"}


def test_after_export_a_recategorised_line_becomes_an_adjustment_and_the_locked_journals_never_change(
    tenant: Tenant,
) -> None:
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    day = OCT + timedelta(days=2)
    with tenant_scope(tenant), time_machine.travel(datetime(2026, 12, 3, tzinfo=UTC), tick=False):
        settlement = _settlement(
            store,
            [
                _line(2, "Order", "ItemPrice", "Principal", "40.00", day),
                _line(3, "other-transaction", "", "Brand New Fee Type", "-4.00", day),
            ],
            total="36.00",
            sid="900005",
        )
        (entry,) = settlement_journals(settlement=settlement)
        assert ("suspense", "unclassified", Decimal("4.00")) in _lines_of(entry)
        journals_lock(entries=[entry], status=JournalStatus.EXPORTED)
        before = _lines_of(entry)

        category_rule_set(
            tenant=tenant,
            platform=Platform.AMAZON,
            transaction_type="other-transaction",
            amount_type="",
            amount_description="Brand New Fee Type",
            category=Category.SELLER_FEES,
            actor=None,
        )
        settlement_lines_recategorise(tenant=tenant, platform=Platform.AMAZON)
        (adjustment,) = settlement_journals(settlement=settlement)
        entry.refresh_from_db()
        assert _lines_of(entry) == before and entry.locked
        assert adjustment.source == JournalSource.ADJUSTMENT and adjustment.number == "ADJ1-900005"
        assert adjustment.date == date(2026, 12, 3)
        assert sorted(_lines_of(adjustment)) == sorted(
            [("suspense", "unclassified", Decimal("-4.00")), ("amazon_fees", "seller_fees", Decimal("4.00"))]
        )
        # nothing changed since: no new adjustment; the unsent adjustment is rebuilt, not doubled
        assert [e.number for e in settlement_journals(settlement=settlement)] == ["ADJ1-900005"]
        assert JournalEntry.objects.filter(tenant=tenant, source=JournalSource.ADJUSTMENT).count() == 1


def test_a_closed_month_takes_no_journal_and_an_adjustment_goes_to_the_first_open_month(tenant: Tenant) -> None:
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    with tenant_scope(tenant), time_machine.travel(datetime(2026, 12, 3, tzinfo=UTC), tick=False):
        chart_ensure(tenant=tenant)
        sales = Account.objects.get(tenant=tenant, key="amazon_sales")
        bank = Account.objects.get(tenant=tenant, key="amazon_clearing")
        period_close(tenant=tenant, month=date(2026, 12, 1), actor=None)
        with pytest.raises(ClosedPeriodError):
            journal_write(
                tenant=tenant,
                number="T-1",
                day=date(2026, 12, 2),
                source=JournalSource.ADJUSTMENT,
                currency="USD",
                narration="test",
                lines=[LineDraft(sales, "sales", Decimal("-1")), LineDraft(bank, "bank", Decimal("1"))],
            )
        settlement = _settlement(
            store, [_line(2, "other-transaction", "", "Odd Fee", "-1.00", OCT)], total="-1.00", sid="900006"
        )
        (entry,) = settlement_journals(settlement=settlement)
        journals_lock(entries=[entry], status=JournalStatus.POSTED)
        AccountMapping.objects.filter(tenant=tenant, platform=Platform.AMAZON, role=LedgerRole.UNCLASSIFIED).update(
            account=Account.objects.get(tenant=tenant, key="amazon_fees")
        )
        (adjustment,) = settlement_journals(settlement=settlement)
        assert adjustment.date == date(2027, 1, 1) and adjustment.period == date(2027, 1, 1)


def test_an_unbalanced_journal_is_refused_and_nothing_is_written(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        chart_ensure(tenant=tenant)
        sales = Account.objects.get(tenant=tenant, key="amazon_sales")
        bank = Account.objects.get(tenant=tenant, key="amazon_clearing")
        with pytest.raises(UnbalancedJournalError):
            journal_write(
                tenant=tenant,
                number="T-2",
                day=date(2026, 10, 2),
                source=JournalSource.ADJUSTMENT,
                currency="USD",
                narration="test",
                lines=[LineDraft(sales, "sales", Decimal("-100")), LineDraft(bank, "bank", Decimal("99.6"))],
            )
        assert not JournalEntry.objects.filter(tenant=tenant).exists()
        # yen has no minor unit: 99.6 rounds to 100 and the journal balances
        entry = journal_write(
            tenant=tenant,
            number="T-3",
            day=date(2026, 10, 2),
            source=JournalSource.ADJUSTMENT,
            currency="JPY",
            narration="test",
            lines=[LineDraft(sales, "sales", Decimal("-100")), LineDraft(bank, "bank", Decimal("99.6"))],
        )
        assert [line.amount for line in entry.lines.all()] == [Decimal("-100"), Decimal("100")]


def test_journal_numbers_are_stable_short_and_unique_per_store_for_monthly_statements(tenant: Tenant) -> None:
    one, two = (
        StoreFactory(tenant=tenant, platform=Platform.WOOCOMMERCE),
        StoreFactory(tenant=tenant, platform=Platform.WOOCOMMERCE),
    )
    statements = [
        Settlement(store=store, tenant=tenant, kind=SettlementKind.WOOCOMMERCE_STATEMENT, external_id="2026-11")
        for store in (one, two)
    ]
    numbers = {journal_number(statement) for statement in statements}
    assert len(numbers) == 2 and all(len(number) <= 21 for number in numbers)
    long = Settlement(tenant=tenant, store=one, kind=SettlementKind.SHOPIFY_PAYOUT, external_id="9" * 30)
    assert len(journal_number(long, 12, 12)) <= 21


def test_another_tenants_ledger_is_its_own(tenant: Tenant, other_tenant: Tenant) -> None:
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    with tenant_scope(tenant):
        settlement_journals(settlement=_settlement(store, _crossing_lines(), total="116.25"))
    with tenant_scope(other_tenant):
        assert not JournalEntry.objects.filter(tenant=other_tenant).exists()
        chart_ensure(tenant=other_tenant)
        table = mapping_table(tenant=other_tenant)
        account, _mapped = table.account_for(role="sales", platform=Platform.AMAZON, store_id=None, marketplace="")
        assert account.tenant_id == other_tenant.pk


WRITES_LINES = re.compile(r"(?<!class )JournalLine\(|JournalLine\.objects\.(create|bulk_create|update|get_or_create)")


def test_only_the_ledger_service_writes_journal_lines() -> None:
    root = Path(__file__).resolve().parents[2]
    writers = [
        str(path.relative_to(root))
        for app in ("acorn", "channels", "inventory", "orders", "refunds", "finance")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts
        and re.search(
            r"(?<!class )JournalLine\(|JournalLine\.objects\.(create|bulk_create|update|get_or_create)",
            path.read_text(),
        )
    ]
    assert writers == ["finance/ledger/services.py"]


def test_an_imported_or_recategorised_statement_gets_its_journals_from_a_task_after_commit(
    tenant: Tenant, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    with tenant_scope(tenant):
        with django_capture_on_commit_callbacks(execute=True):
            settlement = _settlement(store, _crossing_lines(), total="116.25")
        # the statement's costs of no order refresh the P&L too (finance.profit.other_costs); journals only here
        enqueued[:] = [(task, kwargs) for task, kwargs in enqueued if task.name != "finance.refresh_profit"]
        assert [(task.name, kwargs) for task, kwargs in enqueued] == [
            ("finance.build_statement_journals", {"tenant_id": tenant.pk, "settlement_ids": [settlement.pk]})
        ]
        assert enqueued.run_all() == [2]
        assert JournalEntry.objects.filter(tenant=tenant, settlement=settlement).count() == 2
        assert build_statement_journals_task(tenant_id=tenant.pk, settlement_ids=[settlement.pk]) == 0


def test_a_statement_arriving_after_its_month_was_closed_is_dated_in_the_first_open_month(tenant: Tenant) -> None:
    store = StoreFactory(tenant=tenant, platform=Platform.AMAZON)
    with tenant_scope(tenant):
        period_close(tenant=tenant, month=date(2026, 10, 1), actor=None)
        settlement = _settlement(store, _crossing_lines(), total="116.25")
        october, november = settlement_journals(settlement=settlement)
        assert (october.date, october.period) == (date(2026, 11, 1), date(2026, 11, 1))
        assert november.period == date(2026, 11, 1)

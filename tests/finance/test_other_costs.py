"""Costs that belong to no order: from statements (kinds, order lines left out, re-categorisation), advertising
reports (each format, line errors with nothing written, re-import replaces), entered by hand, the settings,
and spreading a cost over SKUs (shares add up exactly)."""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import Workbook

from acorn.money import minor_unit_exponent, quantize_amount
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import SettlementHeader
from channels.adapters.base import SettlementLine as LineRecord
from channels.models import Store
from finance.profit.ad_reports import ad_cost_key, ad_report_import
from finance.profit.models import (
    AdSpendUpload,
    FulfilmentRate,
    OtherCost,
    OtherCostKind,
    OtherCostSource,
    ProfitFact,
    ProfitSettings,
)
from finance.profit.other_costs import (
    ManualCost,
    RateEntry,
    other_cost_create,
    other_cost_delete,
    other_costs_from_settlements,
    other_costs_spread,
    profit_settings_update,
)
from finance.settlements.models import Category, Settlement, SettlementKind, SettlementSource
from finance.settlements.services import category_rule_set, settlement_import
from inventory.models import Product, SkuMapping, Warehouse
from orders.models import Order
from tests.conftest import EnqueuedTasks
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ads"


@pytest.fixture
def store(tenant: Tenant) -> Store:
    with tenant_scope(tenant):
        return StoreFactory(tenant=tenant, name="Amazon US", marketplaces=["US"])


@pytest.fixture
def mug(tenant: Tenant, store: Store) -> Product:
    with tenant_scope(tenant):
        product = Product.objects.create(tenant=tenant, sku="MUG-MASTER", name="Mug")
        SkuMapping.objects.create(tenant=tenant, store=store, product=product, channel_sku="MUG", asin="B000MUG001")
        return product


# --- from statements ---------------------------------------------------------------------------------------


def _order(store: Store, external_id: str) -> Order:
    purchased = timezone.now() - timedelta(days=20)
    return Order.objects.create(
        tenant=store.tenant, store=store, external_id=external_id, purchased_at=purchased,
        channel_updated_at=purchased, status="shipped", raw_status="Shipped", fulfillment_channel="fba",
        currency="USD", item_amount=Decimal("25.00"), total_amount=Decimal("25.00"),
    )  # fmt: skip


def _line(n: int, tt: str, at: str, ad: str, amount: str, order_id: str = "", **extra: Any) -> LineRecord:
    posted = extra.pop("posted", timezone.now() - timedelta(days=10))
    return LineRecord(
        line_number=n, transaction_type=tt, amount_type=at, amount_description=ad, amount=Decimal(amount),
        order_id=order_id, posted_at=posted, marketplace_name="Amazon.com", **extra,
    )  # fmt: skip


def _import(store: Store, lines: list[LineRecord], settlement_id: str = "S-1") -> Settlement:
    end = timezone.now() - timedelta(days=3)
    header = SettlementHeader(
        settlement_id=settlement_id, start=end - timedelta(days=14), end=end, deposit_date=end,
        currency="USD", total_amount=sum((line.amount for line in lines), Decimal(0)),
    )  # fmt: skip
    return settlement_import(
        store=store, kind=SettlementKind.AMAZON_SETTLEMENT, source=SettlementSource.UPLOAD, header=header,
        lines=lines,
    ).settlement  # fmt: skip


# Row names as Amazon's settlement V2 file writes them (finance notes §1.1-1.2).
STATEMENT = [
    _line(2, "Order", "ItemPrice", "Principal", "25.00", "111-1", sku="MUG", quantity=1),
    _line(3, "Order", "ItemFees", "Commission", "-3.75", "111-1", sku="MUG"),
    _line(4, "Order", "ItemFees", "FBAPerUnitFulfillmentFee", "-3.22", "111-1", sku="MUG"),
    _line(5, "Order", "ItemFees", "Commission", "-1.50", "111-9", sku="CUP"),  # an order ACORN does not have yet
    _line(6, "Refund", "ItemPrice", "Principal", "-10.00", "111-1", sku="MUG"),
    _line(7, "other-transaction", "other-transaction", "Storage Fee", "-12.40"),
    _line(8, "other-transaction", "other-transaction", "Subscription Fee", "-39.99"),
    _line(9, "ServiceFee", "Cost of Advertising", "TransactionTotalAmount", "-55.10"),
    _line(10, "other-transaction", "other-transaction", "FBA Inbound Placement Service Fee", "-6.30"),
    _line(11, "other-transaction", "other-transaction", "FBADisposalFee", "-2.15", sku="MUG"),
    _line(12, "other-transaction", "FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE", "8.00", sku="MUG"),
    _line(13, "other-transaction", "FBA Inventory Reimbursement", "COMPENSATED_CLAWBACK", "-3.00", sku="MUG"),
    _line(14, "other-transaction", "other-transaction", "Current Reserve Amount", "-100.00"),
    _line(15, "other-transaction", "other-transaction", "Successful charge", "150.00"),
    _line(16, "Order", "ItemPrice", "Tax", "2.00", "111-1"),
    _line(17, "other-transaction", "other-transaction", "PlanetSavingFee", "-0.30"),  # unclassified
    _line(18, "AmazonFees", "Coupon Performance Based Fee", "Base fee", "-2.50", posted=None),
]


def _costs(tenant: Tenant) -> dict[str, tuple[str, Decimal, int | None]]:
    return {
        cost.description: (cost.kind, cost.amount, cost.product_id)
        for cost in OtherCost.objects.filter(tenant=tenant, source=OtherCostSource.SETTLEMENT)
    }


def test_statement_lines_of_no_order_become_costs_of_no_order(tenant: Tenant, store: Store, mug: Product) -> None:
    with tenant_scope(tenant):
        # given: a statement with order lines, account-level fees, reimbursements, reserves and tax
        _order(store, "111-1")

        # when
        settlement = _import(store, STATEMENT)

        # then: only the lines of no order that are costs or reimbursements, each of its kind, signed as stated
        assert _costs(tenant) == {
            "other-transaction / other-transaction / Storage Fee": ("storage", Decimal("-12.40"), None),
            "other-transaction / other-transaction / Subscription Fee": ("subscription", Decimal("-39.99"), None),
            "ServiceFee / Cost of Advertising / TransactionTotalAmount": ("advertising", Decimal("-55.10"), None),
            "other-transaction / other-transaction / FBA Inbound Placement Service Fee": (
                "inbound", Decimal("-6.30"), None,
            ),
            "other-transaction / other-transaction / FBADisposalFee": ("removal", Decimal("-2.15"), mug.pk),
            "other-transaction / FBA Inventory Reimbursement / WAREHOUSE_DAMAGE": (
                "reimbursement", Decimal("8.00"), mug.pk,
            ),
            "other-transaction / FBA Inventory Reimbursement / COMPENSATED_CLAWBACK": (
                "reimbursement", Decimal("-3.00"), mug.pk,
            ),
            "AmazonFees / Coupon Performance Based Fee / Base fee": ("other", Decimal("-2.50"), None),
        }  # fmt: skip
        storage = OtherCost.objects.get(tenant=tenant, description__endswith="Storage Fee")
        assert (storage.store_id, storage.marketplace, storage.currency) == (store.pk, "US", "USD")
        assert storage.source_key == f"settlement:{storage.settlement_line_id}"
        assert storage.day == (timezone.now() - timedelta(days=10)).astimezone(UTC).date()
        coupon = OtherCost.objects.get(tenant=tenant, kind=OtherCostKind.OTHER)
        assert coupon.day == settlement.period_end.astimezone(UTC).date()  # no posted date: the period's end


def test_costs_from_statements_are_idempotent(tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        settlement = _import(store, STATEMENT)
        before = sorted(OtherCost.objects.filter(tenant=tenant).values_list("pk", "amount"))

        # when: run again
        changed = other_costs_from_settlements(tenant=tenant, settlement_ids=[settlement.pk])

        # then: nothing changed, nothing added
        assert changed == []
        assert sorted(OtherCost.objects.filter(tenant=tenant).values_list("pk", "amount")) == before


def test_recategorising_a_type_out_of_costs_removes_its_cost(tenant: Tenant, store: Store, owner: Any) -> None:
    with tenant_scope(tenant):
        _import(store, STATEMENT)
        subscription = OtherCost.objects.get(tenant=tenant, kind=OtherCostKind.SUBSCRIPTION)

        # when: the company maps the subscription fee to reserved balances, and the unknown fee to seller fees
        category_rule_set(
            tenant=tenant, platform="amazon", transaction_type="other-transaction",
            amount_type="other-transaction", amount_description="Subscription Fee", category=Category.RESERVE,
            actor=owner.user,
        )  # fmt: skip
        category_rule_set(
            tenant=tenant, platform="amazon", transaction_type="other-transaction",
            amount_type="other-transaction", amount_description="PlanetSavingFee", category=Category.SELLER_FEES,
            actor=owner.user,
        )  # fmt: skip

        # then: the subscription is no cost of no order any more; the newly mapped fee is one
        assert not OtherCost.objects.filter(pk=subscription.pk).exists()
        planet = OtherCost.objects.get(tenant=tenant, description__endswith="PlanetSavingFee")
        assert (planet.kind, planet.amount) == (OtherCostKind.OTHER, Decimal("-0.30"))


def test_statement_costs_enqueue_the_profit_refresh(
    tenant: Tenant, store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        _import(store, STATEMENT[5:9])
    with tenant_scope(tenant):
        ids = sorted(OtherCost.objects.filter(tenant=tenant).values_list("pk", flat=True))
    refreshes = [kwargs for task, kwargs in enqueued if "other_cost_ids" in kwargs]
    assert refreshes == [{"tenant_id": tenant.pk, "other_cost_ids": ids}]
    assert len(ids) == 4  # storage, subscription, advertising, inbound


def test_another_tenants_statements_are_not_read(tenant: Tenant, other_tenant: Tenant, store: Store) -> None:
    with tenant_scope(tenant):
        settlement = _import(store, STATEMENT)
    with tenant_scope(other_tenant):
        assert other_costs_from_settlements(tenant=other_tenant, settlement_ids=[settlement.pk]) == []
        assert not OtherCost.objects.filter(tenant=other_tenant).exists()


# --- advertising reports -----------------------------------------------------------------------------------


def _header(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8").strip()


def _days_ago(days: int) -> date:
    return (timezone.now() - timedelta(days=days)).date()


def _console_csv(rows: list[str]) -> bytes:
    return "\n".join([_header("amazon_sp_advertised_product_console.csv"), *rows]).encode("utf-8")


def _console_row(day: date, campaign: str, group: str, sku: str, asin: str, spend: str) -> str:
    shown = day.strftime('"%b %d, %Y"')  # the US console writes "Sep 01, 2026"
    metrics = "1%,1,1,1,1%,1,0,$10.00,$0.00"
    return f"{shown},Not grouped,USD,{campaign},{group},{sku},{asin},1204,31,2.57%,$0.52,{spend},$10.00,{metrics}"


def _ad_costs(tenant: Tenant) -> dict[str, Decimal]:
    return dict(
        OtherCost.objects.filter(tenant=tenant, source=OtherCostSource.AD_IMPORT).values_list("source_key", "amount")
    )


def test_amazon_console_report_imports_spend_per_sku_day_and_campaign(
    tenant: Tenant, store: Store, mug: Product, owner: Any
) -> None:
    day = _days_ago(3)
    data = _console_csv(
        [
            _console_row(day, "Mugs exact", "Group A", "MUG", "B000MUG001", '"$1,016.12"'),
            _console_row(day, "Mugs exact", "Group B", "MUG", "B000MUG001", "$3.88"),  # same campaign: summed
            _console_row(day, "Cups auto", "Auto", "CUP", "B000CUP001", "$4.50"),
            _console_row(day, "Cups auto", "Auto", "SAUCER", "B000SAU001", "$0.00"),  # no spend: skipped
        ]
    )
    with tenant_scope(tenant):
        result = ad_report_import(tenant=tenant, store=store, data=data, filename="sp.csv", actor=owner.user)

        assert result.imported, result.problems
        assert result.report_format == "amazon_ads_console"
        assert (result.rows, result.skipped, result.written) == (4, 1, 2)
        mugs = OtherCost.objects.get(tenant=tenant, sku="MUG")
        assert (mugs.kind, mugs.amount, mugs.currency, mugs.day) == ("advertising", Decimal("-1020.00"), "USD", day)
        assert (mugs.product_id, mugs.marketplace, mugs.description) == (mug.pk, "US", "Mugs exact")
        assert mugs.source_key == ad_cost_key(store_id=store.pk, day=day, sku="MUG", asin="", campaign="Mugs exact")
        assert OtherCost.objects.get(tenant=tenant, sku="CUP").product_id is None  # unmapped: kept with its SKU
        upload = AdSpendUpload.objects.get(tenant=tenant)
        assert (upload.rows, upload.costs_written, upload.currency, upload.total_amount) == (
            4, 2, "USD", Decimal("-1024.50"),
        )  # fmt: skip
        assert (upload.first_day, upload.last_day, upload.store_id) == (day, day, store.pk)


def test_amazon_console_report_with_a_title_line_and_one_day_summary_rows(tenant: Tenant, store: Store) -> None:
    day = _days_ago(2)
    header = _header("amazon_sp_advertised_product_console_summary.csv")
    data = "\n".join(
        [
            "Sponsored Products Advertised product report,,,,",
            header,
            f"{day:%Y-%m-%d},{day:%Y-%m-%d},,USD,Camp,Group,MUG,B000MUG001,10,2,1%,$1.00,$2.00,$0.00,0,0",
        ]
    ).encode()
    with tenant_scope(tenant):
        result = ad_report_import(tenant=tenant, store=store, data=data, filename="summary.csv")
        assert result.imported, result.problems
        assert list(_ad_costs(tenant).values()) == [Decimal("-2.00")]


def test_amazon_ads_api_report_columns_import(tenant: Tenant, store: Store, mug: Product) -> None:
    day = _days_ago(4)
    data = "\n".join(
        [
            _header("amazon_ads_v3_sp_advertised_product.csv"),
            f"{day.isoformat()},Mugs,1,Group,2,3,,B000MUG001,100,5,0.5,0.05,2.5,2.5,USD,20,1,1",
        ]
    ).encode()
    with tenant_scope(tenant):
        result = ad_report_import(tenant=tenant, store=store, data=data, filename="api.csv")
        assert result.imported, result.problems
        assert result.report_format == "amazon_ads_api_v3"
        cost = OtherCost.objects.get(tenant=tenant)
        # no SKU in the row: the ASIN names it and maps it through the store's SKU mapping
        assert (cost.sku, cost.product_id, cost.amount) == ("B000MUG001", mug.pk, Decimal("-2.50"))


def test_acorn_template_with_the_currency_from_the_form(tenant: Tenant, store: Store, mug: Product) -> None:
    day = _days_ago(1)
    data = "\n".join(["date,sku,spend,campaign", f"{day.isoformat()},MUG-MASTER,7.5,Meta ads"]).encode()
    with tenant_scope(tenant):
        result = ad_report_import(tenant=tenant, store=store, data=data, filename="t.csv", currency="eur")
        assert result.imported, result.problems
        assert result.report_format == "acorn_template"
        cost = OtherCost.objects.get(tenant=tenant)
        # a channel SKU equal to a master SKU maps itself
        assert (cost.amount, cost.currency, cost.product_id, cost.marketplace) == (
            Decimal("-7.50"), "EUR", mug.pk, "US",  # the store's only marketplace
        )  # fmt: skip


def test_acorn_template_fixture_header_is_recognised(tenant: Tenant, store: Store) -> None:
    day = _days_ago(1)
    data = "\n".join([_header("acorn_ad_spend_template.csv"), f"{day.isoformat()},SKU-1,1.00,USD,Spring"]).encode()
    with tenant_scope(tenant):
        assert ad_report_import(tenant=tenant, store=store, data=data, filename="t.csv").imported


def test_xlsx_console_report_imports(tenant: Tenant, store: Store) -> None:
    day = _days_ago(5)
    book = Workbook()
    sheet = book.active
    sheet.append(_header("amazon_sp_advertised_product_console.csv").split(","))
    sheet.append([datetime(day.year, day.month, day.day), "", "USD", "Camp", "G", "MUG", "B000MUG001", 10, 1, 0.1,
                  0.5, 12.34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # fmt: skip
    buffer = io.BytesIO()
    book.save(buffer)
    with tenant_scope(tenant):
        result = ad_report_import(tenant=tenant, store=store, data=buffer.getvalue(), filename="report.xlsx")
        assert result.imported, result.problems
        assert list(_ad_costs(tenant).values()) == [Decimal("-12.34")]


def test_a_bad_line_writes_nothing_and_names_line_and_column(tenant: Tenant, store: Store) -> None:
    day = _days_ago(3)
    future = (timezone.now() + timedelta(days=5)).date()
    data = _console_csv(
        [
            _console_row(day, "Good", "G", "MUG", "B000MUG001", "$1.00"),
            _console_row(day, "Bad", "G", "MUG", "B000MUG001", "lots"),
            _console_row(future, "Future", "G", "MUG", "B000MUG001", "$1.00"),
            _console_row(day, "NoSku", "G", "", "", "$1.00"),
        ]
    )
    with tenant_scope(tenant):
        result = ad_report_import(tenant=tenant, store=store, data=data, filename="bad.csv")

        assert not result.imported
        assert [(p.line, p.column) for p in result.problems] == [
            (3, "Spend"), (4, "Date"), (5, "Advertised SKU"),
        ]  # fmt: skip
        assert "lots" in result.problems[0].message
        assert not OtherCost.objects.filter(tenant=tenant).exists()
        assert not AdSpendUpload.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("when,what,how much\n{day},x,1\n", 1, ""),  # no format ACORN knows
        ("date,sku,spend\n{day},x,1\n", 1, "Currency"),  # no currency, none chosen
        ("date,sku,spend,currency\n{day},x,1,ZZZ\n", 2, "currency"),
    ],
)
def test_file_level_problems(tenant: Tenant, store: Store, text: str, line: int, column: str) -> None:
    data = text.format(day=_days_ago(3).isoformat()).encode()
    with tenant_scope(tenant):
        result = ad_report_import(tenant=tenant, store=store, data=data, filename="f.csv")
        assert [(p.line, p.column) for p in result.problems] == [(line, column)]
        assert not OtherCost.objects.filter(tenant=tenant).exists()


def test_a_summary_row_over_several_days_is_refused(tenant: Tenant, store: Store) -> None:
    start, end = _days_ago(8), _days_ago(2)
    data = "\n".join(
        [
            _header("amazon_sp_advertised_product_console_summary.csv"),
            f"{start:%Y-%m-%d},{end:%Y-%m-%d},,USD,Camp,Group,MUG,B000MUG001,10,2,1%,$1.00,$2.00,$0.00,0,0",
        ]
    ).encode()
    with tenant_scope(tenant):
        result = ad_report_import(tenant=tenant, store=store, data=data, filename="s.csv")
        assert [(p.line, p.column) for p in result.problems] == [(2, "Start Date")]


def test_reimporting_an_overlapping_report_replaces_instead_of_adding(tenant: Tenant, store: Store) -> None:
    first, second, third = _days_ago(6), _days_ago(5), _days_ago(4)
    with tenant_scope(tenant):
        ad_report_import(
            tenant=tenant, store=store, filename="a.csv",
            data=_console_csv([
                _console_row(first, "C", "G", "MUG", "B1", "$1.00"),
                _console_row(second, "C", "G", "MUG", "B1", "$2.00"),
            ]),
        )  # fmt: skip
        again = ad_report_import(
            tenant=tenant, store=store, filename="a.csv",
            data=_console_csv([
                _console_row(first, "C", "G", "MUG", "B1", "$1.00"),
                _console_row(second, "C", "G", "MUG", "B1", "$2.00"),
            ]),
        )  # fmt: skip
        assert (again.written, again.unchanged, again.changed_ids) == (0, 2, [])

        # when: a later report covers the second and third day; the second day's spend was corrected to 0
        later = ad_report_import(
            tenant=tenant, store=store, filename="b.csv",
            data=_console_csv([
                _console_row(second, "C", "G", "MUG", "B1", "$0.00"),
                _console_row(third, "C", "G", "MUG", "B1", "$3.00"),
            ]),
        )  # fmt: skip

        # then: one cost per day and campaign, the later report's figures
        assert later.imported and (later.written, later.removed) == (1, 1)
        assert sorted(OtherCost.objects.filter(tenant=tenant).values_list("day", "amount")) == [
            (first, Decimal("-1.00")), (third, Decimal("-3.00")),
        ]  # fmt: skip
        assert AdSpendUpload.objects.filter(tenant=tenant).count() == 3


def test_ad_import_enqueues_the_refresh_of_what_changed(
    tenant: Tenant, store: Store, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        result = ad_report_import(
            tenant=tenant, store=store, filename="a.csv",
            data=_console_csv([_console_row(_days_ago(2), "C", "G", "MUG", "B1", "$1.00")]),
        )  # fmt: skip
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [
        ("finance.refresh_profit", {"tenant_id": tenant.pk, "other_cost_ids": result.changed_ids})
    ]


def test_ad_import_refuses_another_tenants_store(tenant: Tenant, other_tenant: Tenant, store: Store) -> None:
    with tenant_scope(other_tenant), pytest.raises(ValidationError):
        ad_report_import(tenant=other_tenant, store=store, data=b"date,sku,spend\n", filename="x.csv")


# --- entered by hand, settings -----------------------------------------------------------------------------


def test_manual_cost_is_stored_negative_and_a_reimbursement_positive(
    tenant: Tenant, store: Store, owner: Any, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    day = _days_ago(1)
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        cost = other_cost_create(
            tenant=tenant, actor=owner.user,
            entry=ManualCost(kind="storage", day=day, amount=Decimal("10.005"), currency="USD", store=store),
        )  # fmt: skip
        refund = other_cost_create(
            tenant=tenant, actor=owner.user,
            entry=ManualCost(kind="reimbursement", day=day, amount=Decimal("4"), currency="JPY"),
        )  # fmt: skip
    assert (cost.amount, cost.source, cost.store_id) == (Decimal("-10.01"), "manual", store.pk)
    assert (refund.amount, refund.store_id) == (Decimal("4"), None)
    assert [kwargs["other_cost_ids"] for _task, kwargs in enqueued] == [[cost.pk], [refund.pk]]

    deleted = cost.pk
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        other_cost_delete(tenant=tenant, cost=cost, actor=owner.user)
        assert not OtherCost.objects.filter(pk=deleted).exists()
    assert enqueued[-1][1]["other_cost_ids"] == [deleted]


def test_statement_costs_are_not_deleted_by_hand(tenant: Tenant, store: Store, owner: Any) -> None:
    with tenant_scope(tenant):
        _import(store, STATEMENT[5:7])
        cost = OtherCost.objects.filter(tenant=tenant).first()
        assert cost is not None
        with pytest.raises(ValidationError):
            other_cost_delete(tenant=tenant, cost=cost, actor=owner.user)


def test_manual_cost_refuses_another_tenants_store(tenant: Tenant, other_tenant: Tenant, store: Store) -> None:
    with tenant_scope(other_tenant), pytest.raises(ValidationError):
        other_cost_create(
            tenant=other_tenant, actor=None,
            entry=ManualCost(kind="storage", day=_days_ago(1), amount=Decimal("1"), currency="USD", store=store),
        )  # fmt: skip


def test_settings_change_enqueues_a_rebuild(
    tenant: Tenant, owner: Any, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_scope(tenant):
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        with django_capture_on_commit_callbacks(execute=True):
            changed = profit_settings_update(
                tenant=tenant, spread_unassigned_costs=True, actor=owner.user,
                rates=[RateEntry(warehouse, "CNY", Decimal("3.5"), Decimal("0.8"))],
            )  # fmt: skip
        assert changed
        assert ProfitSettings.objects.get(tenant=tenant).spread_unassigned_costs
        rate = FulfilmentRate.objects.get(warehouse=warehouse)
        assert (rate.currency, rate.per_order_amount, rate.per_unit_amount) == ("CNY", Decimal("3.5"), Decimal("0.8"))
        assert [(task.name, kwargs) for task, kwargs in enqueued] == [
            ("finance.rebuild_profit", {"tenant_id": tenant.pk, "days": 400})
        ]

        # the same again changes nothing and rebuilds nothing
        with django_capture_on_commit_callbacks(execute=True):
            assert not profit_settings_update(
                tenant=tenant, spread_unassigned_costs=True, actor=owner.user,
                rates=[RateEntry(warehouse, "CNY", Decimal("3.50"), Decimal("0.80"))],
            )  # fmt: skip
        assert len(enqueued) == 1


# --- spreading ---------------------------------------------------------------------------------------------


def _spread(amount: str, currency: str, units: dict[int, int]) -> dict[int, Decimal]:
    return other_costs_spread(
        tenant=None, day=_days_ago(1), store_id=None, amount=Decimal(amount), currency=currency, units_by_product=units
    )


def test_spread_by_units_sold() -> None:
    assert _spread("-10.00", "USD", {1: 1, 2: 1, 3: 1}) == {
        1: Decimal("-3.34"),
        2: Decimal("-3.33"),
        3: Decimal("-3.33"),
    }
    assert _spread("100", "JPY", {7: 2, 9: 1}) == {7: Decimal("67"), 9: Decimal("33")}
    assert _spread("-5.00", "USD", {1: 0, 2: -1}) == {}  # nothing sold: stays unassigned
    assert _spread("-5.00", "USD", {}) == {}


@pytest.mark.parametrize("seed", range(25))
def test_spread_shares_add_up_exactly(seed: int) -> None:
    generator = random.Random(seed)
    currency = generator.choice(["USD", "JPY", "EUR", "KWD", "CNY"])
    cents = generator.randint(-(10**7), 10**7)
    amount = str(Decimal(cents).scaleb(-generator.randint(0, 4)))
    units = {generator.randint(1, 10**6): generator.randint(0, 50) for _ in range(generator.randint(1, 40))}

    shares = _spread(amount, currency, units)

    if not any(count > 0 for count in units.values()):
        assert shares == {}
        return
    assert sum(shares.values(), Decimal(0)) == quantize_amount(Decimal(amount), currency)
    assert set(shares) == {product for product, count in units.items() if count > 0}
    quantum = minor_unit_exponent(currency)
    total_units = sum(count for count in units.values() if count > 0)
    for product, share in shares.items():
        exact = quantize_amount(Decimal(amount), currency) * units[product] / total_units
        assert abs(share - exact) < quantum  # no share is off by a whole minor unit or more
        assert share == share.quantize(quantum)


def test_a_cost_reaches_the_pnl_and_leaves_it_when_deleted(
    tenant: Tenant, store: Store, owner: Any, enqueued: EnqueuedTasks, django_capture_on_commit_callbacks: Any
) -> None:
    # given: a storage cost entered by hand, and the refresh it enqueued run
    day = _days_ago(2)
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        cost = other_cost_create(
            tenant=tenant, actor=owner.user,
            entry=ManualCost(kind="storage", day=day, amount=Decimal("7.00"), currency="USD", store=store),
        )  # fmt: skip
    pk = cost.pk
    enqueued.run_all()
    with tenant_scope(tenant):
        fact = ProfitFact.objects.get(tenant=tenant, key=f"cost:{pk}")
        # in its own currency (the figures are in the reporting currency, at the day's rate)
        assert (fact.day, fact.net_amount, fact.currency, fact.store_id) == (day, Decimal("-7.00"), "USD", store.pk)
        assert fact.storage < 0 and fact.other_costs == 0

    # when: it is deleted and the refresh runs
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        other_cost_delete(tenant=tenant, cost=cost, actor=owner.user)
    enqueued.run_all()

    # then: its figure is gone from the P&L
    with tenant_scope(tenant):
        assert not ProfitFact.objects.filter(tenant=tenant, key=f"cost:{pk}").exists()

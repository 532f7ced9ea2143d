"""Refund requests of an amount (issue 21): a price adjustment on a line (an amount with no units), less than the
chosen units are worth, a goodwill amount on the whole order; the reason tag the requester chooses; the amount
preview. Validation (positive, the currency's minor unit, not more than is left), the approvals the amount needs,
a channel that cannot refund an amount tied to no item (Amazon), another tenant, and what the refund rate and the
profit engine count."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from channels.models import Store
from finance.profit.pnl import order_pnl
from inventory.mapping import mapping_add
from inventory.models import Product
from orders.models import Order, OrderLine
from refunds import approvals, execution
from refunds.models import Refund, RefundLine, RefundRateDaily, RefundStatus, TagSource
from tests.factories import StoreFactory
from tests.refunds.test_approvals import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def usd_tenant(tenant: Tenant) -> Tenant:
    tenant.reporting_currency = "USD"
    tenant.save(update_fields=["reporting_currency"])
    with tenant_scope(tenant):
        approvals.policy_update(
            tenant=tenant, one_approval_from=Decimal(50), two_approvals_from=Decimal(500),
            approver_roles=approvals.approver_roles_possible(), actor=None,
        )  # fmt: skip
    return tenant


@pytest.fixture
def people(usd_tenant: Tenant, make_member: Callable[..., Membership]) -> dict[str, Membership]:
    return {
        role: make_member(usd_tenant, role, f"{role}@alpha.example")
        for role in (Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.FINANCE, Role.SUPPORT)
    }


@pytest.fixture
def shop(usd_tenant: Tenant) -> Store:
    return StoreFactory(tenant=usd_tenant, platform="shopify", name="Shop", marketplaces=[])


@pytest.fixture
def order(shop: Store) -> Order:
    """A 2 x 100 (+20 tax), B 1 x 50 (+5 tax), shipping 10: 285 USD."""
    with tenant_scope(shop.tenant):
        return make_order(shop)


def _line(order: Order, sku: str) -> OrderLine:
    return order.lines.get(sku=sku)


def _request(order: Order, member: Membership, **kwargs: Any) -> Refund:
    values: dict[str, Any] = {"lines": [], "shipping": False, "note": "Scratched", "restock": False, "tag": "damaged"}
    values.update(kwargs)
    return approvals.refund_request(order=order, actor=member.user, **values)


# --- the service -----------------------------------------------------------------------------------------


def test_a_price_adjustment_on_a_line_refunds_money_but_no_units(
    usd_tenant: Tenant, order: Order, people: dict[str, Membership]
) -> None:
    with tenant_scope(usd_tenant):
        line_a = _line(order, "SKU-A")
        # when: 10 % of line A (220 with tax) is given back as a price adjustment
        refund = _request(order, people["support"], line_amounts={line_a.pk: Decimal("22.00")})
        # then: one line with no units, the amount split as the line's price and tax (200 : 20 → 20 : 2)
        line = RefundLine.objects.get(refund=refund)
        assert (line.quantity, line.principal_amount, line.tax_amount, line.amount) == (
            0, Decimal("-20.00"), Decimal("-2.00"), Decimal("22.00"),
        )  # fmt: skip
        assert refund.amount == Decimal("22.00") and refund.approvals_required == 0
        assert (refund.tag, refund.tag_source) == ("damaged", TagSource.PERSON)
        # the two units are still refundable, but only for what is left of the line's money
        entry = next(e for e in approvals.refundable_lines(order=order) if e.line.pk == line_a.pk)
        assert entry.remaining == 2 and entry.value_left == Decimal("198.00")
        whole = _request(order, people["support"], lines=[(line_a, 2)])
        assert whole.amount == Decimal("198.00")
        with pytest.raises(ValidationError, match="left to refund on this line"):
            _request(order, people["support"], line_amounts={line_a.pk: Decimal("0.01")})


def test_less_than_the_units_are_worth_and_a_goodwill_amount(
    usd_tenant: Tenant, order: Order, people: dict[str, Membership]
) -> None:
    with tenant_scope(usd_tenant):
        line_b = _line(order, "SKU-B")
        # one unit of B (55 with tax) for 44, and 6 of goodwill on the order
        refund = _request(
            order, people["support"], lines=[(line_b, 1)], line_amounts={line_b.pk: Decimal(44)},
            goodwill=Decimal("6"),
        )  # fmt: skip
        line = RefundLine.objects.get(refund=refund)
        assert (line.quantity, line.principal_amount, line.tax_amount) == (1, Decimal("-40.00"), Decimal("-4.00"))
        assert (refund.other_amount, refund.amount) == (Decimal("-6.00"), Decimal("50.00"))
        assert refund.goodwill is not None and refund.goodwill.amount == Decimal("6.00")
        assert refund.approvals_required == 1  # 50 USD: the one-approval band
        # more than the unit is worth, and a goodwill above what is left on the order
        line_a = _line(order, "SKU-A")
        with pytest.raises(ValidationError, match="are worth"):
            _request(order, people["support"], lines=[(line_a, 1)], line_amounts={line_a.pk: Decimal("110.01")})
        with pytest.raises(ValidationError, match="exceeds"):
            _request(order, people["support"], goodwill=Decimal("235.01"))
        assert Refund.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal(0), "above zero"),
        (Decimal(-5), "above zero"),
        (Decimal("1.234"), "USD amounts have at most 2 decimal places"),
    ],
)
def test_an_amount_must_be_positive_and_in_the_currencys_minor_unit(
    usd_tenant: Tenant, order: Order, people: dict[str, Membership], amount: Decimal, message: str
) -> None:
    with tenant_scope(usd_tenant):
        with pytest.raises(ValidationError, match=message):
            _request(order, people["support"], goodwill=amount)
        assert not Refund.objects.exists()


def test_yen_amounts_have_no_decimals(usd_tenant: Tenant, people: dict[str, Membership]) -> None:
    store = StoreFactory(tenant=usd_tenant, platform="woocommerce", name="JP", marketplaces=[])
    with tenant_scope(usd_tenant):
        yen = make_order(store, currency="JPY")
        with pytest.raises(ValidationError, match="JPY amounts have at most 0 decimal places"):
            _request(yen, people["support"], goodwill=Decimal("10.5"))
        assert _request(yen, people["support"], goodwill=Decimal("10")).amount == Decimal("10")


@pytest.mark.parametrize(("goodwill", "needed"), [("49.99", 0), ("50", 1), ("499.99", 1), ("500", 2)])
def test_the_amount_counts_in_the_approval_bands(
    usd_tenant: Tenant, people: dict[str, Membership], goodwill: str, needed: int
) -> None:
    store = StoreFactory(tenant=usd_tenant, platform="woocommerce", name="Woo", marketplaces=[])
    with tenant_scope(usd_tenant):
        big = make_order(store, external_id="BIG")
        Order.objects.filter(pk=big.pk).update(total_amount=Decimal(1000))
        big.refresh_from_db()
        refund = _request(big, people["support"], goodwill=Decimal(goodwill))
        assert refund.approvals_required == needed
        assert refund.status == (RefundStatus.APPROVED if needed == 0 else RefundStatus.PENDING_APPROVAL)


def test_amazon_takes_amounts_on_items_only(usd_tenant: Tenant, people: dict[str, Membership]) -> None:
    store = StoreFactory(tenant=usd_tenant, platform="amazon", name="Amazon US")
    with tenant_scope(usd_tenant):
        mfn = make_order(store, external_id="111-1")
        assert approvals.refund_amounts_supported(order=mfn) == (True, False)
        with pytest.raises(ValidationError, match="only against an order item"):
            _request(mfn, people["support"], goodwill=Decimal(5))
        line_b = _line(mfn, "SKU-B")
        refund = _request(mfn, people["support"], line_amounts={line_b.pk: Decimal("5.50")})
        request = execution.refund_channel_request(refund)
    assert request.items == (("12", 0, (("principal", Decimal("5.00")), ("tax", Decimal("0.50")))),)


def test_the_channel_request_carries_goodwill_as_an_amount_of_the_order(
    usd_tenant: Tenant, order: Order, people: dict[str, Membership]
) -> None:
    with tenant_scope(usd_tenant):
        refund = _request(order, people["support"], goodwill=Decimal("7.25"))
        request = execution.refund_channel_request(refund)
        assert not RefundLine.objects.filter(refund=refund).exists()
    assert request.items == (("", 0, (("other", Decimal("7.25")),)),)


def test_a_tag_outside_the_vocabulary_is_refused(
    usd_tenant: Tenant, order: Order, people: dict[str, Membership]
) -> None:
    with tenant_scope(usd_tenant), pytest.raises(ValidationError, match="Choose a reason"):
        _request(order, people["support"], goodwill=Decimal(5), tag="because")


# --- refund rate and profit ----------------------------------------------------------------------------


def _execute_without_the_channel(refund: Refund, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        execution, "_call_channel", lambda row: execution._Outcome(execution.SUCCEEDED, channel_refund_id=f"R{row.pk}")
    )
    assert execution.refund_execute(refund_pk=refund.pk) == "succeeded"


def test_amounts_count_no_refunded_units_and_profit_shares_goodwill_over_the_lines(
    usd_tenant: Tenant, order: Order, shop: Store, people: dict[str, Membership], monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant_scope(usd_tenant):
        products = {}
        for sku in ("SKU-A", "SKU-B"):
            products[sku] = Product.objects.create(tenant=usd_tenant, sku=f"M-{sku}", name=sku)
            mapping_add(tenant=usd_tenant, store=shop, product=products[sku], channel_sku=sku)
        line_a = _line(order, "SKU-A")
        goodwill = _request(order, people["support"], goodwill=Decimal("10.00"))
        adjustment = _request(order, people["support"], line_amounts={line_a.pk: Decimal("22.00")})
        for refund in (goodwill, adjustment):
            _execute_without_the_channel(refund, monkeypatch)
        # the refund rate: no unit came back
        assert sum(RefundRateDaily.objects.values_list("refunded_units", flat=True)) == 0
        pnl = order_pnl(order=order, reporting_currency="USD")
        refunds = [row for row in pnl.rows if row.draft.kind == "refund"]
        assert all(row.draft.units_refunded == 0 for row in refunds)
        by_product: dict[int | None, Decimal] = {}
        for row in refunds:
            by_product[row.draft.product_id] = by_product.get(row.draft.product_id, Decimal(0)) + row.own.values.get(
                "refunds", Decimal(0)
            )
        # goodwill 10 shared by principal 200 : 50 → 8 : 2; the adjustment's 20 of price stays on line A
        assert by_product == {products["SKU-A"].pk: Decimal("-28.00"), products["SKU-B"].pk: Decimal("-2.00")}
        # a whole unit refunded does count (the test can fail)
        unit = _request(order, people["support"], lines=[(_line(order, "SKU-B"), 1)])
        approvals.refund_approve(refund=unit, actor=people["finance"].user)  # 55 USD: one approval
        _execute_without_the_channel(unit, monkeypatch)
        assert sum(RefundRateDaily.objects.values_list("refunded_units", flat=True)) == 1


# --- the form and its preview ------------------------------------------------------------------------------


def _url(order: Order, name: str = "refunds:refund-request") -> str:
    return reverse(name, kwargs={"order_pk": order.pk})


def test_the_form_shows_each_error_on_its_field_and_writes_nothing(
    usd_tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    client = client_for(people["support"])
    with tenant_scope(usd_tenant):
        line_a, line_b = _line(order, "SKU-A"), _line(order, "SKU-B")
    page = client.get(_url(order)).content.decode()
    assert f'name="amount_{line_a.pk}"' in page and 'name="goodwill"' in page and 'name="tag"' in page
    assert 'id="refund-preview"' in page and "hx-post" in page
    cases = [
        ({f"amount_{line_a.pk}": "-1"}, "Enter an amount above zero."),
        ({f"amount_{line_a.pk}": "1.234"}, "USD amounts have at most 2 decimal places."),
        ({f"line_{line_b.pk}": "1", f"amount_{line_b.pk}": "60"}, "are worth"),
        ({"goodwill": "300"}, "exceeds"),
        ({"goodwill": "abc"}, "Enter a number."),
    ]
    for data, message in cases:
        response = client.post(_url(order), {"tag": "damaged", "note": "x", **data})
        assert response.status_code == 400 and message in response.content.decode(), message
    missing_tag = client.post(_url(order), {"goodwill": "5", "note": "x"})
    assert missing_tag.status_code == 400 and "This field is required." in missing_tag.content.decode()
    with tenant_scope(usd_tenant):
        assert not Refund.objects.exists()
    done = client.post(_url(order), {"goodwill": "5", "note": "Late", "tag": "arrived_late"})
    assert done.status_code == 302
    with tenant_scope(usd_tenant):
        refund = Refund.objects.get()
        assert (refund.amount, refund.tag, refund.tag_source) == (Decimal("5.00"), "arrived_late", "person")


def test_the_preview_shows_the_total_and_the_approvals(
    usd_tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    client = client_for(people["support"])
    with tenant_scope(usd_tenant):
        line_a = _line(order, "SKU-A")
    # one unit of A (100 + 10 tax) and the shipping (10): 120 USD, one approval; nothing saved
    page = client.post(_url(order, "refunds:refund-request-preview"), {f"line_{line_a.pk}": "1", "shipping": "on"})
    text = page.content.decode()
    assert page.status_code == 200 and "120.00 USD" in text and "Needs one approval." in text
    assert "100.00 USD" in text and "10.00 USD" in text
    small = client.post(_url(order, "refunds:refund-request-preview"), {"goodwill": "12"}).content.decode()
    assert "12.00 USD" in small and "No approval needed" in small
    wrong = client.post(_url(order, "refunds:refund-request-preview"), {"goodwill": "-3"}).content.decode()
    assert "Correct the highlighted amounts" in wrong
    empty = client.post(_url(order, "refunds:refund-request-preview"), {}).content.decode()
    assert "Enter units or an amount" in empty
    with tenant_scope(usd_tenant):
        assert not Refund.objects.exists()


def test_an_amazon_order_says_it_takes_no_goodwill_on_the_order(
    usd_tenant: Tenant, people: dict[str, Membership], client_for: Callable
) -> None:
    store = StoreFactory(tenant=usd_tenant, platform="amazon", name="Amazon US")
    with tenant_scope(usd_tenant):
        mfn = make_order(store, external_id="111-2")
    client = client_for(people["support"])
    page = client.get(_url(mfn)).content.decode()
    assert 'name="goodwill"' not in page and 'id="refund-no-goodwill"' in page
    posted = client.post(_url(mfn), {"goodwill": "5", "tag": "damaged", "note": "x"})
    assert posted.status_code == 400  # the field is not offered: nothing chosen
    with tenant_scope(usd_tenant):
        assert not Refund.objects.exists()


def test_another_tenant_can_neither_preview_nor_request(
    order: Order, other_tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable
) -> None:
    stranger: Client = client_for(make_member(other_tenant, Role.OWNER, "boss@beta.example"))
    assert stranger.post(_url(order, "refunds:refund-request-preview"), {"goodwill": "5"}).status_code == 404
    assert stranger.post(_url(order), {"goodwill": "5", "tag": "damaged", "note": "x"}).status_code == 404
    with tenant_scope(order.tenant):
        assert not Refund.objects.exists()


def test_the_tag_and_goodwill_show_in_the_queue_and_on_the_order(
    usd_tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    with tenant_scope(usd_tenant):
        refund = _request(order, people["support"], goodwill=Decimal(60), tag="not_as_described")
    queue = client_for(people["finance"]).get(reverse("refunds:approval-queue")).content.decode()
    assert "Not as described" in queue and "goodwill" in queue and "60.00 USD" in queue
    page = client_for(people["finance"]).get(reverse("orders:order-detail", kwargs={"order_pk": order.pk}))
    text = page.content.decode()
    assert "Not as described" in text and "60.00" in text
    detail = client_for(people["finance"]).get(reverse("refunds:refund-detail", kwargs={"refund_pk": refund.pk}))
    detail_text = detail.content.decode()
    assert "An amount on the whole order" in detail_text and "Goodwill" in detail_text


def test_the_tag_and_goodwill_reach_the_admin_and_the_export(
    usd_tenant: Tenant, order: Order, people: dict[str, Membership], client_for: Callable
) -> None:
    from refunds import exports

    with tenant_scope(usd_tenant):
        refund = _request(order, people["support"], goodwill=Decimal(60), tag="not_as_described")
        header = exports.columns()
        row = dict(zip(header, next(exports.rows(Refund.objects.filter(pk=refund.pk))), strict=True))
    assert row["Reason tag"] == "Not as described" and Decimal(row["Refunded to the buyer"]) == Decimal(60)
    assert Decimal(row["Refund: other"]) == Decimal(-60)
    changelist = client_for(people["finance"]).get(reverse("admin:refunds_refund_changelist")).content.decode()
    assert "Not as described" in changelist

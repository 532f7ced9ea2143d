"""Money and exchange rates as people read them: grouped per language, to the currency's minor unit, rates to six
significant digits; one formatting behind the money and amount filters; pages print no raw Decimal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from acorn.console.templatetags import console
from acorn.money import Money
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from orders.models import Order
from refunds import approvals
from refunds.models import Refund
from tests.factories import StoreFactory
from tests.refunds.test_approvals import make_order


@pytest.mark.parametrize(
    ("language", "value", "currency", "expected"),
    [
        ("en", Decimal("22412.8849"), "CNY", "22,412.88"),
        ("zh-hans", Decimal("22412.8849"), "CNY", "22,412.88"),
        ("de", Decimal("22412.8849"), "CNY", "22.412,88"),
        ("en", Decimal("189.0000"), "USD", "189.00"),
        ("en", "1990", "JPY", "1,990"),
        ("en", Decimal("-1234.5"), "KWD", "-1,234.500"),
        ("en", None, "USD", "—"),
    ],
)
def test_money_is_grouped_per_language_to_the_minor_unit(
    language: str, value: object, currency: str, expected: str
) -> None:
    with translation.override(language):
        assert console.money(value, currency) == expected
        # one implementation: the profit pages' `amount` is the same filter
        assert console.amount(value, currency) == expected


def test_a_money_value_shows_its_code_after_the_grouped_figure() -> None:
    with translation.override("en"):
        assert console.money(Money(Decimal("84918.37"), "CNY")) == "84,918.37 CNY"
    # while str() stays exact and plain for code and files
    assert str(Money(Decimal("84918.37"), "CNY")) == "84918.37 CNY"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("7.1234567890"), "7.12346"),
        (Decimal("0.0064516129"), "0.00645161"),
        (Decimal("1.0800000000"), "1.08"),
        (Decimal("15234.56789"), "15,234.6"),
        (Decimal("160.2345678"), "160.235"),
        (None, "—"),
    ],
)
def test_rates_show_six_significant_digits(value: Decimal | None, expected: str) -> None:
    with translation.override("en"):
        assert console.rate(value) == expected


def test_unit_amounts_keep_four_decimals_only_where_they_have_them() -> None:
    with translation.override("en"):
        assert console.unit_amount(Decimal("55.7778"), "USD") == "55.7778"
        assert console.unit_amount(Decimal("1295.8500"), "USD") == "1,295.85"


@pytest.mark.django_db
def test_order_and_refund_pages_show_grouped_amounts_and_short_rates(
    tenant: Tenant, make_member: Callable[..., Membership], client_for: Callable
) -> None:
    # given an order of 22,412.88 CNY and a refund converted at a ten-decimal rate
    owner = make_member(tenant, Role.OWNER, "boss@alpha.example")
    store = StoreFactory(tenant=tenant, platform="woocommerce", name="Woo", marketplaces=[])
    with tenant_scope(tenant):
        order = make_order(store, currency="CNY")
        Order.objects.filter(pk=order.pk).update(
            item_amount=Decimal("22377.8800"), tax_amount=Decimal("25"), total_amount=Decimal("22412.8800")
        )
        approvals.policy_update(
            tenant=tenant, one_approval_from=Decimal(0), two_approvals_from=Decimal(100000),
            approver_roles=approvals.approver_roles_possible(), actor=None,
        )  # fmt: skip
        refund = approvals.refund_request(
            order=order, lines=[(order.lines.get(sku="SKU-A"), 1)], shipping=False, note="x", restock=False,
            actor=owner.user,
        )  # fmt: skip
        Refund.objects.filter(pk=refund.pk).update(
            fx_rate=Decimal("0.1402345678"), reporting_amount=Decimal("16.8300"), reporting_currency="USD"
        )
    client = client_for(owner)
    # when the order and the refund are opened
    order_page = client.get(reverse("orders:order-detail", kwargs={"order_pk": order.pk})).content.decode()
    refund_page = client.get(reverse("refunds:refund-detail", kwargs={"refund_pk": refund.pk})).content.decode()
    # then the figures are grouped and rates cut to six significant digits, never raw
    assert "22,412.88 CNY" in order_page and "22412.88" not in order_page and "22412.8800" not in order_page
    assert "0.140235" in refund_page and "0.1402345678" not in refund_page
    assert ".0000" not in order_page and ".0000" not in refund_page

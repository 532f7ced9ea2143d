"""The weekly digest sums refunds in the reporting currency and rounds to that currency's own minor unit: yen
without decimals, Kuwaiti dinar with three (it used to round every currency to 0.01)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from acorn.tenancy.models import Tenant
from acorn.tenancy.scoping import tenant_scope
from refunds import monitoring
from refunds.models import Refund, RefundOrigin, RefundStatus
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("currency", "amounts", "expected"),
    [
        ("JPY", ["1234.4", "1000.3"], Decimal(2235)),
        ("KWD", ["1.2344", "0.0003"], Decimal("1.235")),
        ("USD", ["10.004", "20.002"], Decimal("30.01")),
    ],
)
def test_the_digest_amount_has_the_reporting_currencys_minor_unit(
    tenant: Tenant, other_tenant: Tenant, currency: str, amounts: list[str], expected: Decimal
) -> None:
    # given: last week's refunds converted to the tenant's reporting currency, and another tenant's refund
    today = timezone.now().date()
    week_start, _week_end = monitoring.last_week(today)
    posted = datetime.combine(week_start + timedelta(days=2), time(9), tzinfo=timezone.get_current_timezone())
    tenant.reporting_currency = currency
    tenant.save(update_fields=["reporting_currency"])
    for owner, values in ((tenant, amounts), (other_tenant, ["999"])):
        store = StoreFactory(tenant=owner)
        with tenant_scope(owner):
            for n, value in enumerate(values):
                Refund.objects.create(
                    tenant=owner,
                    store=store,
                    order_external_id=f"D-{n}",
                    external_id=f"D-{n}",
                    dedupe_key=f"D-{n}",
                    origin=RefundOrigin.CHANNEL,
                    status=RefundStatus.SUCCEEDED,
                    currency=currency,
                    amount=Decimal(value),
                    reporting_currency=currency,
                    reporting_amount=Decimal(value),
                    refunded_at=posted,
                )
    # when: the digest's figures are taken
    with tenant_scope(tenant):
        digest = monitoring.weekly_digest_figures(tenant=tenant, today=today)
    # then: the sum is rounded once, to the reporting currency's minor unit, and only this tenant's refunds count
    assert digest.refunds == len(amounts)
    assert digest.refunds_amount == expected
    assert digest.refunds_amount.as_tuple().exponent == expected.as_tuple().exponent

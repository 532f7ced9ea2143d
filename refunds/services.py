"""Small shared services of refunds: totals from components, and the amount in the reporting currency."""

from __future__ import annotations

from decimal import Decimal

from acorn.fx.services import convert_on
from acorn.money import Money
from refunds.models import Refund, RefundComponents, RefundLine


def buyer_amount(amounts: RefundComponents) -> Decimal:
    """What the buyer gets back (positive): minus the signed buyer-facing components."""
    return -sum(
        (getattr(amounts, RefundComponents.COMPONENT_FIELDS[name]) for name in Refund.BUYER_COMPONENTS), Decimal(0)
    )


def refund_totals_fill(refund: Refund, lines: list[RefundLine] | None = None) -> None:
    """Set `amount`, `net_amount` and the reporting-currency amount (with its rate) from the components.

    `lines`, when given, also get their `amount`; the refund's components are NOT summed from them (a
    refund may carry refund-level components, such as Shopify's order-level shipping refund). Does not save.
    """
    for line in lines or ():
        line.amount = max(buyer_amount(line), Decimal(0))
    refund.amount = max(buyer_amount(refund), Decimal(0))
    refund.net_amount = sum(refund.components().values(), Decimal(0))
    reporting = refund.tenant.reporting_currency
    refund.reporting_currency = reporting
    converted = convert_on(Money(refund.amount, refund.currency), to_currency=reporting, on=refund.refunded_at.date())
    if converted is None:
        refund.reporting_amount = refund.fx_rate = refund.fx_rate_date = None
        refund.fx_rate_source = ""
    else:
        refund.reporting_amount = converted.result.amount
        refund.fx_rate, refund.fx_rate_date, refund.fx_rate_source = (
            converted.rate,
            converted.rate_date,
            converted.source,
        )

"""What refunds says about closing an account (acorn.tenancy.retention.register_closure_check)."""

from __future__ import annotations

from django.utils.translation import ngettext

from acorn.tenancy.models import Tenant
from refunds.models import Refund, RefundStatus

MONEY_MOVING_STATUSES = (RefundStatus.APPROVED, RefundStatus.EXECUTING)


def closure_refused_while_money_moves(tenant: Tenant) -> str | None:
    """An approved refund or one being executed may still move money on the channel: the account cannot
    close until it has succeeded or failed. Returns the reason, or None."""
    moving = Refund.objects.filter(tenant=tenant, status__in=MONEY_MOVING_STATUSES).count()
    if not moving:
        return None
    return ngettext(
        "%(count)d refund is approved or being executed and may still move money. Wait until it has "
        "succeeded or failed, then close the account.",
        "%(count)d refunds are approved or being executed and may still move money. Wait until they have "
        "succeeded or failed, then close the account.",
        moving,
    ) % {"count": moving}

"""The order page's "Refunds and returns" section (orders.hooks.register_order_detail_section): what was
refunded, requested or returned on the order, and the "Request a refund" button only while something is
left to refund — a fully refunded order does not offer another refund, and a request waiting for approval
reads as waiting, not as refunded."""

from __future__ import annotations

from typing import Any

from acorn.tenancy.mixins import TenantRequest
from acorn.tenancy.permissions import has_permission
from orders.models import Order
from refunds import approvals
from refunds.models import Refund, Return


def order_refunds_section(request: TenantRequest, order: Order) -> tuple[str, dict[str, Any]] | None:
    """orders.hooks provider (refunds.view): the order's refunds and returns, and whether one may be asked."""
    if not has_permission(request.membership, "refunds.view"):
        return None
    refunds = list(Refund.objects.filter(tenant=request.tenant, order=order).order_by("-refunded_at", "-pk"))
    returns = list(Return.objects.filter(tenant=request.tenant, order=order).order_by("-pk"))
    can_request = has_permission(request.membership, "refunds.request")
    refusal = approvals.request_refusal(order=order) if can_request else ""
    left = bool(
        can_request
        and not refusal
        and (
            any(line.remaining or line.value_left > 0 for line in approvals.refundable_lines(order=order))
            or approvals.shipping_refundable(order=order)
        )
    )
    if not refunds and not returns and not left:
        return None
    return "refunds/order_section.html", {
        "refunds": refunds,
        "returns": returns,
        "can_request": left,
        "all_taken": can_request and not refusal and not left,
    }

"""Template helpers of the approval and restock panels (included by the refund and return detail pages)."""

from __future__ import annotations

from typing import Any

from django import template

from acorn.tenancy.permissions import has_permission
from refunds.approvals import approval_refusal, approvals_given
from refunds.forms_approvals import RefundRejectForm, RestockForm
from refunds.models import Refund, RefundStatus, Return
from refunds.restock import restock_warehouses, return_restock_refusal, return_shipped_from

register = template.Library()


@register.simple_tag(takes_context=True)
def approval_panel(context: Any, refund: Refund) -> dict[str, Any]:
    """What the approval panel shows for the signed-in member: approvals so far, and what they may do."""
    request = context.get("request")
    user = getattr(request, "user", None)
    membership = getattr(request, "membership", None)
    may_approve = has_permission(membership, "refunds.approve")
    refusal = approval_refusal(refund=refund, user=user) if refund.status == RefundStatus.PENDING_APPROVAL else ""
    own = user is not None and refund.requested_by_id == getattr(user, "pk", None)
    return {
        "approvals": list(refund.approvals.select_related("user").order_by("created_at", "pk")),
        "given": approvals_given(refund),
        "can_decide": refund.status == RefundStatus.PENDING_APPROVAL and may_approve and not refusal,
        "refusal": refusal if may_approve else "",
        "can_cancel": refund.status == RefundStatus.PENDING_APPROVAL
        and (own or getattr(membership, "role", "") in ("owner", "admin")),
        "can_retry": refund.status == RefundStatus.FAILED and refund.is_request and may_approve,
        "reject_form": RefundRejectForm(),
    }


@register.simple_tag(takes_context=True)
def restock_panel(context: Any, record: Return) -> dict[str, Any]:
    """What the restock panel shows: the decision made, or the form when one can be made."""
    request = context.get("request")
    membership = getattr(request, "membership", None)
    refusal = return_restock_refusal(record=record)
    warehouses = (
        restock_warehouses(tenant_id=record.tenant_id, first=return_shipped_from(record=record)) if not refusal else []
    )
    return {
        "refusal": refusal,
        "may_restock": has_permission(membership, "inventory.manage"),
        "warehouses": warehouses,
        "form": RestockForm(warehouses=warehouses, quantity=record.quantity) if not refusal else None,
    }

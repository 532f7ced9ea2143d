"""Console pages of refund requests and approvals: request a refund on an order, the approval queue with
approve / reject-with-reason, cancel a request, send a failed refund again, the approval policy, and the
restock decision on a return.

Requesting needs `refunds.request`; the queue, deciding and retrying need `refunds.approve` (the service
also enforces the policy's roles, the requester rule and one decision per person); the policy page needs
`refunds.rules`; restocking needs `inventory.manage`. Another tenant's objects answer 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from acorn.forms import form_add_errors
from acorn.money import Money, format_amount
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from orders.models import Order
from orders.selectors import order_get_or_404
from refunds import approvals
from refunds.execution import refund_execution_retry
from refunds.forms_approvals import ApprovalPolicyForm, RefundRejectForm, RefundRequestForm, RestockForm
from refunds.models import Refund, Return
from refunds.restock import restock_warehouses, return_restock, return_restock_refusal, return_shipped_from
from refunds.selectors import refund_get_or_404, return_get_or_404
from refunds.views import section_tabs

PAGE_SIZE = 25


def _back(request: TenantRequest, refund: Refund) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(approvals.refund_link(refund) or "refunds:approval-queue")


def _errors(error: ValidationError | PermissionDenied) -> list[str]:
    return error.messages if isinstance(error, ValidationError) else [str(error)]


def _request_form(request: TenantRequest, order: Order, lines: list[approvals.RefundableLine]) -> RefundRequestForm:
    on_lines, on_order = approvals.refund_amounts_supported(order=order)
    return RefundRequestForm(
        request.POST if request.method == "POST" else None,
        lines=lines,
        shipping_refundable=approvals.shipping_refundable(order=order),
        currency=order.currency,
        line_amounts=on_lines,
        order_amounts=on_order,
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("refunds.request")
def refund_request_view(request: TenantRequest, order_pk: int) -> HttpResponse:
    """Ask for a refund on one order: units or an amount per line, a goodwill amount, shipping, a reason tag,
    restock, why."""
    order = order_get_or_404(tenant=request.tenant, pk=order_pk)
    refusal = approvals.request_refusal(order=order)
    lines = approvals.refundable_lines(order=order)
    form = _request_form(request, order, lines)
    if request.method == "POST" and not refusal and form.is_valid():
        data = form.cleaned_data
        try:
            refund = approvals.refund_request(
                order=order,
                lines=form.chosen_lines(),
                shipping=data.get("shipping", False),
                note=data["note"],
                restock=data["restock"],
                actor=request.user,
                tag=data["tag"],
                line_amounts=form.chosen_amounts(),
                goodwill=data.get("goodwill"),
            )
        except ValidationError as error:
            form_add_errors(form, error)
        except PermissionDenied as error:
            for text in _errors(error):
                form.add_error(None, text)
        else:
            if refund.approvals_required:
                text = _("Refund of %(amount)s %(currency)s requested; it waits for %(count)d approval(s).")
            else:
                text = _("Refund of %(amount)s %(currency)s requested; no approval needed, it is being executed.")
            messages.success(
                request,
                text
                % {
                    "amount": format_amount(refund.amount, refund.currency),
                    "currency": refund.currency,
                    "count": refund.approvals_required,
                },
            )
            return redirect(approvals.refund_link(refund) or "refunds:approval-queue")
    policy = approvals.policy_get(tenant=request.tenant)
    on_lines, on_order = approvals.refund_amounts_supported(order=order)
    return render(
        request,
        "refunds/request_form.html",
        {
            "order": order,
            "form": form,
            "refusal": refusal,
            "lines": lines,
            "remaining": any(entry.remaining or entry.value_left for entry in lines),
            "left": Money(order.total_amount - approvals.order_refunded_total(order=order), order.currency),
            "policy": policy,
            "line_amounts": on_lines,
            "order_amounts": on_order,
            "preview": _preview(order, form) if request.method == "POST" else None,
        },
        status=400 if request.method == "POST" else 200,
    )


def _preview(order: Order, form: RefundRequestForm) -> dict[str, Any]:
    """What the typed units and amounts would refund, or why they cannot (the form's preview panel)."""
    form.is_valid()  # the money fields are read even while the note or the reason is still missing
    data = form.cleaned_data
    money_fields = ["goodwill", "shipping", *form.line_fields, *form.amount_fields.values()]
    if any(name in form.errors for name in money_fields):
        return {"errors": [_("Correct the highlighted amounts to see the total.")]}
    lines = [
        (form.lines[int(name.removeprefix("line_"))].line, data[name]) for name in form.line_fields if data.get(name)
    ]
    amounts = {
        int(name.removeprefix("amount_")): data[name]
        for name in form.amount_fields.values()
        if data.get(name) is not None
    }
    if not lines and not amounts and not data.get("shipping") and data.get("goodwill") is None:
        return {"empty": True}
    try:
        draft = approvals.refund_request_draft(
            order=order,
            lines=lines,
            shipping=bool(data.get("shipping")),
            line_amounts=amounts,
            goodwill=data.get("goodwill"),
        )
    except ValidationError as error:
        return {"errors": error.messages}
    refund = draft.refund
    return {
        "refund": refund,
        "parts": [
            (label, Money(-amount, refund.currency))
            for label, amount in (
                (_("Item price"), refund.principal_amount),
                (_("Tax"), refund.tax_amount),
                (_("Shipping"), refund.shipping_amount),
                (_("Goodwill"), refund.other_amount),
            )
            if amount
        ],
        "total": refund.money,
        "reporting": refund.reporting_money,
        "approvals": draft.approvals_required,
    }


@require_POST
@tenant_member_required("refunds.request")
def refund_request_preview_view(request: TenantRequest, order_pk: int) -> HttpResponse:
    """The amount preview of the request form (htmx): the total by component and the approvals it needs."""
    order = order_get_or_404(tenant=request.tenant, pk=order_pk)
    form = _request_form(request, order, approvals.refundable_lines(order=order))
    return render(
        request,
        "refunds/_request_preview.html",
        {"order": order, "preview": _preview(order, form), "policy": approvals.policy_get(tenant=request.tenant)},
    )


@require_http_methods(["GET"])
@tenant_member_required("refunds.approve")
def approval_queue_view(request: TenantRequest) -> HttpResponse:
    """Console requests waiting for approval; buttons where the member may decide."""
    queue = approvals.approval_queue(tenant=request.tenant)
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    policy = approvals.policy_get(tenant=request.tenant)
    rows = [
        {
            "refund": refund,
            "given": approvals.approvals_given(refund),
            "refusal": approvals.approval_refusal(
                refund=refund, user=request.user, membership=request.membership, policy=policy
            ),
            "own": refund.requested_by_id == request.user.pk,
        }
        for refund in page.object_list
    ]
    return render(
        request,
        "refunds/approval_queue.html",
        {
            "page": page,
            "rows": rows,
            "policy": policy,
            "can_edit_policy": has_permission(request.membership, "refunds.rules"),
            "tabs": section_tabs(request, "approvals"),
        },
    )


@require_POST
@tenant_member_required("refunds.approve")
def refund_approve_view(request: TenantRequest, refund_pk: int) -> HttpResponse:
    refund = refund_get_or_404(tenant=request.tenant, pk=refund_pk)
    try:
        approvals.refund_approve(refund=refund, actor=request.user, via=approvals.VIA_CONSOLE)
    except (ValidationError, PermissionDenied) as error:
        for text in _errors(error):
            messages.error(request, text)
    else:
        messages.success(request, _("Your approval is recorded."))
    return _back(request, refund)


@require_POST
@tenant_member_required("refunds.approve")
def refund_reject_view(request: TenantRequest, refund_pk: int) -> HttpResponse:
    refund = refund_get_or_404(tenant=request.tenant, pk=refund_pk)
    form = RefundRejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the refund is rejected."))
        return _back(request, refund)
    try:
        approvals.refund_reject(
            refund=refund, actor=request.user, reason=form.cleaned_data["reason"], via=approvals.VIA_CONSOLE
        )
    except (ValidationError, PermissionDenied) as error:
        for text in _errors(error):
            messages.error(request, text)
    else:
        messages.success(request, _("The refund is rejected; the requester is told why."))
    return _back(request, refund)


@require_POST
@tenant_member_required("refunds.request")
def refund_cancel_view(request: TenantRequest, refund_pk: int) -> HttpResponse:
    refund = refund_get_or_404(tenant=request.tenant, pk=refund_pk)
    try:
        approvals.refund_cancel(refund=refund, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        for text in _errors(error):
            messages.error(request, text)
    else:
        messages.success(request, _("The refund request is cancelled."))
    return _back(request, refund)


@require_POST
@tenant_member_required("refunds.approve")
def refund_retry_view(request: TenantRequest, refund_pk: int) -> HttpResponse:
    """Send a FAILED refund to its channel again (same idempotency key)."""
    refund = refund_get_or_404(tenant=request.tenant, pk=refund_pk)
    try:
        refund_execution_retry(refund=refund, actor=request.user)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("The refund is on its way to the channel again."))
    return _back(request, refund)


@require_http_methods(["GET", "POST"])
@tenant_member_required("refunds.rules")
def approval_policy_view(request: TenantRequest) -> HttpResponse:
    """The approval bands in the reporting currency and the roles that approve."""
    policy = approvals.policy_get(tenant=request.tenant)
    initial: dict[str, Any] = {
        "one_approval_from": policy.one_approval_from,
        "two_approvals_from": policy.two_approvals_from,
        "approver_roles": approvals.policy_approver_roles(policy),
    }
    form = ApprovalPolicyForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            approvals.policy_update(
                tenant=request.tenant,
                one_approval_from=data["one_approval_from"],
                two_approvals_from=data["two_approvals_from"],
                approver_roles=data["approver_roles"],
                actor=request.user,
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("The approval policy is saved."))
            return redirect("refunds:approval-policy")
    return render(
        request,
        "refunds/policy_form.html",
        {"form": form, "policy": policy, "currency": request.tenant.reporting_currency},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("inventory.manage")
def return_restock_view(request: TenantRequest, return_pk: int) -> HttpResponse:
    """Decide where a received return's units go: sellable, damaged, or not back."""
    record = return_get_or_404(tenant=request.tenant, pk=return_pk)
    refusal = return_restock_refusal(record=record)
    warehouses = restock_warehouses(tenant_id=request.tenant.pk, first=return_shipped_from(record=record))
    form = RestockForm(
        request.POST if request.method == "POST" else None, warehouses=warehouses, quantity=record.quantity
    )
    if request.method == "POST" and not refusal and form.is_valid():
        data = form.cleaned_data
        try:
            return_restock(
                record=record,
                warehouse=data["warehouse"],
                sellable=data["sellable"],
                damaged=data["damaged"],
                actor=request.user,
                note=data["note"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("The returned units are booked."))
            return redirect(_return_link(record))
    return render(
        request,
        "refunds/restock_form.html",
        {"record": record, "form": form, "refusal": refusal, "warehouses": warehouses},
        status=400 if request.method == "POST" else 200,
    )


def _return_link(record: Return) -> str:
    from django.urls import NoReverseMatch, reverse

    for name in ("refunds:return-detail", "refunds:return-restock"):
        try:
            return reverse(name, kwargs={"return_pk": record.pk})
        except NoReverseMatch:
            continue
    return "/"

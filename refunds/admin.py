"""Refunds in the Django admin, tenant-scoped for tenant staff.

Staff approve and reject console refund requests here with the same services the console calls
(refunds.approvals): the requester never approves their own, two approvals come from two people, only
the policy's roles approve, a rejection needs a reason (asked on an intermediate page). Everything else is
read-only: money changes only through services. The approval policy is editable by owners and admins,
through the same validated, audited service as the console page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from acorn.money import format_amount
from acorn.tenancy.admin_site import TenantScopedAdmin, TenantScopedInline
from acorn.tenancy.models import Role
from refunds.approvals import (
    VIA_ADMIN,
    approval_refusal,
    approvals_given,
    approver_roles_possible,
    policy_update,
    refund_approve,
    refund_reject,
)
from refunds.models import (
    Approval,
    ApprovalDecision,
    ApprovalPolicy,
    ClassificationRule,
    Refund,
    RefundLine,
    RefundStatus,
    Return,
)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets only signed-in staff in
    return request.user


class _ReadOnly(TenantScopedAdmin):
    permissions = {"view": "refunds.view"}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field.name for field in self.model._meta.fields if field.name != "tenant"]


class RefundLineInline(TenantScopedInline):
    model = RefundLine
    view_permission = "refunds.view"
    fields = ("sku", "order_item_id", "quantity", "principal_amount", "tax_amount", "shipping_amount", "amount")
    readonly_fields = fields


class ApprovalInline(TenantScopedInline):
    model = Approval
    view_permission = "refunds.view"
    fields = ("user", "decision", "reason", "via", "created_at")
    readonly_fields = fields


class PendingApprovalFilter(admin.SimpleListFilter):
    title = gettext_lazy("approval")
    parameter_name = "approval"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("pending", gettext_lazy("Waiting for approval"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "pending":
            return queryset.filter(status=RefundStatus.PENDING_APPROVAL)
        return queryset


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )


@admin.register(Refund)
class RefundAdmin(_ReadOnly):
    """Every refund of the tenant, read-only. An approver decides on the refund's own page (Approve, or Reject
    with a reason), or on several from the list with the actions; both call the console's services."""

    permissions = {"view": "refunds.view", "approve": "refunds.approve"}
    change_form_template = "refunds/admin_refund_change_form.html"
    list_display = [
        "order_external_id",
        "store",
        "status",
        "amount_shown",
        "tag",
        "approvals_shown",
        "requested_by_shown",
        "note_shown",
        "refunded_at",
    ]
    list_filter = [PendingApprovalFilter, "status", "origin", "tag"]
    search_fields = ["order_external_id", "external_id", "channel_refund_id"]
    list_select_related = ["store", "requested_by"]
    inlines = [RefundLineInline, ApprovalInline]
    actions = ["approve_selected", "reject_selected"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("order_external_id", "store", "marketplace"),
                    ("status", "origin"),
                    ("amount_shown", "reporting_shown"),
                    ("reason_text", "tag", "review_reason"),
                    "customer_comment",
                ]
            },
        ),
        (
            gettext_lazy("Request"),
            {"fields": [("requested_by", "approvals_shown"), "request_note", "restock"]},
        ),
        (
            gettext_lazy("Channel"),
            {
                "classes": ["collapse"],
                "fields": [
                    ("external_id", "channel_refund_id", "feed_id"),
                    ("reason_code", "category", "ledger_account"),
                    ("refunded_at", "executed_at", "attempts"),
                    "last_error",
                    ("fx_rate", "fx_rate_date", "fx_rate_source"),
                    ("created_at", "updated_at"),
                ],
            },
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "amount_shown", "reporting_shown", "approvals_shown"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        approved = Count("approvals", filter=Q(approvals__decision=ApprovalDecision.APPROVED))
        return super().get_queryset(request).annotate(approvals_count=approved)

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_shown(self, refund: Refund) -> str:
        return f"{format_amount(refund.amount, refund.currency)} {refund.currency}"

    @admin.display(description=gettext_lazy("in the reporting currency"))
    def reporting_shown(self, refund: Refund) -> str:
        money = refund.reporting_money
        return f"{format_amount(money.amount, money.currency)} {money.currency}" if money is not None else "—"

    @admin.display(description=gettext_lazy("approvals"))
    def approvals_shown(self, refund: Refund) -> str:
        if not refund.approvals_required:
            return "—"
        given = getattr(refund, "approvals_count", None)
        given = approvals_given(refund) if given is None else given
        return _("%(given)d of %(needed)d") % {"given": given, "needed": refund.approvals_required}

    @admin.display(description=gettext_lazy("requested by"), ordering="requested_by__email")
    def requested_by_shown(self, refund: Refund) -> str:
        """The requester's email, allowed to break after the "@" so that the list's columns fit."""
        email = refund.requested_by.email if refund.requested_by else ""
        if not email:
            return "—"
        name, at, domain = email.partition("@")
        return format_html("{}<wbr>{}{}", name, at, domain)

    @admin.display(description=gettext_lazy("note"))
    def note_shown(self, refund: Refund) -> str:
        note = refund.request_note or refund.reason_text
        return Truncator(note).chars(60)

    class Media:
        # The list's columns fit at 1280 px: amounts and statuses on one line, the note and email wrap.
        css = {"all": ["css/admin-refunds.css"]}

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The list needs the page's width for its eight columns: no navigation sidebar here (the breadcrumbs
        and the admin's home lead everywhere else)."""
        return super().changelist_view(request, {**(extra_context or {}), "is_nav_sidebar_enabled": False})

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, "approve")

    # --- the refund's own page: Approve / Reject -------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        mine = [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="refunds_refund_approve",
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="refunds_refund_reject",
            ),
        ]
        return mine + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        refund = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if refund is not None and self.has_approve_permission(request):
            context["approval_refusal"] = approval_refusal(refund=refund, user=_user(request))
            context["decision_open"] = refund.status == RefundStatus.PENDING_APPROVAL
            context["approvals_given"] = approvals_given(refund)
            context["reject_form"] = RejectForm()
        return super().change_view(request, object_id, form_url, context)

    def _decided(self, request: HttpRequest, object_id: str) -> Refund:
        if request.method != "POST":
            raise PermissionDenied
        refund = self.get_object(request, object_id)  # the tenant's own refunds only
        if refund is None:
            raise Http404
        if not self.has_approve_permission(request):
            raise PermissionDenied
        return refund

    def _back(self, refund: Refund) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:refunds_refund_change", args=[refund.pk]))

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        refund = self._decided(request, object_id)
        try:
            refund = refund_approve(refund=refund, actor=_user(request), via=VIA_ADMIN)
        except (PermissionDenied, ValidationError) as error:
            self.message_user(request, _refusal_text(error), messages.ERROR)
        else:
            self.message_user(request, _approved_text(refund), messages.SUCCESS)
        return self._back(refund)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        refund = self._decided(request, object_id)
        form = RejectForm(request.POST)
        reason = form.cleaned_data["reason"].strip() if form.is_valid() else ""
        if not reason:
            self.message_user(request, _("Say why the refund is rejected."), messages.ERROR)
            return self._back(refund)
        try:
            refund = refund_reject(refund=refund, actor=_user(request), reason=reason, via=VIA_ADMIN)
        except (PermissionDenied, ValidationError) as error:
            self.message_user(request, _refusal_text(error), messages.ERROR)
        else:
            self.message_user(
                request,
                _("Refund for order %(order)s rejected; the requester is told why.")
                % {"order": refund.order_external_id},
                messages.SUCCESS,
            )
        return self._back(refund)

    # --- the list's actions ----------------------------------------------------------------------------------

    def _decide(self, request: HttpRequest, queryset: QuerySet[Refund], decide: Any, said: Any) -> None:
        for refund in queryset.select_related("tenant").order_by("pk"):
            try:
                decided = decide(refund)
            except (PermissionDenied, ValidationError) as error:
                self.message_user(
                    request,
                    _("Order %(order)s: %(reason)s")
                    % {"order": refund.order_external_id, "reason": _refusal_text(error)},
                    messages.ERROR,
                )
            else:
                self.message_user(request, said(decided), messages.SUCCESS)

    @admin.action(description=gettext_lazy("Approve the selected refunds"), permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        self._decide(
            request,
            queryset,
            lambda refund: refund_approve(refund=refund, actor=_user(request), via=VIA_ADMIN),
            _approved_text,
        )

    @admin.action(description=gettext_lazy("Reject the selected refunds…"), permissions=["approve"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Refund]) -> HttpResponse | None:
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"].strip()
            if reason:
                self._decide(
                    request,
                    queryset,
                    lambda refund: refund_reject(refund=refund, actor=_user(request), reason=reason, via=VIA_ADMIN),
                    lambda refund: (
                        _("Refund for order %(order)s rejected; the requester is told why.")
                        % {"order": refund.order_external_id}
                    ),
                )
                return None
            form.add_error("reason", _("Say why the refunds are rejected."))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject refunds"),
            "opts": self.model._meta,
            "refunds": list(queryset.order_by("pk")),
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "refunds/approval_admin_reject.html", context)


def _refusal_text(error: PermissionDenied | ValidationError) -> str:
    return "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)


def _approved_text(refund: Refund) -> str:
    """What an approval did: the refund approved (and sent to the channel), or one of several approvals."""
    if refund.status == RefundStatus.PENDING_APPROVAL:
        given = Approval.objects.filter(refund=refund, decision=ApprovalDecision.APPROVED).count()
        return _(
            "Approval recorded for order %(order)s: %(given)d of %(needed)d; another person must approve it too."
        ) % {"order": refund.order_external_id, "given": given, "needed": refund.approvals_required}
    return _("Refund for order %(order)s approved; it is sent to the channel now.") % {
        "order": refund.order_external_id
    }


@admin.register(Return)
class ReturnAdmin(_ReadOnly):
    list_display = ["order_external_id", "store", "sku", "quantity", "status", "disposition", "restock_state"]
    list_filter = ["status", "source", "restock_state"]
    search_fields = ["order_external_id", "external_id", "sku", "tracking_number"]
    list_select_related = ["store"]


@admin.register(Approval)
class ApprovalAdmin(_ReadOnly):
    list_display = ["refund", "user", "decision", "via", "created_at"]
    list_filter = ["decision", "via"]
    list_select_related = ["refund", "user"]


@admin.register(ClassificationRule)
class ClassificationRuleAdmin(_ReadOnly):
    list_display = ["name", "position", "enabled", "set_tag", "require_approvals"]
    list_filter = ["enabled"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "stores"]


class ApprovalPolicyForm(forms.ModelForm):
    approver_roles = forms.MultipleChoiceField(
        label=gettext_lazy("Roles that approve"), widget=forms.CheckboxSelectMultiple, required=False, choices=()
    )

    class Meta:
        model = ApprovalPolicy
        fields = ["one_approval_from", "two_approvals_from", "approver_roles"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Role.choices)
        field = self.fields["approver_roles"]
        field.choices = [(role, labels[role]) for role in approver_roles_possible()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        one, two = data.get("one_approval_from"), data.get("two_approvals_from")
        if one is not None and two is not None and two < one:
            self.add_error("two_approvals_from", _("Two approvals must start at or above the one-approval amount."))
        if not data.get("approver_roles"):
            self.add_error("approver_roles", _("Choose at least one role that approves."))
        return data


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(TenantScopedAdmin):
    """The approval bands: changed through the same validated, audited service as the console page."""

    permissions = {"view": "refunds.view", "change": "refunds.rules"}
    form = ApprovalPolicyForm
    list_display = ["__str__", "approver_roles", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            policy_update(
                tenant=obj.tenant,
                one_approval_from=form.cleaned_data["one_approval_from"],
                two_approvals_from=form.cleaned_data["two_approvals_from"],
                approver_roles=form.cleaned_data["approver_roles"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as error:  # the form checks the same rules first; this is a second lock
            self.message_user(request, "; ".join(error.messages), messages.ERROR)

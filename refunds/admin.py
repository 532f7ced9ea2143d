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
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from acorn.tenancy.admin_site import TenantScopedAdmin
from acorn.tenancy.models import Role
from refunds.approvals import VIA_ADMIN, approver_roles_possible, policy_update, refund_approve, refund_reject
from refunds.models import Approval, ApprovalPolicy, ClassificationRule, Refund, RefundLine, RefundStatus, Return


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets only signed-in staff in
    return request.user


class _ReadOnly(TenantScopedAdmin):
    permissions = {"view": "refunds.view"}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field.name for field in self.model._meta.fields if field.name != "tenant"]


class RefundLineInline(admin.TabularInline):
    model = RefundLine
    extra = 0
    can_delete = False
    fields = ("sku", "order_item_id", "quantity", "principal_amount", "tax_amount", "shipping_amount", "amount")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    can_delete = False
    fields = ("user", "decision", "reason", "via", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    """Every refund of the tenant, read-only; approve / reject console requests with the actions."""

    permissions = {"view": "refunds.view", "approve": "refunds.approve"}
    list_display = [
        "order_external_id",
        "store",
        "origin",
        "status",
        "amount",
        "currency",
        "reporting_amount",
        "approvals_required",
        "requested_by",
        "refunded_at",
    ]
    list_filter = [PendingApprovalFilter, "status", "origin", "tag"]
    search_fields = ["order_external_id", "external_id", "channel_refund_id"]
    list_select_related = ["store", "requested_by"]
    inlines = [RefundLineInline, ApprovalInline]
    actions = ["approve_selected", "reject_selected"]

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, "approve")

    def _decide(self, request: HttpRequest, queryset: QuerySet[Refund], decide: Any) -> None:
        done, refused = 0, []
        for refund in queryset.select_related("tenant").order_by("pk"):
            try:
                decide(refund)
            except (PermissionDenied, ValidationError) as error:
                text = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                refused.append(f"{refund.order_external_id}: {text}")
            else:
                done += 1
        if done:
            text = ngettext("%(count)d refund done.", "%(count)d refunds done.", done) % {"count": done}
            self.message_user(request, text, messages.SUCCESS)
        for text in refused:
            self.message_user(request, text, messages.ERROR)

    @admin.action(description=gettext_lazy("Approve the selected refunds"), permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        self._decide(
            request, queryset, lambda refund: refund_approve(refund=refund, actor=_user(request), via=VIA_ADMIN)
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

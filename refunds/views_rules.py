"""The rule editor: the tenant's classification rules in order, create / edit with a preview of the last 90 days'
refunds a draft would match, delete, enable / disable, move up / down, and re-running the rules.

Everyone in the company may read the rules (they explain why a refund got its tag and category: `refunds.view`);
changing them, previewing drafts and re-running them needs `refunds.rules` (owner, admin). Another company's
rule answers 404.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from acorn.forms import form_add_errors
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.permissions import has_permission
from channels.selectors import store_list
from refunds import rules
from refunds.forms_rules import RuleForm
from refunds.models import ClassificationRule, ReasonTag
from refunds.views import _tabs as refund_tabs

# Re-run scopes offered in the console: days back, or everything.
RERUN_SCOPES = {"90": 90, "365": 365, "all": None}


def _rule_or_404(request: TenantRequest, rule_pk: int) -> ClassificationRule:
    rule = rules.rule_get(tenant=request.tenant, pk=rule_pk)
    if rule is None:
        raise Http404
    return rule


@tenant_member_required("refunds.view")
def rule_list_view(request: TenantRequest) -> HttpResponse:
    tags = dict(ReasonTag.choices)
    listed = [
        (rule, [tags.get(tag, tag) for tag in rules.split_values(rule.tags)])
        for rule in rules.rule_list(tenant=request.tenant)
    ]
    return render(
        request,
        "refunds/rule_list.html",
        {
            "tabs": refund_tabs(request, "rules"),
            "rules": listed,
            "can_edit": has_permission(request.membership, "refunds.rules"),
            "rerun_scopes": [("90", _("Last 90 days")), ("365", _("Last 365 days")), ("all", _("All refunds"))],
        },
    )


def _editor(request: TenantRequest, rule: ClassificationRule | None) -> HttpResponse:
    """Create (rule None) or edit: save, or with the `preview` button show what the draft matches, unsaved."""
    previewing = request.method == "POST" and "preview" in request.POST
    form = RuleForm(
        request.POST if request.method == "POST" else None,
        instance=rule,
        stores=store_list(tenant=request.tenant),
        previewing=previewing,
    )
    preview = None
    if request.method == "POST" and form.is_valid():
        stores = list(form.cleaned_data.get("stores") or [])
        if previewing:
            preview = rules.rule_preview(tenant=request.tenant, rule=form.instance, stores=stores)
        else:
            try:
                saved = rules.rule_save(tenant=request.tenant, rule=form.instance, stores=stores, actor=request.user)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(
                    request,
                    (_("Rule “%(name)s” saved.") if rule is not None else _("Rule “%(name)s” added."))
                    % {"name": saved.name},
                )
                return redirect("refunds:rule-list")
    return render(
        request,
        "refunds/rule_form.html",
        {"form": form, "rule": rule, "preview": preview, "previewing": previewing},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_member_required("refunds.rules")
def rule_create_view(request: TenantRequest) -> HttpResponse:
    return _editor(request, None)


@require_http_methods(["GET", "POST"])
@tenant_member_required("refunds.rules")
def rule_edit_view(request: TenantRequest, rule_pk: int) -> HttpResponse:
    return _editor(request, _rule_or_404(request, rule_pk))


@require_POST
@tenant_member_required("refunds.rules")
def rule_delete_view(request: TenantRequest, rule_pk: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_pk)
    name = rule.name
    rules.rule_delete(tenant=request.tenant, rule=rule, actor=request.user)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": name})
    return redirect("refunds:rule-list")


@require_POST
@tenant_member_required("refunds.rules")
def rule_move_view(request: TenantRequest, rule_pk: int) -> HttpResponse:
    """Move a rule one place earlier ("up") or later ("down") in the order rules are tried."""
    rule = _rule_or_404(request, rule_pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    rules.rule_move(tenant=request.tenant, rule=rule, offset=offset, actor=request.user)
    return redirect("refunds:rule-list")


@require_POST
@tenant_member_required("refunds.rules")
def rule_enabled_view(request: TenantRequest, rule_pk: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_pk)
    enabled = request.POST.get("enabled") == "1"
    rules.rule_enabled_set(tenant=request.tenant, rule=rule, enabled=enabled, actor=request.user)
    messages.success(
        request,
        (_("Rule “%(name)s” is on.") if enabled else _("Rule “%(name)s” is off.")) % {"name": rule.name},
    )
    return redirect("refunds:rule-list")


@require_POST
@tenant_member_required("refunds.rules")
def rule_rerun_view(request: TenantRequest) -> HttpResponse:
    """Classify the chosen period's refunds again with the current rules (people's tags stay)."""
    scope = request.POST.get("since", "90")
    if scope not in RERUN_SCOPES:
        messages.error(request, _("Choose which refunds to classify again."))
        return redirect("refunds:rule-list")
    days = RERUN_SCOPES[scope]
    since = timezone.now() - timedelta(days=days) if days is not None else None
    counts = rules.rules_rerun(tenant=request.tenant, since=since, actor=request.user)
    messages.success(
        request,
        _(
            "Rules applied again to %(examined)d refunds: %(changed)d changed (%(tags)d of them got another tag), "
            "%(matched)d match a rule."
        )
        % {
            "examined": counts.examined,
            "changed": counts.changed,
            "tags": counts.tags_changed,
            "matched": counts.matched,
        },
    )
    return redirect("refunds:rule-list")

"""Company, team, plan and invitation pages. Views parse, call one service or selector, and render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from acorn.forms import form_add_errors
from acorn.tenancy import plans, services
from acorn.tenancy.forms import (
    AcceptInvitationForm,
    CompanyCreateForm,
    InvitationForm,
    NotificationPreferenceForm,
    PlanChangeForm,
    RoleChangeForm,
    TenantCloseForm,
    TenantProfileForm,
    TenantReopenForm,
)
from acorn.tenancy.languages import language_cookie_set
from acorn.tenancy.middleware import SESSION_TENANT_KEY
from acorn.tenancy.mixins import TenantRequest, tenant_member_required
from acorn.tenancy.models import Plan
from acorn.tenancy.permissions import ASSIGNABLE_ROLES, has_permission
from acorn.tenancy.retention import RETENTION_SHRINK_GRACE, closure_deletes_at, retention_shrink_ends_at
from acorn.tenancy.selectors import (
    invitation_get_by_token,
    invitation_get_or_404,
    invitation_list_pending,
    membership_get_or_404,
    membership_list,
    membership_list_for_user,
    retention_preview,
    seats_in_use,
    user_language,
)


@tenant_member_required("tenant.view")
def company_view(request: TenantRequest) -> HttpResponse:
    can_change = has_permission(request.membership, "tenant.change")
    form = TenantProfileForm(request.POST or None, instance=request.tenant)
    if request.method == "POST":
        if not can_change:
            return render(request, "403.html", status=403)
        if form.is_valid():
            try:
                services.tenant_update_profile(
                    tenant=request.tenant,
                    actor=request.user,
                    membership=request.membership,
                    **{name: form.cleaned_data[name] for name in services.TENANT_PROFILE_FIELDS},
                )
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, _("Company details saved."))
                return redirect("tenancy:company")
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "tenancy/tenant_detail.html",
        {"form": form, "can_change": can_change, "can_close": has_permission(request.membership, "tenant.close")},
    )


def _team_context(request: TenantRequest, invite_form: InvitationForm | None = None) -> dict[str, object]:
    tenant = request.tenant
    membership = request.membership
    assignable = ASSIGNABLE_ROLES.get(membership.role, frozenset())
    limits = plans.limits_for(tenant)
    return {
        "members": membership_list(tenant=tenant),
        "invitations": invitation_list_pending(tenant=tenant),
        "invite_form": invite_form or InvitationForm(assignable_roles=assignable),
        "can_manage": has_permission(membership, "members.manage"),
        "assignable_roles": assignable,
        "role_form": RoleChangeForm(),
        "seats_used": seats_in_use(tenant=tenant),
        "seats_limit": limits.max_users,
    }


@tenant_member_required("members.view")
def team_view(request: TenantRequest) -> HttpResponse:
    return render(request, "tenancy/membership_list.html", _team_context(request))


@require_POST
@tenant_member_required("members.manage")
def invitation_create_view(request: TenantRequest) -> HttpResponse:
    membership = request.membership
    form = InvitationForm(request.POST, assignable_roles=ASSIGNABLE_ROLES.get(membership.role, frozenset()))
    if form.is_valid():
        try:
            services.invitation_create(
                tenant=request.tenant,
                actor=request.user,
                membership=membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        except plans.PlanLimitExceeded as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("tenancy:team")
    return render(request, "tenancy/membership_list.html", _team_context(request, invite_form=form), status=400)


@require_POST
@tenant_member_required("members.manage")
def invitation_revoke_view(request: TenantRequest, invitation_pk: int) -> HttpResponse:
    invitation = invitation_get_or_404(tenant=request.tenant, pk=invitation_pk)
    services.invitation_revoke(
        tenant=request.tenant,
        actor=request.user,
        membership=request.membership,
        invitation=invitation,
    )
    messages.success(request, _("Invitation for %(email)s revoked.") % {"email": invitation.email})
    return redirect("tenancy:team")


@require_POST
@tenant_member_required("members.manage")
def membership_role_view(request: TenantRequest, membership_pk: int) -> HttpResponse:
    target = membership_get_or_404(tenant=request.tenant, pk=membership_pk)
    form = RoleChangeForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(
                tenant=request.tenant,
                actor=request.user,
                membership=request.membership,
                target=target,
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Role of %(email)s changed.") % {"email": target.user.email})
    else:
        messages.error(request, _("Choose a valid role."))
    return redirect("tenancy:team")


@require_POST
@tenant_member_required("members.manage")
def membership_remove_view(request: TenantRequest, membership_pk: int) -> HttpResponse:
    target = membership_get_or_404(tenant=request.tenant, pk=membership_pk)
    try:
        services.membership_remove(
            tenant=request.tenant,
            actor=request.user,
            membership=request.membership,
            target=target,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(email)s was removed from the team.") % {"email": target.user.email})
    return redirect("tenancy:team")


@tenant_member_required("plan.view")
def plan_view(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    form = PlanChangeForm(request.POST or None, initial={"plan": tenant.plan})
    if request.method == "POST":
        if not has_permission(request.membership, "plan.change"):
            return render(request, "403.html", status=403)
        if form.is_valid():
            try:
                services.tenant_change_plan(
                    tenant=tenant,
                    actor=request.user,
                    membership=request.membership,
                    plan=form.cleaned_data["plan"],
                )
            except plans.PlanLimitExceeded as error:
                form.add_error("plan", error.message)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, _("Your plan was changed."))
                return redirect("tenancy:plan")
    limits = plans.limits_for(tenant)
    usage = plans.usage_for(tenant)
    rows = [
        (_("Users (members and open invitations)"), usage.get("users", 0), limits.max_users),
        (_("Connected stores"), usage.get("stores", 0), limits.max_stores),
    ]
    catalogue = [(Plan(key).label, value) for key, value in plans.PLAN_LIMITS.items()]
    preview = retention_preview(tenant=tenant)
    return render(
        request,
        "tenancy/plan_detail.html",
        {
            "form": form,
            "limits": limits,
            "retention": preview,
            "orders_to_delete": preview.item("orders"),
            "orders_to_anonymise": preview.item("orders_in_books"),
            "shrink_ends_at": (
                retention_shrink_ends_at(tenant) if preview.retention_months > limits.retention_months else None
            ),
            "shrink_grace_days": RETENTION_SHRINK_GRACE.days,
            "usage_rows": rows,
            "catalogue": catalogue,
            "can_change": has_permission(request.membership, "plan.change"),
            "status": 400 if form.errors else 200,
        },
        status=400 if form.errors else 200,
    )


@tenant_member_required("tenant.close")
def tenant_close_view(request: TenantRequest) -> HttpResponse:
    """The owner closes the account after typing the company name; they land on the reopen page."""
    tenant = request.tenant
    form = TenantCloseForm(request.POST or None, company_name=tenant.name)
    if request.method == "POST" and form.is_valid():
        try:
            services.tenant_close(
                tenant=tenant,
                actor=request.user,
                membership=request.membership,
                confirm_name=form.cleaned_data["confirm_name"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("The account of %(name)s is closed.") % {"name": tenant.name})
            return redirect("console:tenant-reopen")
    return render(
        request,
        "tenancy/tenant_close.html",
        {"form": form, "grace_days": settings.ACORN_CLOSURE_GRACE_DAYS},
        status=400 if form.errors else 200,
    )


@login_required
def tenant_reopen_view(request: TenantRequest) -> HttpResponse:
    """Closed accounts the signed-in owner may reopen within the grace period (POST: reopen one)."""
    form = TenantReopenForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                tenant = services.tenant_reopen(tenant_pk=form.cleaned_data["tenant_id"], actor=request.user)
            except (PermissionDenied, ValidationError) as error:
                messages.error(request, " ".join(getattr(error, "messages", None) or [str(error)]))
            else:
                request.session[SESSION_TENANT_KEY] = tenant.pk
                messages.success(request, _("Welcome back: %(name)s is open again.") % {"name": tenant.name})
                return redirect("console:dashboard")
        else:
            messages.error(request, _("Choose an account to reopen."))
    closed = [(tenant, closure_deletes_at(tenant)) for tenant in services.tenant_list_reopenable(user=request.user)]
    return render(request, "tenancy/tenant_reopen.html", {"closed": closed})


@tenant_member_required()
def notification_preferences_view(request: TenantRequest) -> HttpResponse:
    membership = request.membership
    form = NotificationPreferenceForm(
        request.POST or None,
        initial={
            "email_notifications": membership.email_notifications,
            "language": user_language(user=request.user),
        },
    )
    if request.method == "POST" and form.is_valid():
        services.membership_set_email_notifications(
            membership=membership, enabled=form.cleaned_data["email_notifications"]
        )
        language = form.cleaned_data["language"]
        services.user_set_language(user=request.user, language=language)
        if language:
            translation.activate(language)
        messages.success(request, _("Preferences saved."))
        return language_cookie_set(redirect("tenancy:preferences"), language)
    return render(request, "tenancy/preferences.html", {"form": form})


@require_POST
def language_set_view(request: HttpRequest) -> HttpResponse:
    """The header's language switch (Django's set_language); a signed-in person's choice is also kept as their
    preference, so that their emails and notifications follow it and the next sign-in starts in it."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and translation.check_for_language(language):
        services.user_set_language(user=request.user, language=language)
    return response


@require_POST
@login_required
def tenant_switch_view(request: HttpRequest) -> HttpResponse:
    """Choose which of the user's tenants to act in; only tenants they are a member of are accepted."""
    wanted = request.POST.get("tenant_id", "")
    memberships = {str(m.tenant_id): m for m in membership_list_for_user(user=request.user)}
    if wanted not in memberships:
        messages.error(request, _("You are not a member of that company."))
    else:
        request.session[SESSION_TENANT_KEY] = memberships[wanted].tenant_id
        messages.success(request, _("Now working in %(tenant)s.") % {"tenant": memberships[wanted].tenant.name})
    return redirect("console:dashboard")


@login_required
def no_tenant_view(request: TenantRequest) -> HttpResponse:
    """A signed-in user with no company: create one, or wait for an invitation."""
    if getattr(request, "tenant", None) is not None:
        return redirect("console:dashboard")
    form = CompanyCreateForm(request.POST or None)
    reopenable = services.tenant_list_reopenable(user=request.user)
    if request.method == "POST" and form.is_valid():
        tenant = services.tenant_create(
            name=form.cleaned_data["company_name"],
            owner=request.user,
            contact_name=form.cleaned_data["contact_name"],
            phone=form.cleaned_data["phone"],
            main_category=form.cleaned_data["main_category"],
            reporting_currency=form.cleaned_data["reporting_currency"],
        )
        request.session[SESSION_TENANT_KEY] = tenant.pk
        return redirect("console:dashboard")
    return render(request, "tenancy/tenant_create.html", {"form": form, "reopenable": reopenable})


def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. New people choose a password; existing users accept while signed in."""
    invitation = invitation_get_by_token(token=token)
    if invitation is None or not invitation.is_usable:
        return render(request, "tenancy/invitation_invalid.html", status=404)
    context: dict[str, object] = {"invitation": invitation}
    user = request.user
    if user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(invitation=invitation, user=user)
            except services.InvitationUnusable as error:
                messages.error(request, str(error))
                return render(request, "tenancy/invitation_accept.html", context, status=400)
            except plans.PlanLimitExceeded as error:
                messages.error(request, error.message)
                return render(request, "tenancy/invitation_accept.html", context, status=400)
            request.session[SESSION_TENANT_KEY] = membership.tenant_id
            messages.success(request, _("Welcome to %(name)s") % {"name": invitation.tenant.name})
            return redirect("console:dashboard")
        return render(request, "tenancy/invitation_accept.html", context)

    from django.contrib.auth import get_user_model

    if get_user_model().objects.filter(email__iexact=invitation.email).exists():
        context["needs_login"] = True
        return render(request, "tenancy/invitation_accept.html", context)
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        try:
            new_user, membership = services.invitation_accept_new_user(
                invitation=invitation, password=form.cleaned_data["password1"]
            )
        except (services.InvitationUnusable, plans.PlanLimitExceeded) as error:
            form.add_error(None, str(error))
        else:
            login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_TENANT_KEY] = membership.tenant_id
            messages.success(request, _("Welcome to %(name)s") % {"name": invitation.tenant.name})
            next_url = request.GET.get("next", "")
            if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
                return redirect(next_url)
            return redirect("console:dashboard")
    return render(request, "tenancy/invitation_accept.html", context, status=400 if form.errors else 200)

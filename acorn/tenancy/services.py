"""All writes to tenants, memberships and invitations. Every change is audited."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from acorn.audit.services import audit_record, snapshot
from acorn.dates import default_time_zone_for_currency
from acorn.emails import email_send
from acorn.tenancy import plans
from acorn.tenancy.locks import tenant_lock
from acorn.tenancy.models import Invitation, InvitationStatus, Membership, Plan, Role, Tenant, UserPreference
from acorn.tenancy.permissions import ASSIGNABLE_ROLES, ensure_permission
from acorn.tenancy.retention import (
    closure_deletes_at,
    closure_refusals,
    retention_change_note,
    retention_months_in_force,
    retention_preview_forget,
    tenant_data_delete,
)
from acorn.tenancy.scoping import dangerously_unscoped, tenant_scope
from acorn.tenancy.selectors import language_for, seats_in_use

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TENANT_PROFILE_FIELDS = ["name", "contact_name", "phone", "main_category", "reporting_currency", "time_zone"]


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "company"
    slug, counter = base, 2
    while Tenant.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


@transaction.atomic
def tenant_create(
    *,
    name: str,
    owner: User,
    contact_name: str,
    phone: str,
    main_category: str = "other",
    reporting_currency: str = "USD",
    plan: str = Plan.BASIC,
    slug: str | None = None,
    time_zone: str | None = None,
) -> Tenant:
    """Create a tenant with `owner` as its owner member, and audit it. With no `time_zone`, a guess from the
    reporting currency (acorn.dates.default_time_zone_for_currency)."""
    tenant = Tenant(
        time_zone=time_zone or default_time_zone_for_currency(reporting_currency.upper()),
        name=name.strip(),
        slug=slug or _unique_slug(name),
        contact_name=contact_name.strip(),
        phone=phone.strip(),
        main_category=main_category,
        reporting_currency=reporting_currency.upper(),
        plan=plan,
    )
    if plan == Plan.CUSTOM:
        limits = plans.PLAN_LIMITS[Plan.PRO]
        tenant.custom_max_stores = limits.max_stores
        tenant.custom_max_users = limits.max_users
        tenant.custom_retention_months = limits.retention_months
    tenant.full_clean()
    tenant.save()
    with tenant_scope(tenant):
        membership = Membership(tenant=tenant, user=owner, role=Role.OWNER)
        membership.full_clean()
        membership.save()
        audit_record(
            tenant=tenant,
            actor=owner,
            action="tenant.created",
            target=tenant,
            after=snapshot(tenant, [*TENANT_PROFILE_FIELDS, "plan"]),
        )
    return tenant


@transaction.atomic
def tenant_create_with_owner(
    *,
    name: str,
    owner_email: str,
    password: str,
    contact_name: str = "",
    phone: str = "",
    main_category: str = "other",
    reporting_currency: str = "USD",
    plan: str = Plan.BASIC,
    email_verified: bool = True,
) -> tuple[Tenant, User]:
    """Create a user (email verified when an operator vouches for it) and a tenant they own."""
    user_model = get_user_model()
    email = owner_email.strip().lower()
    if user_model.objects.filter(email__iexact=email).exists():
        raise ValidationError({"owner_email": _("A user with this email address already exists.")})
    user = user_model(username=_username_for(email), email=email)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    tenant = tenant_create(
        name=name,
        owner=user,
        contact_name=contact_name or email,
        phone=phone or "+00 000000",
        main_category=main_category,
        reporting_currency=reporting_currency,
        plan=plan,
    )
    return tenant, user


def _username_for(email: str) -> str:
    """Django's User needs a unique username; ACORN signs in by email, so derive one from it."""
    user_model = get_user_model()
    base = email[:140]
    candidate, counter = base, 2
    while user_model.objects.filter(username=candidate).exists():
        candidate = f"{base[:130]}-{counter}"
        counter += 1
    return candidate


@transaction.atomic
def tenant_update_profile(*, tenant: Tenant, actor: User, membership: Membership, **changes: str) -> Tenant:
    """Change the company profile (name, contact, phone, category, reporting currency)."""
    ensure_permission(membership, "tenant.change")
    unknown = set(changes) - set(TENANT_PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not profile fields: {sorted(unknown)}")
    tenant = tenant_lock(tenant)
    before = snapshot(tenant, list(changes))
    for field, value in changes.items():
        setattr(tenant, field, value)
    tenant.full_clean()
    tenant.save(update_fields=list(changes))
    after = snapshot(tenant, list(changes))
    if before != after:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="tenant.profile_changed",
            target=tenant,
            before=before,
            after=after,
        )
    return tenant


@transaction.atomic
def tenant_change_plan(*, tenant: Tenant, actor: User, membership: Membership, plan: str) -> Tenant:
    """Move the tenant to another plan, refusing a plan its current usage does not fit into."""
    ensure_permission(membership, "plan.change")
    tenant = tenant_lock(tenant)
    if plan == tenant.plan:
        return tenant
    if plan == Plan.CUSTOM:
        raise ValidationError(_("Custom plans are arranged with ACORN support."))
    new_limits = plans.limits_for_plan(plan, tenant)
    plans.ensure_plan_fits(tenant, plan=plan, limits=new_limits)
    fields = ["plan", *RETENTION_CHANGE_FIELDS]
    before = snapshot(tenant, fields)
    _note_retention_change(tenant, new_months=new_limits.retention_months)
    tenant.plan = plan
    tenant.full_clean()
    tenant.save(update_fields=fields)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="tenant.plan_changed",
        target=tenant,
        before=before,
        after=snapshot(tenant, fields),
    )
    transaction.on_commit(lambda: retention_preview_forget(tenant))
    return tenant


RETENTION_CHANGE_FIELDS = ["retention_previous_months", "retention_changed_at"]


def _note_retention_change(tenant: Tenant, *, new_months: int) -> None:
    """Before the tenant's plan fields change: a shorter retention applies after RETENTION_SHRINK_GRACE."""
    retention_change_note(tenant, in_force=retention_months_in_force(tenant), new_months=new_months)


@transaction.atomic
def tenant_set_custom_limits(
    *, tenant: Tenant, actor: User, max_stores: int, max_users: int, retention_months: int
) -> Tenant:
    """Platform staff only: put a tenant on the custom plan with negotiated limits."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied(_("Only ACORN staff set custom plan limits."))
    if retention_months < 1:
        raise ValidationError({"custom_retention_months": _("Data retention must be at least one month.")})
    tenant = tenant_lock(tenant)
    limits = plans.PlanLimits(max_stores=max_stores, max_users=max_users, retention_months=retention_months)
    plans.ensure_plan_fits(tenant, plan=Plan.CUSTOM, limits=limits)
    fields = ["plan", "custom_max_stores", "custom_max_users", "custom_retention_months", *RETENTION_CHANGE_FIELDS]
    before = snapshot(tenant, fields)
    _note_retention_change(tenant, new_months=retention_months)
    tenant.plan = Plan.CUSTOM
    tenant.custom_max_stores, tenant.custom_max_users = max_stores, max_users
    tenant.custom_retention_months = retention_months
    tenant.full_clean()
    tenant.save(update_fields=fields)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="tenant.plan_changed",
        target=tenant,
        before=before,
        after=snapshot(tenant, fields),
    )
    transaction.on_commit(lambda: retention_preview_forget(tenant))
    return tenant


def _ensure_can_assign(membership: Membership, role: str) -> None:
    if role not in ASSIGNABLE_ROLES.get(membership.role, frozenset()):
        raise PermissionDenied(_("Your role cannot give the role %(role)s.") % {"role": Role(role).label})


@transaction.atomic
def invitation_create(*, tenant: Tenant, actor: User, membership: Membership, email: str, role: str) -> Invitation:
    """Invite someone by email with a role; holds a seat under the user limit; emails on commit."""
    ensure_permission(membership, "members.manage")
    _ensure_can_assign(membership, role)
    email = email.strip().lower()
    tenant = tenant_lock(tenant)
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise ValidationError({"email": _("%(email)s is already a member.") % {"email": email}})
    _expire_stale_invitations(tenant=tenant)
    if Invitation.objects.filter(tenant=tenant, email__iexact=email, status=InvitationStatus.PENDING).exists():
        raise ValidationError({"email": _("%(email)s already has an open invitation.") % {"email": email}})
    plans.ensure_user_capacity(tenant, seats_in_use=seats_in_use(tenant=tenant))
    invitation = Invitation(
        tenant=tenant,
        email=email,
        role=role,
        token=secrets.token_urlsafe(32),
        invited_by=actor,
        expires_at=timezone.now() + timedelta(days=settings.ACORN_INVITATION_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="member.invited",
        target=invitation,
        after={"email": email, "role": role},
    )
    # The invitee reads it in their own language if they already use ACORN, else in the inviter's (the language
    # of the request that sent it).
    language = language_for(
        user=get_user_model().objects.filter(email__iexact=email).first(), fallback=translation.get_language()
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation, language=language))
    return invitation


def _send_invitation_email(invitation: Invitation, *, language: str) -> None:
    url = settings.ACORN_BASE_URL.rstrip("/") + reverse("tenancy:invitation-accept", args=[invitation.token])
    context = {"invitation": invitation, "tenant": invitation.tenant, "url": url}
    email_send(
        to=[invitation.email],
        subject=lambda: _("You are invited to join %(tenant)s") % {"tenant": invitation.tenant.name},
        template="tenancy/email/invitation",
        context=context,
        language=language,
        time_zone=invitation.tenant.time_zone,
    )


def _expire_stale_invitations(*, tenant: Tenant) -> int:
    return Invitation.objects.filter(
        tenant=tenant, status=InvitationStatus.PENDING, expires_at__lte=timezone.now()
    ).update(status=InvitationStatus.EXPIRED)


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, actor: User, membership: Membership, invitation: Invitation) -> None:
    """Withdraw a pending invitation; its link stops working and its seat is freed."""
    ensure_permission(membership, "members.manage")
    if invitation.tenant_id != tenant.pk:
        raise PermissionDenied
    updated = Invitation.objects.filter(pk=invitation.pk, tenant=tenant, status=InvitationStatus.PENDING).update(
        status=InvitationStatus.REVOKED
    )
    if updated:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="member.invitation_revoked",
            target=invitation,
            before={"email": invitation.email, "role": invitation.role},
        )


class InvitationUnusable(Exception):
    """The invitation is expired, revoked, already used, or meant for another email address."""


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Turn a pending invitation into a membership for `user`, within the plan's user limit."""
    with tenant_scope(invitation.tenant):
        tenant = tenant_lock(invitation.tenant)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_usable:
            raise InvitationUnusable(_("This invitation is no longer valid. Ask for a new one."))
        if getattr(user, "email", "").lower() != invitation.email.lower():
            raise InvitationUnusable(
                _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
                % {"email": invitation.email}
            )
        if Membership.objects.filter(tenant=tenant, user=user).exists():
            raise InvitationUnusable(_("You are already a member of %(tenant)s.") % {"tenant": tenant.name})
        # The invitation already holds a seat, so re-check without counting it twice.
        plans.ensure_user_capacity(tenant, seats_in_use=seats_in_use(tenant=tenant) - 1)
        membership = Membership(tenant=tenant, user=user, role=invitation.role)
        membership.full_clean()
        try:
            with transaction.atomic():
                membership.save()
        except IntegrityError as error:  # a concurrent accept of another invitation for the same user
            raise InvitationUnusable(_("You are already a member of %(tenant)s.") % {"tenant": tenant.name}) from error
        invitation.status = InvitationStatus.ACCEPTED
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["status", "accepted_at", "accepted_by"])
        audit_record(
            tenant=tenant,
            actor=user,
            action="member.joined",
            target=membership,
            after={"email": invitation.email, "role": invitation.role},
        )
    return membership


@transaction.atomic
def invitation_accept_new_user(*, invitation: Invitation, password: str) -> tuple[User, Membership]:
    """Create the invited person's account (its email proven by the emailed token) and accept."""
    user_model = get_user_model()
    if user_model.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationUnusable(_("An account with this email exists already. Sign in to accept."))
    user = user_model(username=_username_for(invitation.email), email=invitation.email)
    user.set_password(password)
    user.save()
    EmailAddress.objects.create(user=user, email=invitation.email, primary=True, verified=True)
    membership = invitation_accept(invitation=invitation, user=user)
    return user, membership


@transaction.atomic
def membership_change_role(
    *, tenant: Tenant, actor: User, membership: Membership, target: Membership, role: str
) -> Membership:
    """Give a member another role. Owners are changed only by transferring ownership."""
    ensure_permission(membership, "members.manage")
    if target.tenant_id != tenant.pk:
        raise PermissionDenied
    if target.pk == membership.pk:
        raise ValidationError(_("You cannot change your own role."))
    if target.role == Role.OWNER:
        raise ValidationError(_("The owner's role cannot be changed here."))
    _ensure_can_assign(membership, target.role)
    _ensure_can_assign(membership, role)
    before = snapshot(target, ["role"])
    target.role = role
    target.full_clean()
    target.save(update_fields=["role"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="member.role_changed",
        target=target,
        before=before,
        after=snapshot(target, ["role"]),
    )
    return target


@transaction.atomic
def membership_remove(*, tenant: Tenant, actor: User, membership: Membership, target: Membership) -> None:
    """Remove a member from the tenant. The owner cannot be removed; nobody removes themselves here."""
    ensure_permission(membership, "members.manage")
    if target.tenant_id != tenant.pk:
        raise PermissionDenied
    if target.role == Role.OWNER:
        raise ValidationError(_("The owner cannot be removed."))
    if target.pk == membership.pk:
        raise ValidationError(_("You cannot remove yourself."))
    _ensure_can_assign(membership, target.role)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="member.removed",
        target=target,
        before={"email": target.user.email, "role": target.role},
    )
    target.delete()


@transaction.atomic
def membership_set_email_notifications(*, membership: Membership, enabled: bool) -> Membership:
    """A member's own choice to receive notification emails."""
    membership.email_notifications = enabled
    membership.save(update_fields=["email_notifications"])
    return membership


@transaction.atomic
def user_set_language(*, user: User, language: str) -> UserPreference:
    """A person's own choice of language for the console, their emails and notifications ("" for the browser's)."""
    preference, _created = UserPreference.objects.get_or_create(user=user)
    preference.language = language
    preference.full_clean(exclude=["user"])
    preference.save(update_fields=["language"])
    return preference


def invitations_expire_all() -> int:
    """Mark every pending invitation past its expiry as expired (beat, platform-wide)."""
    with dangerously_unscoped():
        return Invitation.objects.filter(status=InvitationStatus.PENDING, expires_at__lte=timezone.now()).update(
            status=InvitationStatus.EXPIRED
        )


# --- account closure (acorn.tenancy.retention deletes the data after the grace period) --------------------


def _owner_emails(tenant: Tenant) -> list[tuple[str, str]]:
    """The active owners' addresses, each with the language to write to them in."""
    with tenant_scope(tenant):
        owners = Membership.objects.filter(tenant=tenant, role=Role.OWNER, user__is_active=True).select_related("user")
        return sorted((member.user.email, language_for(user=member.user)) for member in owners)


def _send_closure_email(
    *,
    recipients: list[tuple[str, str]],
    subject: Callable[[], str],
    template: str,
    context: dict[str, object],
    time_zone: str,
) -> None:
    """One email per owner, each in their language."""
    for email, language in recipients:
        email_send(
            to=[email], subject=subject, template=template, context=context, language=language, time_zone=time_zone
        )


@transaction.atomic
def tenant_close(*, tenant: Tenant, actor: User, membership: Membership, confirm_name: str) -> Tenant:
    """The owner closes the account: the tenant is inactive at once (nobody enters its console, syncs and
    tasks stop) and its data is deleted after the grace period unless the owner reopens it. Audited; the
    owners are emailed."""
    ensure_permission(membership, "tenant.close")
    if membership.tenant_id != tenant.pk:
        raise PermissionDenied
    tenant = tenant_lock(tenant)
    if confirm_name.strip() != tenant.name:
        raise ValidationError({"confirm_name": _("Type the company name exactly as shown to close the account.")})
    if tenant.closed_at is not None:
        raise ValidationError(_("This account is already closed."))
    refusals = closure_refusals(tenant)
    if refusals:
        raise ValidationError(refusals)
    tenant.is_active, tenant.closed_at = False, timezone.now()
    tenant.save(update_fields=["is_active", "closed_at"])
    deletes_at = closure_deletes_at(tenant)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="tenant.closed",
        target=tenant,
        after={"closed_at": tenant.closed_at, "data_deleted_after": deletes_at},
    )
    recipients = _owner_emails(tenant)
    url = settings.ACORN_BASE_URL.rstrip("/") + reverse("console:tenant-reopen")
    context = {"tenant": tenant, "deletes_at": deletes_at, "url": url}
    name, time_zone = tenant.name, tenant.time_zone
    transaction.on_commit(
        lambda: _send_closure_email(
            recipients=recipients,
            subject=lambda: _("%(tenant)s: account closed") % {"tenant": name},
            template="tenancy/email/closed",
            context=context,
            time_zone=time_zone,
        )
    )
    return tenant


def tenant_list_reopenable(*, user: User) -> list[Tenant]:
    """Closed tenants the user owns whose data is still there (they may reopen them)."""
    with dangerously_unscoped():
        tenant_ids = Membership.objects.filter(user=user, role=Role.OWNER).values_list("tenant_id", flat=True)
        return list(
            Tenant.objects.filter(
                pk__in=list(tenant_ids), is_active=False, closed_at__isnull=False, data_deleted_at__isnull=True
            ).order_by("name")
        )


@transaction.atomic
def tenant_reopen(*, tenant_pk: int, actor: User) -> Tenant:
    """The owner reopens a closed account within the grace period: active again, nothing was deleted."""
    tenant = next((item for item in tenant_list_reopenable(user=actor) if item.pk == tenant_pk), None)
    if tenant is None:
        raise PermissionDenied(_("Only the owner can reopen a closed account."))
    tenant = tenant_lock(tenant)
    deletes_at = closure_deletes_at(tenant)
    if tenant.data_deleted_at is not None or (deletes_at is not None and deletes_at <= timezone.now()):
        raise ValidationError(_("The grace period has ended; this account can no longer be reopened."))
    before = snapshot(tenant, ["is_active", "closed_at"])
    tenant.is_active, tenant.closed_at = True, None
    tenant.save(update_fields=["is_active", "closed_at"])
    with tenant_scope(tenant):
        audit_record(
            tenant=tenant,
            actor=actor,
            action="tenant.reopened",
            target=tenant,
            before=before,
            after=snapshot(tenant, ["is_active", "closed_at"]),
        )
    return tenant


def tenant_closure_complete(*, tenant: Tenant) -> dict[str, int]:
    """After the grace period: delete every row the tenant owns but the append-only audit trail, keep the
    tenant row as a tombstone without its contact details, audit it and email the owners. Idempotent."""
    tenant = Tenant.objects.get(pk=tenant.pk)
    if tenant.is_active or tenant.closed_at is None or tenant.data_deleted_at is not None:
        return {}
    recipients = _owner_emails(tenant)
    deleted = tenant_data_delete(tenant=tenant)
    with transaction.atomic():
        tenant = tenant_lock(tenant)
        tenant.data_deleted_at = timezone.now()
        tenant.contact_name, tenant.phone = "", ""
        tenant.save(update_fields=["data_deleted_at", "contact_name", "phone"])
        with tenant_scope(tenant):
            audit_record(
                tenant=tenant,
                actor=None,
                action="tenant.data_deleted",
                target=tenant,
                after={"closed_at": tenant.closed_at, "rows": deleted},
            )
        context = {"tenant": tenant, "url": settings.ACORN_BASE_URL.rstrip("/")}
        name, time_zone = tenant.name, tenant.time_zone
        transaction.on_commit(
            lambda: _send_closure_email(
                recipients=recipients,
                subject=lambda: _("%(tenant)s: account data deleted") % {"tenant": name},
                template="tenancy/email/data_deleted",
                context=context,
                time_zone=time_zone,
            )
        )
    return deleted

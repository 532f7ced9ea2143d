"""Reads of tenants, memberships and invitations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from acorn.tenancy.models import Invitation, InvitationStatus, Membership, Tenant, UserPreference
from acorn.tenancy.retention import RetentionReport, retention_preview_cached
from acorn.tenancy.scoping import dangerously_unscoped

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def membership_list_for_user(*, user: User | AnonymousUser) -> list[Membership]:
    """Every active tenant the user belongs to (for the tenant switcher). Spans tenants by design:
    the filter is the user, so nothing of another user's leaks."""
    if not user.is_authenticated:
        return []
    with dangerously_unscoped():
        return list(
            Membership.objects.filter(user=user, tenant__is_active=True)
            .select_related("tenant")
            .order_by("tenant__name", "pk")
        )


def membership_for_request(*, user: User, tenant_id: int | None) -> Membership | None:
    """The membership to act with: the one for the tenant chosen in the session, else the first."""
    memberships = membership_list_for_user(user=user)
    for membership in memberships:
        if membership.tenant_id == tenant_id:
            return membership
    return memberships[0] if memberships else None


def membership_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("created_at", "pk")


def membership_get_or_404(*, tenant: Tenant, pk: int) -> Membership:
    membership = Membership.objects.filter(tenant=tenant, pk=pk).select_related("user").first()
    if membership is None:
        raise Http404
    return membership


def invitation_list_pending(*, tenant: Tenant) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        tenant=tenant, status=InvitationStatus.PENDING, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def invitation_get_or_404(*, tenant: Tenant, pk: int) -> Invitation:
    invitation = Invitation.objects.filter(tenant=tenant, pk=pk).first()
    if invitation is None:
        raise Http404
    return invitation


def invitation_get_by_token(*, token: str) -> Invitation | None:
    """Look an invitation up by its secret token. Unscoped: the token itself is the authorisation."""
    if not token or len(token) > 64:
        return None
    with dangerously_unscoped():
        return Invitation.objects.filter(token=token).select_related("tenant", "invited_by").first()


def seats_in_use(*, tenant: Tenant) -> int:
    """Members plus pending, unexpired invitations: both hold a seat under the plan's user limit."""
    return membership_list(tenant=tenant).count() + invitation_list_pending(tenant=tenant).count()


def retention_preview(*, tenant: Tenant) -> RetentionReport:
    """What the next nightly retention run would delete or anonymise (a dry run: writes nothing), cached for
    up to an hour and dropped when a run or a plan change alters it."""
    return retention_preview_cached(tenant=tenant)


def user_language(*, user: User | AnonymousUser | None) -> str:
    """The language a person chose for the console, emails and notifications ("zh-hans"), or "" for none."""
    if user is None or not user.is_authenticated or user.pk is None:
        return ""
    preference = UserPreference.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    return preference or ""


def language_for(*, user: User | AnonymousUser | None, fallback: str | None = None) -> str:
    """The language to write to `user` in: their preference, else `fallback` (the language of the request that
    caused the message), else the site's default."""
    from django.conf import settings

    return user_language(user=user) or fallback or settings.LANGUAGE_CODE

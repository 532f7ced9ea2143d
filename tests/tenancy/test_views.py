"""Team, plan, company and invitation pages, by role."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from acorn.audit.models import AuditEvent
from acorn.tenancy.models import Invitation, Membership, Plan, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ClientFor = Callable[[Membership], Client]


def test_owner_invites_and_the_invitee_joins_with_a_new_account(
    tenant: Tenant, owner_client: Client, django_capture_on_commit_callbacks: Callable
) -> None:
    # given: the owner invites a finance member from the team page
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("tenancy:invitation-create"), {"email": "cfo@alpha.example", "role": Role.FINANCE}
        )
    assert response.status_code == 302
    path = re.search(r"http://testserver(/invitations/[^\s]+)", mail.outbox[0].body).group(1)

    # when: the invitee opens the link and chooses a password
    invitee = Client()
    assert "cfo@alpha.example" in invitee.get(path).content.decode()
    response = invitee.post(path, {"password1": "finance-pass-2026x", "password2": "finance-pass-2026x"})

    # then: they are a finance member, signed in, and the event is audited
    assert response.status_code == 302
    with tenant_scope(tenant):
        member = Membership.objects.get(user__email="cfo@alpha.example")
        assert member.role == Role.FINANCE
        assert AuditEvent.objects.filter(action="member.joined").count() == 1
    assert invitee.get(reverse("console:dashboard")).status_code == 200
    # and the link is used up
    assert Client().get(path).status_code == 404


def test_existing_user_accepts_while_signed_in_and_can_switch_tenants(
    tenant: Tenant, other_tenant: Tenant, owner: Membership, other_owner: Membership, client_for: ClientFor
) -> None:
    with tenant_scope(tenant):
        invitation = Invitation.objects.create(
            tenant=tenant,
            email=other_owner.user.email,
            role=Role.OPERATOR,
            token="tok-123456789012345678901234567890",
            expires_at=owner.created_at.replace(year=2999),
        )
    client = client_for(other_owner)
    path = reverse("tenancy:invitation-accept", args=[invitation.token])
    assert client.post(path).status_code == 302

    # the switcher lists both companies and switching changes which tenant the console shows
    page = client.get(reverse("console:dashboard")).content.decode()
    assert "Alpha Trading" in page and "Beta Imports" in page
    client.post(reverse("console:tenant-switch"), {"tenant_id": other_owner.tenant_id})
    assert client.get(reverse("console:dashboard")).context["request"].tenant == other_owner.tenant
    client.post(reverse("console:tenant-switch"), {"tenant_id": tenant.pk})
    assert client.get(reverse("console:dashboard")).context["request"].tenant == tenant


def test_switching_to_a_tenant_without_membership_is_refused(
    tenant: Tenant, other_owner: Membership, client_for: ClientFor
) -> None:
    client = client_for(other_owner)
    response = client.post(reverse("console:tenant-switch"), {"tenant_id": tenant.pk}, follow=True)
    assert "not a member" in response.content.decode()
    assert response.context["request"].tenant == other_owner.tenant


def test_session_pointing_at_a_foreign_tenant_falls_back_to_own(tenant: Tenant, other_owner: Membership) -> None:
    client = Client()
    client.force_login(other_owner.user)
    session = client.session
    session["acorn_tenant_id"] = tenant.pk  # forged or stale
    session.save()
    assert client.get(reverse("console:dashboard")).context["request"].tenant == other_owner.tenant


def test_plan_limit_message_on_the_team_page(tenant: Tenant, owner_client: Client, make_member: Callable) -> None:
    tenant.plan = Plan.BASIC
    tenant.save(update_fields=["plan"])
    make_member(tenant, Role.OPERATOR)
    make_member(tenant, Role.SUPPORT)
    response = owner_client.post(reverse("tenancy:invitation-create"), {"email": "x@example.com", "role": "support"})
    assert response.status_code == 400
    assert "allows 3 users" in response.content.decode()
    with tenant_scope(tenant):
        assert not Invitation.objects.exists()


def test_invite_form_validation_messages(owner_client: Client) -> None:
    response = owner_client.post(reverse("tenancy:invitation-create"), {"email": "not-an-email", "role": "owner"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid email address" in body
    assert "Select a valid choice" in body


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.FINANCE, Role.SUPPORT])
def test_non_admins_cannot_manage_members_or_plans(
    role: str, tenant: Tenant, owner: Membership, make_member: Callable, client_for: ClientFor
) -> None:
    member = make_member(tenant, role)
    client = client_for(member)
    assert client.post(reverse("tenancy:invitation-create"), {"email": "a@b.com", "role": "support"}).status_code == 403
    assert client.post(reverse("tenancy:membership-role", args=[owner.pk]), {"role": "support"}).status_code == 403
    assert client.post(reverse("tenancy:membership-remove", args=[owner.pk])).status_code == 403
    assert client.post(reverse("tenancy:plan"), {"plan": Plan.BASIC}).status_code == 403
    tenant.refresh_from_db()
    assert tenant.plan == Plan.PRO
    # the team page itself is visible, without the management controls
    page = client.get(reverse("tenancy:team"))
    assert page.status_code == 200
    assert "Send invitation" not in page.content.decode()


def test_support_cannot_see_finance_or_plan_pages(tenant: Tenant, make_member: Callable, client_for: ClientFor) -> None:
    client = client_for(make_member(tenant, Role.SUPPORT))
    assert client.get(reverse("finance:settlement-list")).status_code == 403
    assert client.get(reverse("tenancy:plan")).status_code == 403
    assert client.get(reverse("audit:auditevent-list")).status_code == 403
    nav = client.get(reverse("console:dashboard")).content.decode()
    assert reverse("finance:settlement-list") not in nav


def test_finance_sees_finance_but_not_audit(tenant: Tenant, make_member: Callable, client_for: ClientFor) -> None:
    client = client_for(make_member(tenant, Role.FINANCE))
    assert client.get(reverse("finance:settlement-list")).status_code == 200
    assert client.get(reverse("audit:auditevent-list")).status_code == 403


def test_owner_downgrade_refused_with_message(tenant: Tenant, owner_client: Client, make_member: Callable) -> None:
    for _ in range(3):
        make_member(tenant, Role.OPERATOR)
    response = owner_client.post(reverse("tenancy:plan"), {"plan": Plan.BASIC})
    assert response.status_code == 400
    assert "allows 3 users but you have 4" in response.content.decode()


def test_company_profile_is_saved_and_audited(tenant: Tenant, owner_client: Client) -> None:
    data = {
        "name": "Alpha Trading Ltd",
        "contact_name": "Chen",
        "phone": "+86 20 1234 5678",
        "main_category": "toys",
        "reporting_currency": "USD",
        "time_zone": "Asia/Shanghai",
    }
    assert owner_client.post(reverse("tenancy:company"), data).status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.reporting_currency) == ("Alpha Trading Ltd", "USD")
    with tenant_scope(tenant):
        event = AuditEvent.objects.get(action="tenant.profile_changed")
    assert event.before["reporting_currency"] == "CNY" and event.after["reporting_currency"] == "USD"


def test_company_profile_errors_are_shown(owner_client: Client) -> None:
    data = {
        "name": "",
        "contact_name": "Chen",
        "phone": "abc",
        "main_category": "toys",
        "reporting_currency": "USD",
        "time_zone": "Asia/Shanghai",
    }
    response = owner_client.post(reverse("tenancy:company"), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "This field is required" in body and "Enter a phone number" in body


def test_operator_sees_company_read_only(tenant: Tenant, make_member: Callable, client_for: ClientFor) -> None:
    client = client_for(make_member(tenant, Role.OPERATOR))
    assert client.get(reverse("tenancy:company")).status_code == 200
    response = client.post(reverse("tenancy:company"), {"name": "Hijacked"})
    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.name == "Alpha Trading"


def test_invitation_accept_with_existing_account_asks_to_sign_in(tenant: Tenant, owner: Membership) -> None:
    UserFactory(email="known@example.com")
    with tenant_scope(tenant):
        invitation = Invitation.objects.create(
            tenant=tenant,
            email="known@example.com",
            role=Role.SUPPORT,
            token="tok-abcdefabcdefabcdefabcdef",
            expires_at=owner.created_at.replace(year=2999),
        )
    response = Client().get(reverse("tenancy:invitation-accept", args=[invitation.token]))
    assert "Sign in" in response.content.decode()
    assert "password1" not in response.content.decode()


@pytest.mark.parametrize(("inviter_role", "preselected"), [(Role.OWNER, Role.SUPPORT), (Role.ADMIN, Role.SUPPORT)])
def test_the_invite_form_preselects_the_least_privileged_role(
    tenant: Tenant, make_member: Callable, client_for: ClientFor, inviter_role: str, preselected: str
) -> None:
    # given an owner or an admin on the team page
    client = client_for(make_member(tenant, inviter_role))
    # when the invite form is shown
    form = client.get(reverse("tenancy:team")).context["invite_form"]
    # then the role chosen unless they pick another is the one that may do least, never Admin
    assert form["role"].value() == preselected
    assert f'<option value="{preselected}" selected>' in str(form["role"])


def test_least_privileged_role_counts_permissions() -> None:
    from acorn.tenancy.permissions import least_privileged_role

    assert least_privileged_role(frozenset({Role.ADMIN, Role.OPERATOR, Role.FINANCE, Role.SUPPORT})) == Role.SUPPORT
    assert least_privileged_role(frozenset({Role.ADMIN, Role.OPERATOR})) == Role.OPERATOR


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_welcome_message_has_one_full_stop_when_the_name_ends_with_one(
    tenant: Tenant, owner: Membership, other_owner: Membership, client_for: ClientFor, language: str
) -> None:
    # given a company whose name ends with a period, inviting someone
    tenant.name = "Demo Trading Co."
    tenant.save(update_fields=["name"])
    with tenant_scope(tenant):
        invitation = Invitation.objects.create(
            tenant=tenant,
            email=other_owner.user.email,
            role=Role.OPERATOR,
            token="tok-welcome-9012345678901234567890",
            expires_at=owner.created_at.replace(year=2999),
        )
    client = client_for(other_owner)
    client.post(reverse("set_language"), {"language": language, "next": "/"})
    # when they accept
    response = client.post(reverse("tenancy:invitation-accept", args=[invitation.token]), follow=True)
    # then the welcome reads "Welcome to Demo Trading Co." (or 欢迎来到 …), never with two stops
    shown = [str(message) for message in response.context["messages"]]
    expected = "欢迎来到 Demo Trading Co." if language == "zh-hans" else "Welcome to Demo Trading Co."
    assert expected in shown
    assert not any(".." in text or ".。" in text for text in shown)


@pytest.mark.parametrize("code", ["ADP", "AFA", "ALK", "DEM", "XAU"])
def test_withdrawn_currencies_are_neither_offered_nor_accepted(tenant: Tenant, owner_client: Client, code: str) -> None:
    # given the company page
    page = owner_client.get(reverse("tenancy:company")).content.decode()
    # then a withdrawn code is not offered, current ones are
    assert f'value="{code}"' not in page and 'value="EUR"' in page and 'value="VES"' in page
    # and posting one anyway is refused, nothing saved
    data = {"name": "Alpha", "contact_name": "Chen", "phone": "+86 20 1234 5678", "main_category": "toys"}
    response = owner_client.post(reverse("tenancy:company"), {**data, "reporting_currency": code})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.reporting_currency == "CNY"

"""Accounts through allauth: company sign-up, mandatory email verification, login limits, reset, 2FA."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "company_name": "Hangzhou Home Goods",
    "contact_name": "Wang Fang",
    "phone": "+86 571 8888 6666",
    "main_category": "home",
    "reporting_currency": "CNY",
    "email": "wang@hzhome.example",
    "password1": "a-long-and-unusual-pass-7",
    "password2": "a-long-and-unusual-pass-7",
}


def test_signup_creates_company_and_owner_and_requires_email_verification(client: Client) -> None:
    # when: a seller signs up
    response = client.post(reverse("account_signup"), SIGNUP)

    # then: the company exists with them as owner, but they must verify their email first
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    tenant = Tenant.objects.get()
    assert (tenant.name, tenant.reporting_currency, tenant.main_category) == (
        "Hangzhou Home Goods",
        "CNY",
        "home",
    )
    with tenant_scope(tenant):
        membership = Membership.objects.get()
    assert (membership.user.email, membership.role) == ("wang@hzhome.example", Role.OWNER)
    assert not EmailAddress.objects.get(email="wang@hzhome.example").verified
    assert client.get(reverse("console:dashboard")).status_code == 302  # not signed in yet

    # when: they follow the emailed link
    link = re.search(r"http://testserver(/accounts/confirm-email/[^\s]+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    response = client.post(link.group(1))

    # then: verified and signed in to their console
    assert EmailAddress.objects.get(email="wang@hzhome.example").verified
    assert client.get(reverse("console:dashboard")).status_code == 200


def test_unverified_user_cannot_log_in(client: Client) -> None:
    client.post(reverse("account_signup"), SIGNUP)
    client.logout()
    response = client.post(reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get(reverse("console:dashboard")).status_code == 302


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "call me", "Enter a phone number"),
        ("company_name", "", "This field is required"),
        ("password2", "different-pass-9999", "same password"),
        ("reporting_currency", "XYZ", "Select a valid choice"),
    ],
)
def test_signup_shows_field_errors_and_creates_nothing(client: Client, field: str, value: str, message: str) -> None:
    response = client.post(reverse("account_signup"), {**SIGNUP, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Tenant.objects.exists()
    assert not get_user_model().objects.exists()


def test_signup_failure_inside_tenant_creation_rolls_back_the_user(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acorn.tenancy import services

    def explode(**kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "tenant_create", explode)
    with pytest.raises(RuntimeError):
        client.post(reverse("account_signup"), SIGNUP)
    assert not get_user_model().objects.exists()


def test_login_with_email_reaches_the_console(owner: Membership) -> None:
    client = Client()
    response = client.post(reverse("account_login"), {"login": owner.user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("console:dashboard")).status_code == 200


def test_failed_logins_are_rate_limited(owner: Membership) -> None:
    client = Client()
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": owner.user.email, "password": "wrong-password"})
        assert response.status_code == 200
    # the right password is refused too while the bucket is empty
    response = client.post(reverse("account_login"), {"login": owner.user.email, "password": TEST_PASSWORD})
    assert response.status_code == 429 or "Too many failed login attempts" in response.content.decode()
    assert client.get(reverse("console:dashboard")).status_code == 302


def test_password_reset_sends_an_email_with_a_working_link(owner: Membership) -> None:
    client = Client()
    client.post(reverse("account_reset_password"), {"email": owner.user.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/key/[^\s]+)", mail.outbox[0].body)
    assert link
    response = client.get(link.group(1), follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link.group(1)
    response = client.post(form_url, {"password1": "brand-new-pass-4242", "password2": "brand-new-pass-4242"})
    assert response.status_code == 302
    assert Client().login(username=owner.user.username, password="brand-new-pass-4242")


def test_two_factor_can_be_activated_with_a_totp_code(owner: Membership) -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    client = Client()
    client.post(reverse("account_login"), {"login": owner.user.email, "password": TEST_PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})  # allauth asks before 2FA changes
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    secret = response.context["form"].secret
    code = hotp_value(secret, next(yield_hotp_counters_from_time()))
    response = client.post(reverse("mfa_activate_totp"), {"code": format_hotp_value(code)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=owner.user, type=Authenticator.Type.TOTP).exists()

    # the next sign-in asks for the code after the password
    client.post(reverse("account_logout"))
    response = client.post(reverse("account_login"), {"login": owner.user.email, "password": TEST_PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("console:dashboard")).status_code == 302


def test_logout(owner_client: Client) -> None:
    owner_client.post(reverse("account_logout"))
    assert owner_client.get(reverse("console:dashboard")).status_code == 302


def test_user_without_company_is_offered_to_create_one(client: Client) -> None:
    user = UserFactory(email="lonely@example.com")
    client.force_login(user)
    response = client.get(reverse("console:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("console:no-tenant")
    response = client.post(reverse("console:no-tenant"), {**SIGNUP, "company_name": "Solo Ltd"})
    assert response.status_code == 302
    assert client.get(reverse("console:dashboard")).status_code == 200
    assert Tenant.objects.get().name == "Solo Ltd"

"""A tenant's time zone (dates shown in it, in one style, zone named) and a person's language (the console from
sign-in on, their notification and account emails)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from acorn.audit.services import audit_record
from acorn.dates import (
    available_time_zones,
    default_time_zone_for_currency,
    format_day,
    format_moment,
    format_month,
    tenant_time_zone,
    time_zone_choices,
)
from acorn.notifications.messages import message
from acorn.notifications.services import notify
from acorn.tenancy import services
from acorn.tenancy.forms import TenantProfileForm
from acorn.tenancy.models import Membership, Role, Tenant, UserPreference
from acorn.tenancy.scoping import tenant_scope
from tests.conftest import EnqueuedTasks
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 12, 7, 6, 5, tzinfo=UTC)  # 14:05 in Shanghai, 22:05 the day before in Los Angeles


def _profile(**changes: str) -> dict[str, str]:
    return {
        "name": "Alpha Trading",
        "contact_name": "Chen",
        "phone": "+86 20 1234 5678",
        "main_category": "toys",
        "reporting_currency": "CNY",
        "time_zone": "Asia/Shanghai",
        **changes,
    }


# --- the tenant's zone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "language", "expected"),
    [
        ("Asia/Shanghai", "en", "2026-12-07 14:05 CST"),
        ("Asia/Shanghai", "zh-hans", "2026年12月7日 14:05 (Asia/Shanghai)"),
        ("America/Los_Angeles", "en", "2026-12-06 22:05 PST"),
        ("UTC", "en", "2026-12-07 06:05 UTC"),
        # a zone whose abbreviation is only an offset ("-03") is named by its IANA name
        ("America/Sao_Paulo", "en", "2026-12-07 03:05 America/Sao_Paulo"),
    ],
)
def test_a_moment_is_shown_in_the_zone_with_the_zone_named(zone: str, language: str, expected: str) -> None:
    with tenant_time_zone(zone), translation.override(language):
        assert format_moment(MOMENT) == expected


def test_days_and_months_read_per_language_and_a_moment_falls_on_the_zones_day() -> None:
    with tenant_time_zone("America/Los_Angeles"):
        with translation.override("en"):
            assert (format_day(MOMENT), format_month(MOMENT)) == ("2026-12-06", "2026-12")
        with translation.override("zh-hans"):
            assert (format_day(MOMENT), format_month(MOMENT)) == ("2026年12月6日", "2026年12月")
    assert format_moment(None) == "" and format_day("") == ""


def test_the_zone_list_is_the_tz_database_and_new_tenants_guess_from_their_currency() -> None:
    assert "Asia/Shanghai" in available_time_zones() and "Europe/Berlin" in available_time_zones()
    assert default_time_zone_for_currency("CNY") == "Asia/Shanghai"
    assert default_time_zone_for_currency("JPY") == "Asia/Tokyo"
    assert default_time_zone_for_currency("USD") == "UTC"  # spent in too many places to guess


def test_the_form_offers_country_zones_and_utc_not_the_old_aliases() -> None:
    offered = {name for name, _label in time_zone_choices()}
    assert {"UTC", "Asia/Shanghai", "America/New_York", "Europe/Kyiv", "Asia/Kolkata"} <= offered
    # Aliases the tz database keeps for old names: valid if stored, never offered (a menu of "Japan", "Egypt"…).
    assert not offered & {"Japan", "Egypt", "US/Eastern", "Asia/Calcutta", "Europe/Kiev", "Etc/GMT+8"}
    assert {"Japan", "US/Eastern"} <= set(available_time_zones())


def test_a_new_company_starts_in_its_currencys_zone(owner: Membership) -> None:
    tenant = services.tenant_create(
        name="Hangzhou Home", owner=owner.user, contact_name="Wang", phone="+86 571 8888 6666", reporting_currency="CNY"
    )
    assert tenant.time_zone == "Asia/Shanghai"


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "CST", "asia/shanghai", ""])
def test_an_unknown_zone_is_refused_by_the_form_and_the_model(tenant: Tenant, bad: str) -> None:
    form = TenantProfileForm(_profile(time_zone=bad), instance=tenant)
    assert not form.is_valid() and "time_zone" in form.errors
    tenant.time_zone = bad
    with pytest.raises(ValidationError) as error:
        tenant.full_clean()
    assert "time_zone" in error.value.message_dict


def test_the_company_page_saves_the_zone_and_audits_it_and_leaves_other_tenants_alone(
    tenant: Tenant, other_tenant: Tenant, owner_client: Client
) -> None:
    # when: the owner picks Shanghai
    response = owner_client.post(reverse("tenancy:company"), _profile())

    # then: saved and audited; the other company keeps its own zone
    assert response.status_code == 302
    tenant.refresh_from_db()
    other_tenant.refresh_from_db()
    assert (tenant.time_zone, other_tenant.time_zone) == ("Asia/Shanghai", "UTC")
    from acorn.audit.models import AuditEvent

    with tenant_scope(tenant):
        event = AuditEvent.objects.get(action="tenant.profile_changed")
    assert (event.before["time_zone"], event.after["time_zone"]) == ("UTC", "Asia/Shanghai")

    # and a zone that is not in the list is refused with the field named
    page = owner_client.post(reverse("tenancy:company"), _profile(time_zone="Asia/Atlantis")).content.decode()
    assert "Select a valid choice" in page
    tenant.refresh_from_db()
    assert tenant.time_zone == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "2026-12-07 14:05 CST"), ("zh-hans", "2026年12月7日 14:05 (Asia/Shanghai)")],
)
def test_console_pages_show_times_in_the_tenants_zone(
    tenant: Tenant,
    other_tenant: Tenant,
    owner: Membership,
    other_owner: Membership,
    client_for: Callable[[Membership], Client],
    language: str,
    expected: str,
) -> None:
    # given: an audited change at 06:05 UTC in each company; only Alpha works in Shanghai time
    Tenant.objects.filter(pk=tenant.pk).update(time_zone="Asia/Shanghai")
    with time_machine.travel(MOMENT, tick=False):
        for company, member in ((tenant, owner), (other_tenant, other_owner)):
            with tenant_scope(company):
                audit_record(tenant=company, actor=member.user, action="tenant.plan_changed", target=company)

    # when: each owner opens the audit log
    pages = {}
    for member in (owner, other_owner):
        client = client_for(member)
        client.post(reverse("set_language"), {"language": language, "next": "/"})
        pages[member.tenant_id] = client.get(reverse("audit:auditevent-list")).content.decode()

    # then: Alpha reads Shanghai time, Beta still UTC; the action reads in the language
    assert expected in pages[tenant.pk]
    assert "14:05" not in pages[other_tenant.pk] and "06:05" in pages[other_tenant.pk]
    assert ("Plan changed" if language == "en" else "套餐已变更") in pages[tenant.pk]
    # and the request's zone does not leak into the next one (the middleware restores it)
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


# --- the person's language ----------------------------------------------------------------------------------


def test_the_preferences_page_keeps_the_language_and_signing_in_starts_in_it(
    owner: Membership, owner_client: Client
) -> None:
    # when: the owner chooses Chinese on their preferences page
    response = owner_client.post(reverse("tenancy:preferences"), {"language": "zh-hans", "email_notifications": "on"})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=owner.user).language == "zh-hans"

    # then: a fresh sign-in (another browser, no language cookie) lands in Chinese
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    signed_in = browser.post(reverse("account_login"), {"login": owner.user.email, "password": TEST_PASSWORD})
    assert signed_in.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert 'lang="zh-hans"' in browser.get(reverse("console:dashboard")).content.decode()


def test_the_header_switch_is_remembered_as_the_preference(owner: Membership, owner_client: Client) -> None:
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert UserPreference.objects.get(user=owner.user).language == "zh-hans"
    # an anonymous visitor's switch stores nothing
    Client().post(reverse("set_language"), {"language": "en", "next": "/"})
    assert UserPreference.objects.count() == 1


def test_each_recipient_reads_a_notification_email_in_their_own_language(
    tenant: Tenant,
    owner: Membership,
    make_member: Callable[..., Membership],
    django_capture_on_commit_callbacks: Callable[..., Any],
    enqueued: EnqueuedTasks,
) -> None:
    # given: the owner reads Chinese, the admin chose nothing (the site's English); the company is in Shanghai
    admin = make_member(tenant, Role.ADMIN, "admin@alpha.example")
    services.user_set_language(user=owner.user, language="zh-hans")
    Tenant.objects.filter(pk=tenant.pk).update(time_zone="Asia/Shanghai")

    # when: a worker (no request, site language) sends a notice
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        notify(
            tenant=tenant,
            kind="member_joined",
            title=message(gettext_noop("Sync now")),
            body=message(gettext_noop("Returns waiting for review: %(count)s"), count=3),
        )
    enqueued.run_all()

    # then: one email each, each in the reader's language, with the branded HTML beside the text
    by_address = {email.to[0]: email for email in mail.outbox}
    chinese, english = by_address[owner.user.email], by_address[admin.user.email]
    assert "待复核的退货：3" in chinese.body and "在 ACORN 中打开" in chinese.alternatives[0][0]  # noqa: RUF001
    assert "Returns waiting for review: 3" in english.body and "Open in ACORN" in english.alternatives[0][0]
    assert chinese.subject.startswith("[ACORN] ") and english.subject.startswith("[ACORN] ")
    assert 'lang="zh-hans"' in chinese.alternatives[0][0]


@pytest.mark.parametrize(
    ("preference", "subject", "phrase", "button"),
    [
        ("", "[ACORN] Reset your password", "asked to reset the password", "Choose a new password"),
        ("zh-hans", "[ACORN] 重置密码", "申请重置您 ACORN 账户的密码", "设置新密码"),
    ],
)
def test_the_password_reset_email_is_branded_in_the_users_language(
    owner: Membership, preference: str, subject: str, phrase: str, button: str
) -> None:
    if preference:
        services.user_set_language(user=owner.user, language=preference)

    # when: asked for from an English page
    Client(HTTP_ACCEPT_LANGUAGE="en").post(reverse("account_reset_password"), {"email": owner.user.email})

    # then: text and HTML, in the user's language, with a working link in both
    (email,) = mail.outbox
    html = email.alternatives[0][0]
    assert email.subject == subject
    assert phrase in email.body and phrase in html and button in html
    assert re.search(r"/accounts/password/reset/key/\S+", email.body)
    assert "ACORN" in html and "#1f2a37" in html  # the brand's header


@pytest.mark.parametrize(
    ("accept", "subject", "phrase"),
    [
        ("en", "[ACORN] Confirm your email address", "Confirm the address"),
        ("zh-hans", "[ACORN] 确认您的邮箱地址", "确认邮箱地址"),
    ],
)
def test_a_new_sign_up_is_asked_to_confirm_in_the_language_it_signed_up_in(
    accept: str, subject: str, phrase: str
) -> None:
    from tests.tenancy.test_accounts import SIGNUP

    client = Client(HTTP_ACCEPT_LANGUAGE=accept)
    assert client.post(reverse("account_signup"), SIGNUP).status_code == 302
    (email,) = mail.outbox
    assert email.subject == subject
    assert phrase in email.alternatives[0][0]
    assert re.search(r"/accounts/confirm-email/\S+", email.body)
    assert Tenant.objects.get().time_zone == "Asia/Shanghai"  # CNY


def test_an_invitation_is_written_in_the_inviters_language_with_a_branded_html_part(
    tenant: Tenant, owner: Membership, owner_client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("tenancy:invitation-create"), {"email": "new@alpha.example", "role": Role.OPERATOR})
    (email,) = mail.outbox
    assert email.subject == "[ACORN] 邀请您加入 Alpha Trading"
    assert "接受邀请" in email.alternatives[0][0]
    assert "/invitations/" in email.body


def test_an_existing_user_is_invited_in_their_own_language(
    tenant: Tenant,
    other_tenant: Tenant,
    owner_client: Client,
    other_owner: Membership,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given: the invitee already uses ACORN (in another company) in Chinese; the inviter's page is English
    services.user_set_language(user=other_owner.user, language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("tenancy:invitation-create"), {"email": other_owner.user.email, "role": Role.OPERATOR}
        )
    (email,) = mail.outbox
    assert email.subject == "[ACORN] 邀请您加入 Alpha Trading"

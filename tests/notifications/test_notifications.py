"""notify(), the notification centre and its emails."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_noop

from acorn.notifications.messages import message
from acorn.notifications.models import Notification
from acorn.notifications.services import notification_send_email, notify
from acorn.tenancy.models import Membership, Role, Tenant
from acorn.tenancy.scoping import tenant_scope
from tests.conftest import EnqueuedTasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(tenant: Tenant, owner: Membership, make_member: Callable[..., Membership]) -> dict[str, Membership]:
    return {
        "owner": owner,
        "admin": make_member(tenant, Role.ADMIN),
        "operator": make_member(tenant, Role.OPERATOR),
        "finance": make_member(tenant, Role.FINANCE),
        "support": make_member(tenant, Role.SUPPORT),
    }


def test_notify_reaches_only_subscribed_roles_and_emails_them_once(
    tenant: Tenant,
    team: dict[str, Membership],
    django_capture_on_commit_callbacks: Callable,
    enqueued: EnqueuedTasks,
) -> None:
    # given: finance opted out of email
    team["finance"].email_notifications = False
    team["finance"].save(update_fields=["email_notifications"])

    # when: a refund needs approval (owner, admin and finance subscribe)
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        created = notify(tenant=tenant, kind="refund_approval", title="Refund 123 needs approval", link="/app/")
    assert [task.name for task, _ in enqueued] == ["notifications.send_notification_emails"]
    assert enqueued[0][1]["tenant_id"] == tenant.pk
    enqueued.run_all()

    # then: three in-app notifications, two emails (finance opted out), none for operator or support
    assert {n.recipient_id for n in created} == {team[r].user_id for r in ("owner", "admin", "finance")}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([team["owner"].user.email, team["admin"].user.email])
    assert "Refund 123 needs approval" in mail.outbox[0].subject

    # and sending again (a retried task) sends nothing more
    with tenant_scope(tenant):
        for notification in created:
            notification.refresh_from_db()
            if notification.recipient_id == team["finance"].user_id:
                assert notification.emailed_at is None
                continue
            assert notification_send_email(notification=notification) is False
    assert len(mail.outbox) == 2


def test_unknown_kind_is_a_programming_error(tenant: Tenant) -> None:
    with tenant_scope(tenant), pytest.raises(ValueError, match="Unknown notification kind"):
        notify(tenant=tenant, kind="nope", title="x")


def test_unread_count_in_the_nav_and_mark_read(tenant: Tenant, owner: Membership, owner_client: Client) -> None:
    with tenant_scope(tenant):
        first, *_ = notify(tenant=tenant, kind="member_joined", title="Zhang joined")
        notify(tenant=tenant, kind="member_joined", title="Li joined")
    page = owner_client.get(reverse("console:dashboard")).content.decode()
    assert 'data-testid="unread-count">2<' in page

    owner_client.post(reverse("notifications:notification-read", args=[first.pk]))
    assert 'data-testid="unread-count">1<' in owner_client.get(reverse("console:dashboard")).content.decode()

    owner_client.post(reverse("notifications:notification-read-all"))
    assert "unread-count" not in owner_client.get(reverse("console:dashboard")).content.decode()


def test_notification_centre_shows_only_my_notifications(
    tenant: Tenant,
    other_tenant: Tenant,
    team: dict[str, Membership],
    other_owner: Membership,
    client_for: Callable,
) -> None:
    with tenant_scope(tenant):
        notify(tenant=tenant, kind="return_request", title="Return for support")  # support + admin
    with tenant_scope(other_tenant):
        notify(tenant=other_tenant, kind="member_joined", title="Beta news")
    owner_page = client_for(team["owner"]).get(reverse("notifications:notification-list")).content.decode()
    support_page = client_for(team["support"]).get(reverse("notifications:notification-list")).content.decode()
    assert "Return for support" not in owner_page and "Beta news" not in owner_page
    assert "No notifications yet." in owner_page
    assert "Return for support" in support_page


def test_cannot_mark_someone_elses_notification(
    tenant: Tenant, team: dict[str, Membership], client_for: Callable
) -> None:
    with tenant_scope(tenant):
        mine = notify(tenant=tenant, kind="return_request", title="for support")[0]
    response = client_for(team["operator"]).post(reverse("notifications:notification-read", args=[mine.pk]))
    assert response.status_code == 404
    with tenant_scope(tenant):
        assert Notification.objects.get(pk=mine.pk).read_at is None


def test_open_follows_only_local_links(tenant: Tenant, owner: Membership, owner_client: Client) -> None:
    with tenant_scope(tenant):
        local = notify(tenant=tenant, kind="member_joined", title="a", link="/app/settings/team/")[0]
        evil = notify(tenant=tenant, kind="member_joined", title="b", link="https://evil.example/")[0]
    url = reverse("notifications:notification-read", args=[local.pk])
    assert owner_client.post(url, {"follow": "1"})["Location"] == "/app/settings/team/"
    url = reverse("notifications:notification-read", args=[evil.pk])
    assert owner_client.post(url, {"follow": "1"})["Location"] == reverse("notifications:notification-list")


def test_a_notice_written_in_english_reads_in_the_readers_language(
    tenant: Tenant, owner: Membership, owner_client: Client
) -> None:
    # given: a worker (English) writes a low-stock notice as a message with its parameters
    with translation.override("en"), tenant_scope(tenant):
        notify(
            tenant=tenant,
            kind="stock_low",
            title=message(gettext_noop("%(sku)s is low on stock"), sku="MUG-1"),
            body=message(
                gettext_noop("%(available)d available, at or under the threshold of %(threshold)d."),
                available=2,
                threshold=5,
            ),
            link="/app/",
        )
        stored = Notification.objects.get(recipient=owner.user)
    assert stored.title == "MUG-1 is low on stock"  # the plain text, for subjects and old readers
    # when: read in Chinese, and in English
    with translation.override("zh-hans"):
        assert stored.title_text == "MUG-1 库存不足" or (
            "MUG-1" in stored.title_text and stored.title_text != stored.title
        )
        assert "2" in stored.body_text and "5" in stored.body_text and "available" not in stored.body_text
    with translation.override("en"):
        assert stored.title_text == "MUG-1 is low on stock"
    # then: the notification centre in Chinese shows the Chinese sentence
    page = owner_client.get(reverse("notifications:notification-list"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "is low on stock" not in page.content.decode() and "MUG-1" in page.content.decode()


def test_a_plain_notice_stays_as_written(tenant: Tenant, owner: Membership) -> None:
    with tenant_scope(tenant):
        notify(tenant=tenant, kind="stock_low", title="Plain title", body="Plain body")
        stored = Notification.objects.get(recipient=owner.user)
    with translation.override("zh-hans"):
        assert (stored.title_text, stored.body_text) == ("Plain title", "Plain body")


def test_a_body_of_several_lines_keeps_its_lines_in_each_language(tenant: Tenant, owner: Membership) -> None:
    with translation.override("en"), tenant_scope(tenant):
        notify(
            tenant=tenant,
            kind="refund_rate_alert",
            title=message(gettext_noop("Threshold: %(threshold)s%%"), threshold="5.00"),
            body=[
                message(gettext_noop("Where: %(where)s"), where="Amazon EU"),
                message(gettext_noop("Threshold: %(threshold)s%%"), threshold="5.00"),
            ],
        )
        stored = Notification.objects.get(recipient=owner.user)
    assert stored.body == "Where: Amazon EU\nThreshold: 5.00%"
    with translation.override("zh-hans"):
        lines = stored.body_text.split("\n")
        assert len(lines) == 2 and "Amazon EU" in lines[0] and "Where" not in lines[0] and "5.00%" in lines[1]

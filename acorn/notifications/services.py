"""notify(): tell the members whose role subscribes to a kind, in the app and by email."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from acorn.emails import email_send
from acorn.notifications.kinds import KINDS
from acorn.notifications.messages import Text, text_parts
from acorn.notifications.models import Notification
from acorn.tasks import enqueue_on_commit
from acorn.tenancy.models import Membership, Tenant
from acorn.tenancy.selectors import language_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


@transaction.atomic
def _stored(title: Text, body: Text) -> dict[str, Any]:
    """The notification's text fields: rendered now (plain), and as messages to render for each reader."""
    titles, bodies = text_parts(title), text_parts(body)
    return {
        "title": (" ".join(str(part) for part in titles) if titles is not None else str(title))[:200],
        "body": "\n".join(str(part) for part in bodies) if bodies is not None else str(body),
        "title_messages": [part.stored() for part in titles or []],
        "body_messages": [part.stored() for part in bodies or []],
    }


def notify(*, tenant: Tenant, kind: str, title: Text, body: Text = "", link: str = "") -> list[Notification]:
    """Create one notification per subscribed member and email those who want email (after commit). Title and
    body given as messages (acorn.notifications.messages) are shown in each reader's language."""
    try:
        spec = KINDS[kind]
    except KeyError:
        raise ValueError(f"Unknown notification kind {kind!r}; add it to acorn.notifications.kinds.") from None
    members = list(
        Membership.objects.filter(tenant=tenant, role__in=spec.roles, user__is_active=True).select_related("user")
    )
    text = _stored(title, body)
    notifications = Notification.objects.bulk_create(
        [Notification(tenant=tenant, recipient=member.user, kind=kind, link=link, **text) for member in members]
    )
    emailed = [n.pk for n, m in zip(notifications, members, strict=True) if spec.email and m.email_notifications]
    if emailed:
        enqueue_on_commit("notifications.send_notification_emails", tenant_id=tenant.pk, notification_ids=emailed)
    return notifications


@transaction.atomic
def notify_member(
    *, tenant: Tenant, recipient: User, kind: str, title: Text, body: Text = "", link: str = ""
) -> Notification | None:
    """Create one notification for one member (whatever the kind's roles: e.g. the person who asked for an
    export) and email it if the kind and the member want email. None if the user is not a member any more."""
    try:
        spec = KINDS[kind]
    except KeyError:
        raise ValueError(f"Unknown notification kind {kind!r}; add it to acorn.notifications.kinds.") from None
    member = Membership.objects.filter(tenant=tenant, user=recipient, user__is_active=True).first()
    if member is None:
        return None
    notification = Notification.objects.create(
        tenant=tenant, recipient=recipient, kind=kind, link=link, **_stored(title, body)
    )
    if spec.email and member.email_notifications:
        enqueue_on_commit(
            "notifications.send_notification_emails", tenant_id=tenant.pk, notification_ids=[notification.pk]
        )
    return notification


def notification_send_email(*, notification: Notification) -> bool:
    """Email one notification to its recipient, at most once. Returns True if it was sent now."""
    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    context = {
        "notification": notification,
        "url": settings.ACORN_BASE_URL.rstrip("/") + (notification.link or "/"),
    }
    try:
        # Written in the recipient's language (their preference; the site's default when they have none) and
        # with dates in their company's zone, whichever process sends it (the worker does).
        email_send(
            to=[notification.recipient.email],
            subject=lambda: notification.title_text,
            template="notifications/email/notification",
            context=context,
            language=language_for(user=notification.recipient),
            time_zone=notification.tenant.time_zone,
        )
    except OSError:
        # Release the claim so the retried task sends it; the SMTP failure itself is retried.
        Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
        raise
    return True


def notification_mark_read(*, tenant: Tenant, user: User, notification: Notification) -> None:
    """Mark one of the user's own notifications read."""
    Notification.objects.filter(tenant=tenant, recipient=user, pk=notification.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_mark_all_read(*, tenant: Tenant, user: User) -> int:
    """Mark every unread notification of the user in this tenant read."""
    return Notification.objects.filter(tenant=tenant, recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )

"""Email delivery for notifications, off the request path."""

from __future__ import annotations

from celery import shared_task

from acorn.notifications.models import Notification
from acorn.notifications.services import notification_send_email
from acorn.tenancy.tasks import TenantTask


@shared_task(
    name="notifications.send_notification_emails",
    base=TenantTask,
    bind=True,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def send_notification_emails_task(self: TenantTask, *, tenant_id: int, notification_ids: list[int]) -> int:
    """Email the given notifications of one tenant; each goes out at most once. Safe to run twice."""
    sent = 0
    for notification in Notification.objects.filter(pk__in=notification_ids).select_related("recipient"):
        sent += notification_send_email(notification=notification)
    return sent

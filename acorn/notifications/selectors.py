"""Reads of a member's notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from acorn.notifications.models import Notification
from acorn.tenancy.models import Tenant

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def notification_list(*, tenant: Tenant, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(tenant=tenant, recipient=user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-pk")


def notification_unread_count(*, tenant: Tenant, user: User) -> int:
    return notification_list(tenant=tenant, user=user, unread_only=True).count()


def notification_get_or_404(*, tenant: Tenant, user: User, pk: int) -> Notification:
    notification = notification_list(tenant=tenant, user=user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification

from django.contrib import admin

from acorn.notifications.models import Notification
from acorn.tenancy.admin_site import TenantScopedAdmin


@admin.register(Notification)
class NotificationAdmin(TenantScopedAdmin):
    """Platform staff only: notifications are personal, members read theirs in the console."""

    list_display = ["created_at", "recipient", "kind", "title", "read_at", "emailed_at"]
    list_filter = ["kind"]
    search_fields = ["title", "recipient__email"]

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from acorn.audit.models import AuditEvent
from acorn.tenancy.admin_site import TenantScopedAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(TenantScopedAdmin):
    """Append-only: nobody adds, changes or deletes here, platform staff included."""

    permissions = {"view": "audit.view"}
    list_display = ["created_at", "actor_label", "action", "object_repr", "request_id"]
    list_filter = ["action"]
    search_fields = ["actor_label", "action", "object_repr", "request_id"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

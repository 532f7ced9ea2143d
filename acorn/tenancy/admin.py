from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from acorn.tenancy.admin_site import TenantScopedAdmin
from acorn.tenancy.models import Invitation, Membership, Tenant
from acorn.tenancy.plans import limits_for
from acorn.tenancy.retention import retention_change_note, retention_months_in_force, retention_preview_forget


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Platform staff only (the default ModelAdmin permissions need Django permissions tenant staff lack)."""

    list_display = ["name", "slug", "plan", "reporting_currency", "is_active", "created_at"]
    list_filter = ["plan", "is_active"]
    search_fields = ["name", "slug", "contact_name"]
    readonly_fields = ["created_at", "retention_previous_months", "retention_changed_at"]

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        """A plan or custom retention edited here shortens the retention only after the grace period too."""
        if change and {"plan", "custom_retention_months"} & set(form.changed_data):
            previous = Tenant.objects.get(pk=obj.pk)
            retention_change_note(
                obj, in_force=retention_months_in_force(previous), new_months=limits_for(obj).retention_months
            )
        super().save_model(request, obj, form, change)
        retention_preview_forget(obj)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    """Read-only for tenant staff: role changes go through the team page, where the rules live."""

    permissions = {"view": "members.view"}
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]


@admin.register(Invitation)
class InvitationAdmin(TenantScopedAdmin):
    permissions = {"view": "members.view"}
    list_display = ["email", "role", "status", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email"]
    exclude = ["token"]
    readonly_fields = ["accepted_at"]

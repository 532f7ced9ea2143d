from django.contrib import admin

from acorn.tenancy.admin_site import TenantScopedAdmin
from acorn.tenancy.models import Invitation, Membership, Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Platform staff only (the default ModelAdmin permissions need Django permissions tenant staff lack)."""

    list_display = ["name", "slug", "plan", "reporting_currency", "is_active", "created_at"]
    list_filter = ["plan", "is_active"]
    search_fields = ["name", "slug", "contact_name"]
    readonly_fields = ["created_at"]


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

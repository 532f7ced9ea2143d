from django.contrib import admin

from acorn.tenancy.admin_site import TenantScopedAdmin
from channels.models import QuarantinedRecord, Store, SyncRun


@admin.register(Store)
class StoreAdmin(TenantScopedAdmin):
    """Read-only for tenant staff: connecting and authorising happen in the console. Secrets never show."""

    permissions = {"view": "stores.view"}
    list_display = ["name", "platform", "region", "status", "seller_id", "authorized_at"]
    list_filter = ["platform", "status", "region"]
    search_fields = ["name", "seller_id"]


@admin.register(SyncRun)
class SyncRunAdmin(TenantScopedAdmin):
    permissions = {"view": "stores.view"}
    list_display = [
        "started_at",
        "store",
        "resource",
        "status",
        "fetched",
        "created",
        "updated",
        "error_code",
    ]
    list_filter = ["status", "resource"]
    search_fields = ["trace_id"]


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(TenantScopedAdmin):
    permissions = {"view": "stores.view"}
    list_display = ["last_seen_at", "store", "resource", "external_id", "reason", "seen_count"]
    list_filter = ["resource"]

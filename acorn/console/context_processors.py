"""What every console page needs: navigation, the tenant switcher and the unread count."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from acorn.console.navigation import NAVIGATION
from acorn.notifications.selectors import notification_unread_count
from acorn.tenancy.permissions import has_permission
from acorn.tenancy.selectors import membership_list_for_user


def console(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    if tenant is None or membership is None:
        return {"nav_items": [], "current_tenant": None}
    current = getattr(request, "resolver_match", None)
    namespace_path = f"{current.namespace}:{current.url_name}" if current else ""
    claimed = any(namespace_path.startswith(prefix) for item in NAVIGATION for prefix in item.claims)
    items = []
    for item in NAVIGATION:
        if item.permission and not has_permission(membership, item.permission):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        section = item.url_name.split(":")[0]
        active = (
            namespace_path == item.url_name
            or any(namespace_path.startswith(prefix) for prefix in item.claims)
            or (item.key == "settings" and current is not None and current.namespace in {"tenancy", "audit", "exports"})
            or (
                item.key not in {"dashboard", "settings"}
                and not claimed
                and not item.claims
                and current is not None
                and current.namespace == section
                and section != "console"
            )
        )
        items.append({"key": item.key, "label": item.label, "url": url, "icon": item.icon, "active": active})
    return {
        "nav_items": items,
        "current_tenant": tenant,
        "current_membership": membership,
        "user_memberships": membership_list_for_user(user=request.user),
        "unread_notifications": notification_unread_count(tenant=tenant, user=membership.user),
        "can": _PermissionLookup(membership),
    }


class _PermissionLookup:
    """Lets templates ask `{% if can.members_manage %}` against the role table."""

    def __init__(self, membership: Any) -> None:
        self._membership = membership

    def __getattr__(self, name: str) -> bool:
        return has_permission(self._membership, name.replace("_", ".", 1))

    def __getitem__(self, name: str) -> bool:
        return has_permission(self._membership, name)

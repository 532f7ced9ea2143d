"""What each role may do: one table in code, read by views, services and the admin.

A permission is a dotted string. Views require one with ``PermissionRequiredMixin`` / ``require_permission``,
services check with ``ensure_permission``; the admin maps its view/add/change/delete onto the same table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from acorn.tenancy.models import Role

if TYPE_CHECKING:
    from acorn.tenancy.models import Membership

O, A, P, F, S = Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.FINANCE, Role.SUPPORT
EVERYONE = frozenset({O, A, P, F, S})

PERMISSIONS: dict[str, frozenset[str]] = {
    # Company and team
    "tenant.view": EVERYONE,
    "tenant.change": frozenset({O, A}),
    "members.view": EVERYONE,
    "members.manage": frozenset({O, A}),
    "plan.view": frozenset({O, A, F}),
    "plan.change": frozenset({O}),
    "audit.view": frozenset({O, A}),
    # Stores and sync
    "stores.view": frozenset({O, A, P, F}),
    "stores.manage": frozenset({O, A}),
    "stores.sync": frozenset({O, A, P}),
    # Operations
    "orders.view": EVERYONE,
    "orders.manage": frozenset({O, A, P}),
    "inventory.view": frozenset({O, A, P, F}),
    "inventory.manage": frozenset({O, A, P}),
    # After-sales
    "refunds.view": EVERYONE,
    "refunds.request": frozenset({O, A, P, S}),
    "refunds.approve": frozenset({O, A, F}),
    "refunds.rules": frozenset({O, A}),
    "alerts.view": EVERYONE,
    "alerts.manage": frozenset({O, A, P}),
    # Money
    "finance.view": frozenset({O, A, F}),
    "finance.export": frozenset({O, A, F}),
    "finance.manage": frozenset({O, F}),
    # Django admin access for tenant staff
    "admin.access": frozenset({O, A, F}),
}

# Roles an actor may hand out: nobody creates an owner through the team page, and an admin cannot
# promote anyone to a role above their own.
ASSIGNABLE_ROLES: dict[str, frozenset[str]] = {
    O: frozenset({A, P, F, S}),
    A: frozenset({P, F, S}),
}


def role_has_permission(role: str, permission: str) -> bool:
    """True if the role grants the permission. An unknown permission is a programming error."""
    try:
        return role in PERMISSIONS[permission]
    except KeyError:
        raise KeyError(f"Unknown permission {permission!r}; add it to acorn.tenancy.permissions.") from None


def has_permission(membership: Membership | None, permission: str) -> bool:
    """True if the membership's role grants the permission."""
    return membership is not None and role_has_permission(membership.role, permission)


def ensure_permission(membership: Membership | None, permission: str) -> None:
    """Raise PermissionDenied unless the membership grants the permission."""
    if not has_permission(membership, permission):
        raise PermissionDenied(_("Your role does not allow this action."))

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

OWNER, ADMIN, OPERATOR, FINANCE, SUPPORT = Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.FINANCE, Role.SUPPORT
EVERYONE = frozenset(Role)

PERMISSIONS: dict[str, frozenset[str]] = {
    # Company and team
    "tenant.view": EVERYONE,
    "tenant.change": frozenset({OWNER, ADMIN}),
    "members.view": EVERYONE,
    "members.manage": frozenset({OWNER, ADMIN}),
    "plan.view": frozenset({OWNER, ADMIN, FINANCE}),
    "plan.change": frozenset({OWNER}),
    # Close the account (its data is deleted after the grace period) and reopen it within that period.
    "tenant.close": frozenset({OWNER}),
    "audit.view": frozenset({OWNER, ADMIN}),
    # A zip of everything ACORN holds for the company (buyers' personal data included): owners only.
    "tenant.data_export": frozenset({OWNER}),
    # Stores and sync
    "stores.view": frozenset({OWNER, ADMIN, OPERATOR, FINANCE}),
    "stores.manage": frozenset({OWNER, ADMIN}),
    "stores.sync": frozenset({OWNER, ADMIN, OPERATOR}),
    # Operations
    "orders.view": EVERYONE,
    "orders.manage": frozenset({OWNER, ADMIN, OPERATOR}),
    "orders.export": frozenset({OWNER, ADMIN, OPERATOR, FINANCE}),
    "orders.fulfil": frozenset({OWNER, ADMIN, OPERATOR}),
    "inventory.view": frozenset({OWNER, ADMIN, OPERATOR, FINANCE}),
    "inventory.manage": frozenset({OWNER, ADMIN, OPERATOR}),
    # After-sales
    "refunds.view": EVERYONE,
    "refunds.request": frozenset({OWNER, ADMIN, OPERATOR, SUPPORT}),
    "refunds.approve": frozenset({OWNER, ADMIN, FINANCE}),
    "refunds.rules": frozenset({OWNER, ADMIN}),
    "refunds.export": frozenset({OWNER, ADMIN, FINANCE}),
    "alerts.view": EVERYONE,
    "alerts.manage": frozenset({OWNER, ADMIN, OPERATOR}),
    # Refund-rate alerts: acknowledge them and edit the thresholds (everyone sees them: alerts.view).
    "refunds.alerts": frozenset({OWNER, ADMIN, OPERATOR}),
    # Money
    "finance.view": frozenset({OWNER, ADMIN, FINANCE}),
    "finance.export": frozenset({OWNER, ADMIN, FINANCE}),
    "finance.manage": frozenset({OWNER, FINANCE}),
    # Upload settlement files from Seller Central (and import them from the command line).
    "finance.import": frozenset({OWNER, ADMIN, FINANCE}),
    # Profit per SKU, store and country (support sees none of it); costs of goods and costs of no order.
    "profit.view": frozenset({OWNER, ADMIN, OPERATOR, FINANCE}),
    "profit.export": frozenset({OWNER, ADMIN, OPERATOR, FINANCE}),
    "profit.manage": frozenset({OWNER, ADMIN, FINANCE}),
    # Django admin access for tenant staff
    "admin.access": frozenset({OWNER, ADMIN, FINANCE}),
}

# Roles an actor may hand out: nobody creates an owner through the team page, and an admin cannot
# promote anyone to a role above their own.
ASSIGNABLE_ROLES: dict[str, frozenset[str]] = {
    OWNER: frozenset({ADMIN, OPERATOR, FINANCE, SUPPORT}),
    ADMIN: frozenset({OPERATOR, FINANCE, SUPPORT}),
}


def least_privileged_role(roles: frozenset[str]) -> str:
    """Of `roles`, the one granted the fewest permissions (the later in Role's order on a tie)."""
    order: list[str] = [role.value for role in Role]
    return min(
        sorted(roles, key=lambda role: -order.index(role) if role in order else 0),
        key=lambda role: sum(role in granted for granted in PERMISSIONS.values()),
    )


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

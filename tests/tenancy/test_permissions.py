"""The role table: what each role may do."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from acorn.tenancy.models import Role
from acorn.tenancy.permissions import ASSIGNABLE_ROLES, PERMISSIONS, ensure_permission, role_has_permission


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (Role.OPERATOR, "members.manage", False),
        (Role.OPERATOR, "plan.change", False),
        (Role.OPERATOR, "orders.manage", True),
        (Role.SUPPORT, "finance.view", False),
        (Role.SUPPORT, "refunds.request", True),
        (Role.SUPPORT, "refunds.approve", False),
        (Role.FINANCE, "finance.export", True),
        (Role.FINANCE, "members.manage", False),
        (Role.ADMIN, "members.manage", True),
        (Role.ADMIN, "plan.change", False),
        (Role.OWNER, "plan.change", True),
    ],
)
def test_role_table(role: str, permission: str, allowed: bool) -> None:
    assert role_has_permission(role, permission) is allowed


def test_owner_holds_every_permission() -> None:
    assert all(Role.OWNER in roles for roles in PERMISSIONS.values())


def test_unknown_permission_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="Unknown permission"):
        role_has_permission(Role.OWNER, "orders.delete_everything")


def test_ensure_permission_refuses_missing_membership() -> None:
    with pytest.raises(PermissionDenied):
        ensure_permission(None, "orders.view")


def test_nobody_can_hand_out_owner_and_admins_cannot_make_admins() -> None:
    assert all(Role.OWNER not in roles for roles in ASSIGNABLE_ROLES.values())
    assert Role.ADMIN not in ASSIGNABLE_ROLES[Role.ADMIN]

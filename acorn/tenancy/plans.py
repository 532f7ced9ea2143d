"""Plan limits (stores, users, data retention) and their enforcement with a clear message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from acorn.tenancy.models import Plan, Tenant


@dataclass(frozen=True)
class PlanLimits:
    max_stores: int
    max_users: int
    retention_months: int


PLAN_LIMITS: dict[str, PlanLimits] = {
    Plan.BASIC: PlanLimits(max_stores=2, max_users=3, retention_months=12),
    Plan.PRO: PlanLimits(max_stores=10, max_users=20, retention_months=36),
}


class PlanLimitExceeded(Exception):
    """Raised when an action would take a tenant past its plan's limit; the message is user-facing."""

    def __init__(self, message: str, *, resource: str, limit: int) -> None:
        super().__init__(message)
        self.message = message
        self.resource = resource
        self.limit = limit


def limits_for(tenant: Tenant) -> PlanLimits:
    """The limits in force for a tenant: the plan's, or the tenant's own on the custom plan."""
    if tenant.plan == Plan.CUSTOM:
        if None in (tenant.custom_max_stores, tenant.custom_max_users, tenant.custom_retention_months):
            raise ValueError(f"Tenant {tenant.pk} is on the custom plan without limits set.")
        return PlanLimits(
            max_stores=tenant.custom_max_stores or 0,
            max_users=tenant.custom_max_users or 0,
            retention_months=tenant.custom_retention_months or 0,
        )
    return PLAN_LIMITS[tenant.plan]


def limits_for_plan(plan: str, tenant: Tenant) -> PlanLimits:
    """The limits a tenant would have on another plan (for a plan change)."""
    if plan == Plan.CUSTOM:
        return limits_for(tenant) if tenant.plan == Plan.CUSTOM else PLAN_LIMITS[Plan.PRO]
    return PLAN_LIMITS[plan]


def ensure_user_capacity(tenant: Tenant, *, seats_in_use: int, adding: int = 1) -> None:
    """Raise PlanLimitExceeded if adding seats would pass the user limit."""
    limit = limits_for(tenant).max_users
    if seats_in_use + adding > limit:
        raise PlanLimitExceeded(
            _(
                "Your %(plan)s plan allows %(limit)d users and %(used)d are already members or invited. "
                "Remove a member, revoke an invitation or upgrade the plan."
            )
            % {"plan": tenant.get_plan_display(), "limit": limit, "used": seats_in_use},
            resource="users",
            limit=limit,
        )


def ensure_store_capacity(tenant: Tenant, *, stores_in_use: int, adding: int = 1) -> None:
    """Raise PlanLimitExceeded if connecting another store would pass the store limit."""
    limit = limits_for(tenant).max_stores
    if stores_in_use + adding > limit:
        raise PlanLimitExceeded(
            _(
                "Your %(plan)s plan allows %(limit)d stores and %(used)d are connected. "
                "Disconnect a store or upgrade the plan."
            )
            % {"plan": tenant.get_plan_display(), "limit": limit, "used": stores_in_use},
            resource="stores",
            limit=limit,
        )


# Usage counters per limited resource. Apps above the core register theirs in AppConfig.ready()
# (channels registers "stores"), so that the core never imports them.
USAGE_COUNTERS: dict[str, Callable[[Tenant], int]] = {}


def register_usage_counter(resource: str, counter: Callable[[Tenant], int]) -> None:
    """Register how to count a tenant's use of a limited resource ("users", "stores")."""
    USAGE_COUNTERS[resource] = counter


def usage_for(tenant: Tenant) -> dict[str, int]:
    """Current use of every registered resource. Call inside the tenant's scope."""
    return {resource: counter(tenant) for resource, counter in USAGE_COUNTERS.items()}


def ensure_plan_fits(tenant: Tenant, *, plan: str, limits: PlanLimits) -> None:
    """Raise PlanLimitExceeded if the tenant's current usage does not fit into another plan."""
    usage = usage_for(tenant)
    caps = {"users": limits.max_users, "stores": limits.max_stores}
    labels = {"users": _("users"), "stores": _("stores")}
    for resource, used in usage.items():
        limit = caps.get(resource)
        if limit is not None and used > limit:
            raise PlanLimitExceeded(
                _("The %(plan)s plan allows %(limit)d %(resource)s but you have %(used)d. Reduce them first.")
                % {
                    "plan": Plan(plan).label,
                    "limit": limit,
                    "resource": labels.get(resource, resource),
                    "used": used,
                },
                resource=resource,
                limit=limit,
            )

"""Notification kinds and which roles receive each one. Later apps add kinds here as they need them."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from acorn.tenancy.models import Role

OWNER, ADMIN, OPERATOR, FINANCE, SUPPORT = Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.FINANCE, Role.SUPPORT


@dataclass(frozen=True)
class NotificationKind:
    key: str
    label: str | Promise
    roles: frozenset[str]
    email: bool = True


KINDS: dict[str, NotificationKind] = {
    kind.key: kind
    for kind in (
        NotificationKind("member_joined", _("A member joined"), frozenset({OWNER, ADMIN})),
        NotificationKind("plan_limit", _("Plan limit reached"), frozenset({OWNER, ADMIN})),
        NotificationKind(
            "store_auth_interrupted",
            _("Store authorisation interrupted"),
            frozenset({OWNER, ADMIN, OPERATOR}),
        ),
        NotificationKind("sync_failed", _("Sync failed"), frozenset({OWNER, ADMIN})),
        NotificationKind("store_deleted", _("Store deleted"), frozenset({OWNER, ADMIN})),
        NotificationKind("store_reauthorize_soon", _("Store authorisation expires soon"), frozenset({OWNER, ADMIN})),
        NotificationKind("stock_low", _("Low stock"), frozenset({OWNER, ADMIN, OPERATOR})),
        NotificationKind("backorder", _("Orders waiting for stock"), frozenset({OWNER, ADMIN, OPERATOR})),
        NotificationKind("refund_approval", _("Refund waiting for approval"), frozenset({OWNER, ADMIN, FINANCE})),
        NotificationKind("refund_rate_alert", _("Refund rate above threshold"), frozenset({OWNER, ADMIN, OPERATOR})),
        NotificationKind("return_request", _("New return request"), frozenset({SUPPORT, ADMIN})),
        NotificationKind("refund_flagged", _("Refund flagged for customer service"), frozenset({SUPPORT, ADMIN})),
        NotificationKind("export_ready", _("Export ready"), frozenset({OWNER, FINANCE}), email=False),
        NotificationKind("privacy_request", _("Customer privacy request"), frozenset({OWNER, ADMIN})),
        NotificationKind("weekly_digest", _("Weekly digest"), frozenset({OWNER, ADMIN})),
    )
}

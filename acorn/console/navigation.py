"""The console's navigation: one list, filtered by the member's role."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url_name: str
    permission: str | None
    icon: str
    # URL-name prefixes ("refunds:alert-") this item owns inside another item's namespace: it is the active one there.
    claims: tuple[str, ...] = ()


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("dashboard", _("Dashboard"), "console:dashboard", None, "▦"),
    NavItem("stores", _("Stores"), "channels:store-list", "stores.view", "⌂"),
    NavItem("orders", _("Orders"), "orders:order-list", "orders.view", "☰"),
    NavItem("inventory", _("Inventory"), "inventory:product-list", "inventory.view", "▤"),
    NavItem("refunds", _("Refunds"), "refunds:refund-list", "refunds.view", "↺"),
    NavItem("profit", _("Profit"), "finance:profit", "profit.view", "↗", claims=("finance:profit",)),
    NavItem("finance", _("Finance"), "finance:settlement-list", "finance.view", "¤"),
    NavItem(
        "alerts",
        _("Alerts"),
        "refunds:alert-list",
        "alerts.view",
        "⚑",
        claims=("refunds:alert-", "refunds:rate-", "refunds:threshold-"),
    ),
    NavItem("settings", _("Settings"), "tenancy:company", "tenant.view", "⚙"),
)

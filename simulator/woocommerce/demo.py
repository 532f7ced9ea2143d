"""The demo's WooCommerce shop: a fixed slug and fixed API keys, so `manage.py demo` can connect the store
before the simulator runs and the store keeps working after it restarts (the shop itself is in memory)."""

from __future__ import annotations

from simulator.woocommerce.context import WooContext
from simulator.woocommerce.site import WooSite

DEMO_SITE_SLUG = "acorn-demo"
DEMO_SITE_NAME = "ACORN Demo Shop"
DEMO_CONSUMER_KEY = "ck_acorn0demo000000000000000000000000000001"
DEMO_CONSUMER_SECRET = "cs_acorn0demo000000000000000000000000000002"


def install_demo_woo_site(woo: WooContext) -> WooSite:
    """Add the demo shop (EUR, Europe/Berlin, stock managed) with its order history and fixed keys."""
    return woo.add_site(
        DEMO_SITE_SLUG,
        name=DEMO_SITE_NAME,
        currency="EUR",
        timezone="Europe/Berlin",
        manage_stock=True,
        consumer_key=DEMO_CONSUMER_KEY,
        consumer_secret=DEMO_CONSUMER_SECRET,
    )

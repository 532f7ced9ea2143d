"""The demo's simulated Shopify shop: a fixed domain with a fixed non-expiring Admin API access token and a
fixed refresh token, so `manage.py demo` can connect the store before the simulator runs and the store
keeps working after the simulator restarts (the shop itself is in memory and regenerated from the seed).

`simulate_channels` calls `install_demo_shops(sim.shopify)`; with `deliver_webhooks` (the default) a
background thread sends due webhooks every half second.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.shopify.context import ShopifyContext


@dataclass(frozen=True)
class DemoShop:
    domain: str
    currency: str
    presentment_currencies: tuple[str, ...]
    locations: tuple[str, ...]
    name: str
    access_token: str
    refresh_token: str


DEMO_SHOP_DOMAIN = "acorn-demo.myshopify.com"
DEMO_ACCESS_TOKEN = "shpat_acorndemo0000000000000000000001"
DEMO_REFRESH_TOKEN = "shprt_acorndemo000000000000000000000000000001"
DEMO_SHOPS = (
    DemoShop(
        domain=DEMO_SHOP_DOMAIN,
        currency="USD",
        presentment_currencies=("CAD", "EUR", "GBP", "AUD"),
        locations=("Main warehouse", "Brooklyn store"),
        name="ACORN Demo Outfitters",
        access_token=DEMO_ACCESS_TOKEN,
        refresh_token=DEMO_REFRESH_TOKEN,
    ),
)


def install_demo_shops(shopify: ShopifyContext, *, deliver_webhooks: bool = True) -> None:
    """Add the demo shops (with their order history) and accept their fixed tokens; idempotent."""
    for demo in DEMO_SHOPS:
        if not shopify.has_shop(demo.domain):
            shopify.add_shop(
                demo.domain,
                currency=demo.currency,
                presentment_currencies=list(demo.presentment_currencies),
                locations=list(demo.locations),
                name=demo.name,
            )
        shopify.issue_access_token(demo.domain, demo.access_token)
        shopify.register_refresh_token(demo.domain, demo.refresh_token)
    if deliver_webhooks:
        shopify.start_delivery_thread()

"""The Shopify front of the simulator: OAuth install, the GraphQL Admin API and signed webhooks, over
in-memory shops. `ShopifyContext` (``sim.shopify``) holds the state; `front.routes` serves it."""

from simulator.shopify.auth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from simulator.shopify.context import ShopifyContext, UnknownShop

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "ShopifyContext", "UnknownShop"]

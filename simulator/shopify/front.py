"""All routes of the Shopify front, for the server's router."""

from __future__ import annotations

from simulator.http import Route
from simulator.shopify import graphql_api, oauth
from simulator.shopify.context import ShopifyContext


def routes(context: ShopifyContext) -> list[Route]:
    """Every Shopify route (all under /shopify/{shop}/admin/...)."""
    return [*oauth.routes(context), *graphql_api.routes(context)]

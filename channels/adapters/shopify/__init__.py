"""Shopify Admin API through ShopifyAPI, GraphQL only (REST is legacy), pinned to one API version.

* `client`: the app's OAuth (install page, callback HMAC, token exchange and refresh) and the one GraphQL
  call path (timeout, cost-based throttling, errors classified);
* `parse`: GraphQL and REST (webhook) payloads → ACORN's records;
* `orders`, `inventory`, `refunds` (refunds and returns), `fulfillments`, `webhooks`: one mixin each over
  the client;
* `adapter`: `ShopifyAdapter`, all of them for one shop.
"""

from channels.adapters.shopify.adapter import ShopifyAdapter
from channels.adapters.shopify.client import (
    SHOPIFY_API_VERSION,
    authorize_url,
    exchange_authorization_code,
    normalize_shop_domain,
    query_hmac_valid,
)

__all__ = [
    "SHOPIFY_API_VERSION",
    "ShopifyAdapter",
    "authorize_url",
    "exchange_authorization_code",
    "normalize_shop_domain",
    "query_hmac_valid",
]

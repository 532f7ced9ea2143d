"""The Shopify adapter: every Admin API area ACORN uses, bound to one shop."""

from __future__ import annotations

from channels.adapters.base import Authorization
from channels.adapters.shopify.fulfillments import FulfillmentsApi
from channels.adapters.shopify.inventory import InventoryApi
from channels.adapters.shopify.orders import OrdersApi
from channels.adapters.shopify.payouts import PayoutsApi
from channels.adapters.shopify.refunds import RefundsApi
from channels.adapters.shopify.webhooks import WebhooksApi


class ShopifyAdapter(OrdersApi, InventoryApi, RefundsApi, FulfillmentsApi, WebhooksApi, PayoutsApi):
    """Shopify's GraphQL Admin API for one shop. No database writes.

    Capabilities: orders; refunds and returns (of the orders updated in a window); refunds (`refundCreate`);
    a fulfilment per parcel; the available quantity per location, compare-and-set; webhooks; Shopify Payments
    payouts and their balance transactions."""

    key = "shopify"
    authorization = Authorization.OAUTH_INSTALL

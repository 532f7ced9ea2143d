"""The WooCommerce adapter: every REST v3 area ACORN uses, bound to one site."""

from __future__ import annotations

from channels.adapters.base import Authorization
from channels.adapters.woocommerce.orders import OrdersApi
from channels.adapters.woocommerce.products import ProductsApi
from channels.adapters.woocommerce.refunds import RefundsApi
from channels.adapters.woocommerce.webhooks import WebhooksApi


class WooCommerceAdapter(OrdersApi, ProductsApi, RefundsApi, WebhooksApi):
    """WooCommerce REST v3 for one site. No database writes.

    Capabilities: orders; refunds (of the orders modified in a window) and refunding through the shop;
    completing an order when its parcel left; product stock; webhooks. No returns (a refund with items is
    WooCommerce's return)."""

    key = "woocommerce"
    authorization = Authorization.API_KEYS

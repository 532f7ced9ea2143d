"""WooCommerce REST v3 through the `woocommerce` client, HTTPS with the site's consumer key and secret.

* `client`: the one call path (errors classified), keyset page tokens, the connection test;
* `parse`: REST payloads → ACORN's records;
* `orders`, `products`, `refunds`, `webhooks`: one mixin each over the client;
* `adapter`: `WooCommerceAdapter`, all of them for one site.
"""

from channels.adapters.woocommerce.adapter import WooCommerceAdapter
from channels.adapters.woocommerce.client import ConnectionProblem, normalize_site_url

__all__ = ["ConnectionProblem", "WooCommerceAdapter", "normalize_site_url"]

"""WooCommerce products: their stock (variations included) and setting `stock_quantity`."""

from __future__ import annotations

from collections.abc import Mapping

from channels.adapters.base import ChannelRetryableError, ChannelStock, Page, ProductStockPushing, StockPushResult
from channels.adapters.woocommerce.client import PAGE_SIZE, WooCommerceClient
from channels.adapters.woocommerce.parse import parse_stock


class ProductsApi(WooCommerceClient, ProductStockPushing):
    """Products and their stock: one quantity per product or variation, set outright (no compare-and-set)."""

    stock_write_operation = "woocommerce.products"

    # --- stock ---------------------------------------------------------------------------------------------
    def fetch_stock(self, *, page_token: str | None = None) -> Page[ChannelStock]:
        """One page of products with their stock; a variable product's variations are read with it."""
        page = int(page_token or 1)
        body, response = self.request("GET", "products", params={"per_page": PAGE_SIZE, "page": page})
        if not isinstance(body, list):
            raise ChannelRetryableError("WooCommerce answered without a products list", code="empty_response")
        items: list[ChannelStock] = []
        for product in body:
            if not isinstance(product, Mapping):
                continue
            if product.get("type") == "variable":
                variations, _response = self.request(
                    "GET", f"products/{product['id']}/variations", params={"per_page": PAGE_SIZE}
                )
                for variation in variations or []:
                    items.append(parse_stock(variation, f"{product['id']}/{variation.get('id')}"))
            else:
                items.append(parse_stock(product, str(product.get("id"))))
        pages = int(response.headers.get("X-WP-TotalPages") or 1)
        return Page(items=tuple(items), next_token=str(page + 1) if page < pages else None)

    def set_stock(self, *, channel_product_id: str, quantity: int) -> StockPushResult:
        """Set a product's (or "product/variation") stock quantity; WooCommerce has no compare-and-set."""
        if quantity < 0:
            raise ValueError("A listed quantity cannot be negative")
        product, _, variation = channel_product_id.partition("/")
        endpoint = f"products/{product}/variations/{variation}" if variation else f"products/{product}"
        body, _response = self.request("PUT", endpoint, data={"manage_stock": True, "stock_quantity": quantity})
        now = body.get("stock_quantity") if isinstance(body, Mapping) else None
        return StockPushResult(applied=now == quantity, quantity=quantity, current=now)

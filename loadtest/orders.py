"""Shopify REST order bodies (the orders/create and orders/updated webhook payload), for the seed and the burst.

The shape is that of Shopify's REST Admin order (as in the shopify_python_api fixture `order.json` that
tests/fixtures/vendor keeps): what ACORN's `parse_rest_order` reads. Standard library only: locust imports it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

SHOP = "loadtest.myshopify.com"
SKUS = tuple(f"LT-{index:03d}" for index in range(20))
COUNTRIES = ("US", "DE", "GB", "JP", "FR", "AU")


def order_body(order_id: int, *, when: datetime | None = None, quantity: int = 1) -> dict[str, Any]:
    """One paid, unfulfilled order with one or two lines of the seeded SKUs; deterministic per id."""
    when = when or datetime.now(UTC)
    stamp = when.isoformat(timespec="seconds")
    first = SKUS[order_id % len(SKUS)]
    second = SKUS[(order_id * 7 + 3) % len(SKUS)]
    lines = [(first, quantity, "19.90")] + ([(second, 1, "7.50")] if order_id % 3 == 0 and second != first else [])
    total_text = f"{sum(int(price.replace('.', '')) * qty for _sku, qty, price in lines) / 100:.2f}"
    return {
        "id": order_id,
        "name": f"#LT{order_id}",
        "order_number": order_id,
        "created_at": stamp,
        "updated_at": stamp,
        "processed_at": stamp,
        "currency": "USD",
        "presentment_currency": "USD",
        "financial_status": "paid",
        "fulfillment_status": None,
        "cancelled_at": None,
        "source_name": "web",
        "taxes_included": False,
        "total_price": total_text,
        "subtotal_price": total_text,
        "total_tax": "0.00",
        "total_discounts": "0.00",
        "tags": "",
        "shipping_address": {"country_code": COUNTRIES[order_id % len(COUNTRIES)]},
        "shipping_lines": [],
        "tax_lines": [],
        "discount_codes": [],
        "line_items": [
            {
                "id": order_id * 10 + position,
                "sku": sku,
                "title": f"Load test item {sku}",
                "quantity": qty,
                "price": price,
                "total_discount": "0.00",
                "tax_lines": [],
                "product_id": 1000 + SKUS.index(sku),
                "variant_id": 2000 + SKUS.index(sku),
            }
            for position, (sku, qty, price) in enumerate(lines)
        ],
    }


def signed_webhook(secret: str, order_id: int, *, topic: str = "orders/create") -> tuple[bytes, dict[str, str]]:
    """The body and Shopify's headers of one delivery (X-Shopify-Event-Id names the event across retries)."""
    body = json.dumps(order_body(order_id)).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Event-Id": f"lt-{topic.replace('/', '-')}-{order_id}",
        "X-Shopify-Webhook-Id": f"lt-{order_id}",
        "X-Shopify-API-Version": "2026-07",
    }
    return body, headers

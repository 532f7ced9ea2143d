"""Amazon Orders API 2026-01-01: `searchOrders` by last-update time (Orders v0 is deprecated)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sp_api.api import Orders

from channels.adapters.amazon.client import AmazonClient, decimal_or_none, iso_time, listed
from channels.adapters.amazon.parse import parse_each, parse_order, parse_time
from channels.adapters.base import ExternalOrder, Page

ORDERS_API_VERSION = "2026-01-01"
ORDERS_PAGE_SIZE = 100
ORDERS_INCLUDED_DATA = ["PROCEEDS", "FULFILLMENT", "RECIPIENT"]


class OrdersApi(AmazonClient):
    """Orders API 2026-01-01."""

    def fetch_orders(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[ExternalOrder]:
        params: dict[str, Any] = {
            "lastUpdatedAfter": iso_time(updated_after),
            "marketplaceIds": self.store.marketplace_ids(),
            "includedData": ORDERS_INCLUDED_DATA,
            "maxResultsPerPage": ORDERS_PAGE_SIZE,
        }
        if updated_before is not None:
            params["lastUpdatedBefore"] = iso_time(updated_before)
        if page_token:
            params["paginationToken"] = page_token
        response = self._call(Orders, "search_orders", version=ORDERS_API_VERSION, **params)
        payload = response.payload
        raw_orders = listed(payload, "orders")  # sp_api gives an empty payload for a 429/5xx without errors
        orders, bad = parse_each(raw_orders, parse_order, id_key="orderId")
        window_end = payload.get("lastUpdatedBefore")
        return Page(
            items=tuple(orders),
            bad_records=tuple(bad),
            # The library moves the top-level `pagination` out of the payload; it exposes the token itself.
            next_token=response.next_token or (payload.get("pagination") or {}).get("nextToken") or None,
            window_end=parse_time(window_end, "lastUpdatedBefore") if window_end else None,
            rate_limit=decimal_or_none(response.rate_limit),
        )

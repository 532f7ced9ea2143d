"""Amazon FBA Inventory API v1: `getInventorySummaries` per marketplace (its nextToken lives 30 s)."""

from __future__ import annotations

from typing import Any

from sp_api.api import Inventories

from channels.adapters.amazon.client import AmazonClient, decimal_or_none, listed
from channels.adapters.amazon.parse import parse_each, parse_inventory_summary
from channels.adapters.base import ChannelError, FbaStockReading, InventorySummary, Page
from channels.marketplaces import AMAZON_MARKETPLACE_TABLE


class FbaInventoryApi(AmazonClient, FbaStockReading):
    """FBA Inventory v1."""

    def fetch_inventory_summaries(self, *, marketplace: str, page_token: str | None) -> Page[InventorySummary]:
        """One page of FBA stock for one of the store's marketplaces (nextToken lives 30 s).

        `granularityId` and `marketplaceIds` name the same marketplace, both from the one marketplace
        table (the library used to fill granularityId from its own, right, id while marketplaceIds came
        from a hand-written table with Japan's id wrong: Amazon refused every JP call)."""
        if marketplace not in self.store.sync_marketplaces():
            raise ChannelError(
                f"Marketplace {marketplace} is not one the store reads ({', '.join(self.store.sync_marketplaces())})."
            )
        marketplace_id = AMAZON_MARKETPLACE_TABLE[marketplace].marketplace_id
        params: dict[str, Any] = {
            "details": "true",
            "granularityType": "Marketplace",
            "granularityId": marketplace_id,
            "marketplaceIds": [marketplace_id],
        }
        if page_token:
            params["nextToken"] = page_token
        response = self._call(Inventories, "get_inventory_summary_marketplace", marketplace=marketplace, **params)
        items, bad = parse_each(
            listed(response.payload, "inventorySummaries"),
            lambda raw: parse_inventory_summary(raw, marketplace=marketplace),
            id_key="sellerSku",
        )
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=response.next_token or None,
            rate_limit=decimal_or_none(response.rate_limit),
        )

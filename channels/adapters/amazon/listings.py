"""Amazon Listings Items API 2021-08-01: the merchant-fulfilled quantity of one SKU in one marketplace."""

from __future__ import annotations

from collections.abc import Mapping

from sp_api.api import ListingsItems

from channels.adapters.amazon.client import AmazonClient
from channels.adapters.base import ChannelError, ChannelRetryableError, ListingStockPushing, ListingUpdate
from channels.models import AMAZON_MARKETPLACES


class ListingsApi(AmazonClient, ListingStockPushing):
    """Listings Items API: the merchant-fulfilled quantity per seller SKU and marketplace."""

    stock_write_operation = "amazon.listings"  # Listings Items: 5 requests per second, burst 10

    def set_mfn_quantity(self, *, sku: str, marketplace: str, quantity: int) -> ListingUpdate:
        """Set the merchant-fulfilled quantity Amazon shows for one SKU (Listings Items patch)."""
        if quantity < 0:
            raise ValueError("A listed quantity cannot be negative")
        if marketplace not in self.store.marketplaces:
            raise ChannelError(f"Marketplace {marketplace} is not one of the store's")
        body = {
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
                }
            ],
        }
        payload = self._call(
            ListingsItems,
            "patch_listings_item",
            self._merchant_id(),
            sku,
            marketplace=marketplace,
            marketplaceIds=AMAZON_MARKETPLACES[marketplace][0],
            body=body,
        ).payload
        if not isinstance(payload, Mapping) or not payload.get("status"):
            raise ChannelRetryableError("Amazon answered without the listing's status", code="empty_response")
        issues = tuple(
            f"{issue.get('code', '')}: {issue.get('message', '')}"[:500]
            for issue in payload.get("issues") or []
            if isinstance(issue, Mapping)
        )
        return ListingUpdate(
            sku=str(payload.get("sku") or sku),
            status=str(payload["status"]),
            submission_id=str(payload.get("submissionId", "")),
            issues=issues,
        )

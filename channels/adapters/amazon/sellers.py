"""Amazon Sellers API v1: `getMarketplaceParticipations`, where the seller really sells."""

from __future__ import annotations

import logging

from sp_api.api import Sellers

from channels.adapters.amazon.client import AmazonClient
from channels.adapters.amazon.parse import MarketplaceParticipation, parse_each, parse_participation
from channels.adapters.base import ChannelRetryableError, MarketplaceParticipationReading

logger = logging.getLogger(__name__)


class SellersApi(AmazonClient, MarketplaceParticipationReading):
    """Sellers API v1."""

    def fetch_marketplace_participations(self) -> list[MarketplaceParticipation]:
        """The marketplaces the seller can sell in and whether they participate (Sellers API v1
        getMarketplaceParticipations, 0.016 requests per second, burst 15)."""
        response = self._call(Sellers, "get_marketplace_participation")
        payload = response.payload
        if not isinstance(payload, list):  # the library moves Amazon's top-level "payload" list here
            raise ChannelRetryableError("Amazon answered without a participations list", code="empty_response")
        participations, bad = parse_each(payload, parse_participation, id_key="marketplace")
        if bad:
            logger.warning("amazon_participations_unreadable", extra={"store_id": self.store.pk, "count": len(bad)})
        return participations

"""Amazon SP-API through python-amazon-sp-api, LWA only (no AWS keys), laid out like the library: one module
per API area.

* `client`: authorisation (Seller Central's website workflow, the LWA code exchange) and the one call path
  (the library bound to the store's endpoint, a timeout, errors classified);
* `parse`: JSON payloads → ACORN's records;
* `orders` (Orders 2026-01-01), `finances` (Finances 2024-06-19 and v0), `inventory` (FBA Inventory v1),
  `reports` (Reports 2021-06-30 and its flat files), `feeds` (Feeds 2021-06-30 and its XML), `listings`
  (Listings Items), `sellers` (Sellers v1): one mixin each over the client;
* `adapter`: `AmazonAdapter`, all of them for one store.
"""

from channels.adapters.amazon.adapter import AmazonAdapter
from channels.adapters.amazon.client import AmazonApp, consent_url, exchange_authorization_code
from channels.adapters.amazon.parse import MarketplaceParticipation
from channels.adapters.amazon.reports import (
    FBA_RETURNS_REPORT_TYPE,
    LISTINGS_REPORT_TYPE,
    MFN_RETURNS_REPORT_TYPE,
    SETTLEMENT_REPORT_TYPE,
)

__all__ = [
    "FBA_RETURNS_REPORT_TYPE",
    "LISTINGS_REPORT_TYPE",
    "MFN_RETURNS_REPORT_TYPE",
    "SETTLEMENT_REPORT_TYPE",
    "AmazonAdapter",
    "AmazonApp",
    "MarketplaceParticipation",
    "consent_url",
    "exchange_authorization_code",
]

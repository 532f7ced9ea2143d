"""The Amazon adapter: every SP-API area ACORN uses, bound to one seller's store, and what Amazon can do."""

from __future__ import annotations

from channels.adapters.amazon.feeds import FeedsApi
from channels.adapters.amazon.finances import FinancesApi
from channels.adapters.amazon.inventory import FbaInventoryApi
from channels.adapters.amazon.listings import ListingsApi
from channels.adapters.amazon.orders import OrdersApi
from channels.adapters.amazon.returns import ReturnsApi
from channels.adapters.amazon.sellers import SellersApi
from channels.adapters.amazon.settlements import SettlementsApi
from channels.adapters.base import Authorization
from channels.models import REAUTHORIZATION_PERIOD


class AmazonAdapter(
    OrdersApi,
    FinancesApi,
    ReturnsApi,
    SettlementsApi,
    FbaInventoryApi,
    FeedsApi,
    ListingsApi,
    SellersApi,
):
    """Amazon SP-API for one seller (one region's authorisation and its marketplaces). No database writes.

    Capabilities: orders; refunds (Finances v0 and 2024-06-19, merged); returns (the FBA and MFN returns
    reports); refunds of merchant-fulfilled orders and shipment confirmations, both as feeds; the
    merchant-fulfilled quantity per marketplace; FBA stock; marketplace participations; settlements (V2
    reports) and financial transactions. No webhooks (Amazon's notifications go through SQS / EventBridge,
    which ACORN does not use) and no payouts apart from settlements."""

    key = "amazon"
    authorization = Authorization.CONSENT  # Seller Central's website authorisation workflow
    regional = True  # one authorisation per region (NA, EU, FE) for the marketplaces chosen in it
    reauthorization_period = REAUTHORIZATION_PERIOD  # sellers renew app authorisations yearly

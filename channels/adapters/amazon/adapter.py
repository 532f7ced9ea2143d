"""The Amazon adapter: every SP-API area ACORN uses, bound to one seller's store."""

from __future__ import annotations

from channels.adapters.amazon.feeds import FeedsApi
from channels.adapters.amazon.finances import FinancesApi
from channels.adapters.amazon.inventory import FbaInventoryApi
from channels.adapters.amazon.listings import ListingsApi
from channels.adapters.amazon.orders import OrdersApi
from channels.adapters.amazon.reports import ReportsApi
from channels.adapters.amazon.sellers import SellersApi


class AmazonAdapter(OrdersApi, FinancesApi, FbaInventoryApi, ReportsApi, FeedsApi, ListingsApi, SellersApi):
    """Amazon SP-API for one seller (one region's authorisation and its marketplaces). No database writes."""

    key = "amazon"

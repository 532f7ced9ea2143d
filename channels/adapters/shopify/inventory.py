"""Shopify inventory: variants with their quantities per location, the shop's primary location, and
`inventorySetQuantities` with compare-and-set and an idempotency key.
"""

from __future__ import annotations

from collections.abc import Mapping

from channels.adapters.base import BadRecord, ChannelError, ChannelStock, LocationStockPushing, Page, StockPushResult
from channels.adapters.shopify.client import ShopifyClient, sustained_rate

STOCK_PAGE_SIZE = 15  # variants per page: 15 x (item + 10 levels x 3 quantities) stays under 1,000 points
STOCK_QUERY = """
query AcornStock($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      legacyResourceId sku
      inventoryItem {
        id tracked
        inventoryLevels(first: 10) {
          nodes {
            location { id name }
            quantities(names: ["available", "on_hand", "committed"]) { name quantity }
          }
        }
      }
    }
  }
}
"""
PRIMARY_LOCATION_QUERY = """
query AcornPrimaryLocation {
  location { id name }
}
"""
ITEM_STOCK_QUERY = """
query AcornItemStock($item: ID!, $location: ID!) {
  inventoryItem(id: $item) {
    id sku tracked
    variant { legacyResourceId }
    inventoryLevel(locationId: $location) {
      location { id name }
      quantities(names: ["available", "on_hand", "committed"]) { name quantity }
    }
  }
}
"""
SET_STOCK = """
mutation AcornSetStock($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}
"""


class InventoryApi(ShopifyClient, LocationStockPushing):
    """Inventory: quantities per inventory item and location, set compare-and-set."""

    stock_write_operation = "shopify.inventory"

    # --- stock -----------------------------------------------------------------------------------------
    def fetch_stock(self, *, page_token: str | None = None) -> Page[ChannelStock]:
        """One page of variants with their quantities per location (untracked items have `available` None)."""
        data = self.graphql(STOCK_QUERY, {"first": STOCK_PAGE_SIZE, "after": page_token})
        connection = data.get("productVariants") or {}
        items: list[ChannelStock] = []
        bad: list[BadRecord] = []
        for node in connection.get("nodes") or []:
            item = node.get("inventoryItem") if isinstance(node, Mapping) else None
            if not isinstance(item, Mapping):
                bad.append(BadRecord(reason="inventoryItem: missing", raw={"value": node}))
                continue
            for level in (item.get("inventoryLevels") or {}).get("nodes") or []:
                quantities = {q.get("name"): q.get("quantity") for q in level.get("quantities") or []}
                location = level.get("location") or {}
                items.append(
                    ChannelStock(
                        sku=str(node.get("sku") or ""),
                        channel_product_id=str(node.get("legacyResourceId") or ""),
                        available=quantities.get("available") if item.get("tracked") else None,
                        location_id=str(location.get("id") or ""),
                        location_name=str(location.get("name") or ""),
                        inventory_item_id=str(item.get("id") or ""),
                        on_hand=quantities.get("on_hand"),
                        committed=quantities.get("committed"),
                    )
                )
        info = connection.get("pageInfo") or {}
        return Page(
            items=tuple(items),
            bad_records=tuple(bad),
            next_token=info.get("endCursor") if info.get("hasNextPage") else None,
            rate_limit=sustained_rate(self.last_cost),
        )

    def primary_location_id(self) -> str:
        """The shop's primary location (a location query without an id answers it); "" if the shop has none."""
        data = self.graphql(PRIMARY_LOCATION_QUERY)
        location = data.get("location")
        return str(location.get("id") or "") if isinstance(location, Mapping) else ""

    def fetch_item_stock(self, *, inventory_item_id: str, location_id: str) -> ChannelStock | None:
        """One inventory item's quantities at one location (a re-read after a refused compare-and-set);
        None when the shop no longer has the item or does not stock it there."""
        data = self.graphql(ITEM_STOCK_QUERY, {"item": inventory_item_id, "location": location_id})
        item = data.get("inventoryItem")
        if not isinstance(item, Mapping):
            return None
        level = item.get("inventoryLevel")
        if not isinstance(level, Mapping):
            return None
        quantities = {q.get("name"): q.get("quantity") for q in level.get("quantities") or [] if isinstance(q, Mapping)}
        location = level.get("location") or {}
        return ChannelStock(
            sku=str(item.get("sku") or ""),
            channel_product_id=str((item.get("variant") or {}).get("legacyResourceId") or ""),
            available=quantities.get("available") if item.get("tracked") else None,
            location_id=str(location.get("id") or location_id),
            location_name=str(location.get("name") or ""),
            inventory_item_id=str(item.get("id") or inventory_item_id),
            on_hand=quantities.get("on_hand"),
            committed=quantities.get("committed"),
        )

    def set_available(
        self, *, inventory_item_id: str, location_id: str, quantity: int, expected: int | None, key: str
    ) -> StockPushResult:
        """Set the available quantity, compare-and-set against `expected` (what ACORN last saw there).

        A stale `expected` changes nothing and comes back as a conflict: read again and decide again. `key`
        makes a retry of the same push a replay rather than a second change."""
        payload = {
            "name": "available",
            "reason": "correction",
            "referenceDocumentUri": f"acorn://stock-push/{key}",
            "quantities": [
                {
                    "inventoryItemId": inventory_item_id,
                    "locationId": location_id,
                    "quantity": quantity,
                    "changeFromQuantity": expected,
                }
            ],
        }
        data = self.graphql(SET_STOCK, {"input": payload, "key": key})
        result = data.get("inventorySetQuantities") or {}
        errors = [error for error in result.get("userErrors") or [] if isinstance(error, Mapping)]
        if not errors:
            return StockPushResult(applied=True, quantity=quantity)
        message = "; ".join(str(error.get("message", "")) for error in errors)[:500]
        if any("STALE" in str(error.get("code") or "") for error in errors):
            return StockPushResult(applied=False, quantity=quantity, conflict=True, message=message)
        raise ChannelError(f"Shopify refused the quantity: {message}")

"""Shopify orders: a page of orders by last update (cost-bounded, with the lines past the first page read
by order id), one order by id (a webhook names it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from channels.adapters.base import BadRecord, ChannelError, ChannelRetryableError, ExternalOrder, Page
from channels.adapters.shopify.client import MONEY_BAG, SHOP_MONEY, ShopifyClient, iso_time, sustained_rate
from channels.adapters.shopify.parse import RecordError, parse_order

# Shopify charges a query by what it could return (a connection costs `first` x its node's cost, every
# object 1) and refuses one above 1,000 points: 5 orders x 10 lines stays near 600. An order with more
# lines gets the rest in follow-up reads of that order.
ORDERS_PAGE_SIZE = 5
LINES_PER_ORDER = 10
MORE_LINES_PAGE = 50
SHIPPING_LINES_PER_ORDER = 3  # an order has one shipping line, rarely two (an edit): more are read by id
LINE_ITEMS = f"""
        pageInfo {{ hasNextPage endCursor }}
        nodes {{
          id sku name quantity
          variant {{ legacyResourceId }}
          originalUnitPriceSet {{ {SHOP_MONEY} }}
          originalTotalSet {{ {SHOP_MONEY} }}
          discountAllocations {{ allocatedAmountSet {{ {SHOP_MONEY} }} }}
          taxLines {{ priceSet {{ {SHOP_MONEY} }} }}
        }}
"""
SHIPPING_LINES = f"""
        pageInfo {{ hasNextPage endCursor }}
        nodes {{
          id title
          originalPriceSet {{ {SHOP_MONEY} }}
          discountAllocations {{ allocatedAmountSet {{ {SHOP_MONEY} }} }}
          taxLines {{ priceSet {{ {SHOP_MONEY} }} }}
        }}
"""
ORDER_FIELDS = f"""
      id legacyResourceId name createdAt updatedAt processedAt cancelledAt test tags sourceName
      displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode
      taxesIncluded dutiesIncluded
      totalPriceSet {{ {MONEY_BAG} }}
      totalDiscountsSet {{ {SHOP_MONEY} }}
      totalTipReceivedSet {{ {SHOP_MONEY} }}
      originalTotalDutiesSet {{ {SHOP_MONEY} }}
      originalTotalAdditionalFeesSet {{ {SHOP_MONEY} }}
      shippingAddress {{ countryCodeV2 }}
      billingAddress {{ countryCodeV2 }}
      shippingLines(first: {SHIPPING_LINES_PER_ORDER}) {{ {SHIPPING_LINES} }}
      lineItems(first: $lines) {{ {LINE_ITEMS} }}
"""
ORDERS_QUERY = f"""
query AcornOrders($first: Int!, $after: String, $query: String!, $lines: Int!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS} }}
  }}
}}
"""
ORDER_QUERY = f"""
query AcornOrder($id: ID!, $lines: Int!) {{
  order(id: $id) {{ {ORDER_FIELDS} }}
}}
"""
MORE_LINES_QUERY = f"""
query AcornMoreLines($id: ID!, $lines: Int!, $after: String) {{
  order(id: $id) {{ lineItems(first: $lines, after: $after) {{ {LINE_ITEMS} }} }}
}}
"""
MORE_SHIPPING_LINES_QUERY = f"""
query AcornMoreShippingLines($id: ID!, $lines: Int!, $after: String) {{
  order(id: $id) {{ shippingLines(first: $lines, after: $after) {{ {SHIPPING_LINES} }} }}
}}
"""


class OrdersApi(ShopifyClient):
    """Orders."""

    def fetch_orders(
        self, *, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[ExternalOrder]:
        search = f"updated_at:>='{iso_time(updated_after)}'"
        if updated_before is not None:
            search += f" AND updated_at:<='{iso_time(updated_before)}'"
        data = self.graphql(
            ORDERS_QUERY,
            {"first": ORDERS_PAGE_SIZE, "after": page_token, "query": search, "lines": LINES_PER_ORDER},
        )
        connection = data.get("orders") or {}
        nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
        if not isinstance(nodes, list):
            raise ChannelRetryableError("Shopify answered without an orders list", code="empty_response")
        orders: list[ExternalOrder] = []
        bad: list[BadRecord] = []
        for node in nodes:
            if not isinstance(node, Mapping):
                bad.append(BadRecord(reason="record is not a JSON object", raw={"value": node}))
                continue
            try:
                orders.append(parse_order(self._with_all_lines(node)))
            except RecordError as error:
                bad.append(BadRecord(reason=str(error), raw=node, external_id=str(node.get("legacyResourceId", ""))))
        info = connection.get("pageInfo") or {}
        next_token = info.get("endCursor") if info.get("hasNextPage") else None
        return Page(
            items=tuple(orders),
            bad_records=tuple(bad),
            next_token=next_token or None,
            rate_limit=sustained_rate(self.last_cost),
        )

    def _with_all_lines(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """The order node with every line item and shipping line: pages past the first are read by order id."""
        complete = dict(node)
        for name, query, size in (
            ("lineItems", MORE_LINES_QUERY, MORE_LINES_PAGE),
            ("shippingLines", MORE_SHIPPING_LINES_QUERY, MORE_LINES_PAGE),
        ):
            block = node.get(name)
            if not isinstance(block, Mapping) or not (block.get("pageInfo") or {}).get("hasNextPage"):
                continue
            nodes = list(block.get("nodes") or [])
            cursor = (block.get("pageInfo") or {}).get("endCursor")
            while cursor:
                data = self.graphql(query, {"id": node.get("id"), "lines": size, "after": cursor})
                more = ((data.get("order") or {}).get(name) or {}) if isinstance(data, Mapping) else {}
                nodes.extend(more.get("nodes") or [])
                info = more.get("pageInfo") or {}
                cursor = info.get("endCursor") if info.get("hasNextPage") else None
            complete[name] = {"nodes": nodes}
        return complete

    def fetch_order(self, order_id: str) -> ExternalOrder | None:
        """One order by its id (a webhook names it); None when the shop no longer has it."""
        data = self.graphql(ORDER_QUERY, {"id": f"gid://shopify/Order/{order_id}", "lines": LINES_PER_ORDER})
        node = data.get("order")
        if node is None:
            return None
        if not isinstance(node, Mapping):
            raise ChannelRetryableError("Shopify answered without the order", code="empty_response")
        try:
            return parse_order(self._with_all_lines(node))
        except RecordError as error:
            raise ChannelError(f"Shopify's order {order_id} is unreadable: {error}") from None

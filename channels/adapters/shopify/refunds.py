"""Shopify refunds and returns: the refunds and returns of orders updated in a window (listed cheaply,
then read order by order), and `refundCreate` with an idempotency key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from channels.adapters.base import (
    BadRecord,
    ChannelError,
    ChannelRefundResult,
    ChannelRetryableError,
    ExternalRefund,
    ExternalReturn,
    Page,
    RefundableOrder,
    RefundExecuting,
    RefundFetching,
    RefundLine,
    RefundRequest,
    ReturnFetching,
    ReturnState,
)
from channels.adapters.passes import order_by_order_page
from channels.adapters.shopify.client import SHOP_MONEY, ShopifyClient, iso_time, sustained_rate
from channels.adapters.shopify.parse import RecordError, legacy_id, parse_money, parse_refund, parse_returns, parse_time

ORDER_REFUNDS_QUERY = f"""
query AcornRefunds($id: ID!) {{
  order(id: $id) {{
    currencyCode
    refunds(first: 10) {{
      id createdAt note
      refundLineItems(first: 10) {{
        nodes {{ quantity lineItem {{ id sku }} subtotalSet {{ {SHOP_MONEY} }} totalTaxSet {{ {SHOP_MONEY} }} }}
      }}
      totalRefundedSet {{ {SHOP_MONEY} }}
    }}
  }}
}}
"""
# Refunds and returns sync: orders updated in the window, with just enough to know which have any (cheap:
# 25 orders x (5 refunds + a 5-return connection) stays far below the 1,000-point query limit), then one
# detail query per order that has some (10 refunds x 10 lines, 10 returns x 20 lines: under 700 points).
AFTERSALES_PAGE_SIZE = 25
AFTERSALES_ORDERS_QUERY = """
query AcornAftersalesOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      legacyResourceId updatedAt
      refunds(first: 5) { id }
      returns(first: 5) { nodes { id } }
    }
  }
}
"""
ORDER_REFUND_DETAIL_QUERY = f"""
query AcornOrderRefundDetail($id: ID!) {{
  order(id: $id) {{
    legacyResourceId taxesIncluded
    refunds(first: 10) {{
      id legacyResourceId createdAt note
      return {{ id }}
      totalRefundedSet {{ {SHOP_MONEY} }}
      refundLineItems(first: 10) {{
        nodes {{
          quantity restockType
          lineItem {{ id sku }}
          subtotalSet {{ {SHOP_MONEY} }}
          totalTaxSet {{ {SHOP_MONEY} }}
        }}
      }}
    }}
  }}
}}
"""
ORDER_RETURN_DETAIL_QUERY = """
query AcornOrderReturnDetail($id: ID!) {
  order(id: $id) {
    legacyResourceId
    returns(first: 10) {
      nodes {
        id name status createdAt closedAt
        returnLineItems(first: 20) {
          nodes {
            ... on ReturnLineItem {
              id quantity returnReason returnReasonNote customerNote
              fulfillmentLineItem { lineItem { id sku } }
            }
          }
        }
      }
    }
  }
}
"""
TRANSACTIONS_QUERY = """
query AcornTransactions($id: ID!) {
  order(id: $id) { presentmentCurrencyCode transactions(first: 50) { id kind status gateway } }
}
"""
REFUND_CREATE = """
mutation AcornRefund($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id totalRefundedSet { presentmentMoney { amount currencyCode } } }
    userErrors { field message }
  }
}
"""


# Shopify's return statuses (lower case) → ReturnState.
RETURN_STATES = {
    "requested": ReturnState.REQUESTED,
    "open": ReturnState.IN_TRANSIT,
    "closed": ReturnState.CLOSED,
    "declined": ReturnState.DECLINED,
    "canceled": ReturnState.DECLINED,
    "cancelled": ReturnState.DECLINED,
    "expired": ReturnState.DECLINED,
}


class RefundsApi(ShopifyClient, RefundFetching, ReturnFetching, RefundExecuting):
    """Refunds and returns: read order by order (see channels.adapters.passes), and `refundCreate`."""

    refund_source = "shopify"

    def fetch_refunds(
        self, *, window_start: datetime, window_end: datetime | None, page_token: str | None
    ) -> Page[ExternalRefund]:
        """One call of the pass over the orders updated in the window that have refunds."""
        return order_by_order_page(
            lambda cursor: self.fetch_aftersales_orders(
                kind="refunds", updated_after=window_start, updated_before=window_end, page_token=cursor
            ),
            self.fetch_order_refund_detail,
            page_token,
        )

    def fetch_returns(
        self, *, window_start: datetime, window_end: datetime | None, page_token: str | None
    ) -> Page[ExternalReturn]:
        """One call of the pass over the orders updated in the window that have returns."""
        return order_by_order_page(
            lambda cursor: self.fetch_aftersales_orders(
                kind="returns", updated_after=window_start, updated_before=window_end, page_token=cursor
            ),
            self.fetch_order_returns,
            page_token,
        )

    @classmethod
    def return_source(cls, incoming: ExternalReturn) -> str:
        return "shopify"

    @classmethod
    def return_state(cls, incoming: ExternalReturn) -> str:
        text = incoming.status.strip().lower()
        return RETURN_STATES[text] if text in RETURN_STATES else super().return_state(incoming)

    @classmethod
    def refund_refusal(cls, order: RefundableOrder) -> str:
        """refundCreate gives back in the buyer's (presentment) currency, which ACORN does not hold when it
        differs from the shop's: such an order is refunded in Shopify's admin."""
        if order.presentment_currency and order.presentment_currency != order.currency:
            return _(
                "The buyer paid in %(paid)s, the shop books in %(shop)s: refund this order in Shopify's admin, "
                "ACORN records the refund when Shopify reports it."
            ) % {"paid": order.presentment_currency, "shop": order.currency}
        return ""

    def execute_refund(self, request: RefundRequest, *, restock: bool = False) -> ChannelRefundResult:
        """`refundCreate` with the idempotency key (`create_refund`)."""
        return self.create_refund(request, restock=restock)

    # --- refunds and fulfilments -------------------------------------------------------------------------
    def fetch_order_refunds(self, order_id: str) -> list[ExternalRefund]:
        """The order's refunds as Shopify records them (line subtotals and tax; negative = given back)."""
        data = self.graphql(ORDER_REFUNDS_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
        order = data.get("order")
        if not isinstance(order, Mapping):
            return []
        refunds = []
        for raw in order.get("refunds") or []:
            total, currency = parse_money(raw.get("totalRefundedSet"), "totalRefundedSet")
            lines = []
            accounted = Decimal(0)
            for item in (raw.get("refundLineItems") or {}).get("nodes") or []:
                subtotal, _ = parse_money(item.get("subtotalSet"), "subtotalSet", currency=currency)
                tax, _ = parse_money(item.get("totalTaxSet"), "totalTaxSet", currency=currency)
                accounted += subtotal + tax
                line = item.get("lineItem") or {}
                lines.append(
                    RefundLine(
                        order_item_id=str(line.get("id") or "").rsplit("/", 1)[-1],
                        sku=str(line.get("sku") or ""),
                        quantity=int(item.get("quantity") or 0),
                        components=(("principal", -subtotal), ("tax", -tax)),
                    )
                )
            if total != accounted:  # shipping or an amount not tied to items
                lines.append(
                    RefundLine(order_item_id="", sku="", quantity=0, components=(("other", accounted - total),))
                )
            refunds.append(
                ExternalRefund(
                    external_id=str(raw.get("id") or "").rsplit("/", 1)[-1],
                    order_id=order_id,
                    posted_at=parse_time(raw.get("createdAt"), "createdAt"),
                    currency=currency,
                    lines=tuple(lines),
                    note=str(raw.get("note") or "")[:500],
                    source="shopify",
                )
            )
        return refunds

    # --- refunds and returns sync --------------------------------------------------------------------------
    def fetch_aftersales_orders(
        self, *, kind: str, updated_after: datetime, updated_before: datetime | None, page_token: str | None
    ) -> Page[str]:
        """One page of orders updated in the window: the ids of those with refunds (`kind="refunds"`) or with
        returns (`kind="returns"`); `newest` is the newest updatedAt listed. Read each with
        fetch_order_refund_detail / fetch_order_returns (one call each, so a failed call is retried alone)."""
        search = f"updated_at:>='{iso_time(updated_after)}'"
        if updated_before is not None:
            search += f" AND updated_at:<='{iso_time(updated_before)}'"
        data = self.graphql(
            AFTERSALES_ORDERS_QUERY, {"first": AFTERSALES_PAGE_SIZE, "after": page_token, "query": search}
        )
        connection = data.get("orders") or {}
        nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
        if not isinstance(nodes, list):
            raise ChannelRetryableError("Shopify answered without an orders list", code="empty_response")
        newest: datetime | None = None
        wanted: list[str] = []
        for node in nodes:
            if not isinstance(node, Mapping):
                continue  # the orders sync quarantines it
            try:
                updated = parse_time(node.get("updatedAt"), "updatedAt")
            except RecordError:
                continue
            newest = updated if newest is None or updated > newest else newest
            has = node.get("refunds") if kind == "refunds" else (node.get("returns") or {}).get("nodes")
            if has:
                wanted.append(legacy_id(node.get("legacyResourceId")))
        info = connection.get("pageInfo") or {}
        next_token = info.get("endCursor") if info.get("hasNextPage") else None
        return Page(
            items=tuple(wanted),
            next_token=next_token or None,
            rate_limit=sustained_rate(self.last_cost),
            newest=newest,
        )

    def fetch_order_refund_detail(self, order_id: str) -> Page[ExternalRefund]:
        """Every refund of one order with its lines (unreadable ones as bad records); empty if the order is gone."""
        data = self.graphql(ORDER_REFUND_DETAIL_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
        order = data.get("order")
        refunds: list[ExternalRefund] = []
        bad: list[BadRecord] = []
        if isinstance(order, Mapping):
            for raw in order.get("refunds") or []:
                if not isinstance(raw, Mapping):
                    bad.append(BadRecord(reason="record is not a JSON object", raw={"value": raw}))
                    continue
                try:
                    refunds.append(
                        parse_refund(raw, order_id=order_id, taxes_included=bool(order.get("taxesIncluded")))
                    )
                except RecordError as error:
                    bad.append(BadRecord(reason=str(error), raw=raw, external_id=legacy_id(raw.get("id"))))
        return Page(items=tuple(refunds), bad_records=tuple(bad), rate_limit=sustained_rate(self.last_cost))

    def fetch_order_returns(self, order_id: str) -> Page[ExternalReturn]:
        """Every return of one order, one record per returned line; empty if the order is gone."""
        data = self.graphql(ORDER_RETURN_DETAIL_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
        order = data.get("order")
        returns: list[ExternalReturn] = []
        bad: list[BadRecord] = []
        if isinstance(order, Mapping):
            for raw in (order.get("returns") or {}).get("nodes") or []:
                if not isinstance(raw, Mapping):
                    bad.append(BadRecord(reason="record is not a JSON object", raw={"value": raw}))
                    continue
                try:
                    returns.extend(parse_returns(raw, order_id=order_id))
                except RecordError as error:
                    bad.append(BadRecord(reason=str(error), raw=raw, external_id=legacy_id(raw.get("id"))))
        return Page(items=tuple(returns), bad_records=tuple(bad), rate_limit=sustained_rate(self.last_cost))

    def create_refund(self, request: RefundRequest, *, restock: bool = False) -> ChannelRefundResult:
        """Give money back on the order (`refundCreate`), once: `request.adjustment_id` is the idempotency key.

        Amounts are in the order's presentment currency, refunded against its successful sale or capture."""
        gid = f"gid://shopify/Order/{request.order_id}"
        order = self.graphql(TRANSACTIONS_QUERY, {"id": gid}).get("order") or {}
        parent = next(
            (
                tx
                for tx in order.get("transactions") or []
                if tx.get("kind") in ("SALE", "CAPTURE") and tx.get("status") == "SUCCESS"
            ),
            None,
        )
        if parent is None:
            raise ChannelError(f"Order {request.order_id} has no captured payment to refund")
        shipping = sum(
            (amount for _, _, parts in request.items for name, amount in parts if name == "shipping"), Decimal(0)
        )
        total = sum((amount for _, _, parts in request.items for _, amount in parts), Decimal(0))
        payload: dict[str, Any] = {
            "orderId": gid,
            "note": request.reason[:250],
            "notify": True,
            "currency": request.currency,
            "refundLineItems": [
                {
                    "lineItemId": f"gid://shopify/LineItem/{line}",
                    "quantity": quantity,
                    "restockType": "RETURN" if restock else "NO_RESTOCK",
                }
                for line, quantity, _ in request.items
                if line and quantity > 0
            ],
            "transactions": [
                {
                    "orderId": gid,
                    "parentId": parent["id"],
                    "gateway": parent.get("gateway") or "manual",
                    "kind": "REFUND",
                    "amount": str(total),
                }
            ],
        }
        if shipping:
            payload["shipping"] = {"amount": str(shipping)}
        result = self.graphql(REFUND_CREATE, {"input": payload, "key": request.adjustment_id}).get("refundCreate") or {}
        errors = [error for error in result.get("userErrors") or [] if isinstance(error, Mapping)]
        refund = result.get("refund") or {}
        if errors or not refund.get("id"):
            raise ChannelError(f"Shopify refused the refund: {errors[0].get('message', '') if errors else '?'}")
        amount, currency = parse_money(refund.get("totalRefundedSet"), "totalRefundedSet", "presentmentMoney")
        return ChannelRefundResult(external_id=str(refund["id"]).rsplit("/", 1)[-1], amount=amount, currency=currency)

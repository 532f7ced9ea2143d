"""Shopify fulfilments: the order's open fulfilment orders fulfilled with the parcel's tracking."""

from __future__ import annotations

from collections.abc import Mapping

from channels.adapters.base import ChannelError, ShipmentConfirmation, ShipmentConfirming
from channels.adapters.shopify.client import ShopifyClient

FULFILLMENT_ORDERS_QUERY = """
query AcornFulfillmentOrders($id: ID!) {
  order(id: $id) {
    fulfillmentOrders(first: 5) {
      nodes { id status lineItems(first: 30) { nodes { id remainingQuantity lineItem { id } } } }
    }
  }
}
"""
FULFILLMENT_CREATE = """
mutation AcornFulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""


class FulfillmentsApi(ShopifyClient, ShipmentConfirming):
    """Fulfilments: one per parcel, with its tracking."""

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> str:
        """Fulfil the parcel's lines with its tracking; returns the fulfilment's id. fulfilmentCreate takes no
        idempotency key: the caller's claim is what sends it once."""
        return self.create_fulfillment(
            order_id=confirmation.order_id,
            tracking_number=confirmation.tracking_number,
            carrier=confirmation.carrier,
            items=confirmation.items,
        )

    def create_fulfillment(
        self,
        *,
        order_id: str,
        tracking_number: str,
        carrier: str,
        tracking_url: str = "",
        items: tuple[tuple[str, int], ...] = (),
        notify_customer: bool = True,
    ) -> str:
        """Fulfil the order's open fulfilment orders (or only `items`: (line item id, quantity)) with tracking."""
        data = self.graphql(FULFILLMENT_ORDERS_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
        orders = ((data.get("order") or {}).get("fulfillmentOrders") or {}).get("nodes") or []
        wanted = {f"gid://shopify/LineItem/{line}": quantity for line, quantity in items}
        groups = []
        for fulfillment_order in orders:
            if fulfillment_order.get("status") not in ("OPEN", "IN_PROGRESS"):
                continue
            lines = []
            for line in (fulfillment_order.get("lineItems") or {}).get("nodes") or []:
                remaining = int(line.get("remainingQuantity") or 0)
                line_id = str((line.get("lineItem") or {}).get("id") or "")
                quantity = min(remaining, wanted.get(line_id, 0)) if wanted else remaining
                if quantity > 0:
                    lines.append({"id": line["id"], "quantity": quantity})
            if lines:
                groups.append({"fulfillmentOrderId": fulfillment_order["id"], "fulfillmentOrderLineItems": lines})
        if not groups:
            raise ChannelError(f"Order {order_id} has nothing left to fulfil on Shopify")
        tracking = {"number": tracking_number, "company": carrier, **({"url": tracking_url} if tracking_url else {})}
        result = (
            self.graphql(
                FULFILLMENT_CREATE,
                {
                    "fulfillment": {
                        "lineItemsByFulfillmentOrder": groups,
                        "trackingInfo": tracking,
                        "notifyCustomer": notify_customer,
                    }
                },
            ).get("fulfillmentCreate")
            or {}
        )
        errors = [error for error in result.get("userErrors") or [] if isinstance(error, Mapping)]
        if errors or not (result.get("fulfillment") or {}).get("id"):
            raise ChannelError(f"Shopify refused the fulfilment: {errors[0].get('message', '') if errors else '?'}")
        return str(result["fulfillment"]["id"])

"""Shopify webhooks: ACORN's endpoint subscribed to the topics it acts on (or removed), and what an order
topic's body says.

Shopify signs every delivery with the app's client secret and names the shop in X-Shopify-Shop-Domain, so
one URL serves every shop. An order topic's body is the REST order: it is mapped onto the GraphQL shape the
poll reads, so both give the same record; a body that cannot be read that way (and refunds/create, which
names only the order) is followed by one GraphQL read of the order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.adapters.base import ChannelError, ExternalOrder, WebhookReceiving
from channels.adapters.shopify.client import ShopifyClient
from channels.adapters.shopify.parse import RecordError, parse_rest_order

WEBHOOK_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "REFUNDS_CREATE", "APP_UNINSTALLED")
WEBHOOK_CREATE = """
mutation AcornWebhook($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""

WEBHOOKS_OF_URI = """
query AcornWebhooks($uri: String!) {
  webhookSubscriptions(first: 100, uri: $uri) { nodes { id topic uri } }
}
"""
WEBHOOK_DELETE = """
mutation AcornWebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""


ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "orders/paid",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "refunds/create",
    }
)


class WebhooksApi(ShopifyClient, WebhookReceiving):
    """Webhook subscriptions and order deliveries."""

    webhook_view = "webhook-shopify"
    order_webhook_topics = ORDER_TOPICS

    @classmethod
    def order_from_webhook(cls, *, topic: str, payload: Any) -> ExternalOrder | None:
        """The REST order of an orders/* body; None (read it through GraphQL) for refunds/create, which names
        only the order, and for a body of an unexpected shape."""
        if topic == "refunds/create" or not isinstance(payload, dict):
            return None
        try:
            return parse_rest_order(payload)
        except RecordError:
            return None  # an unexpected shape: read the order through GraphQL instead, as the poll does

    def register_webhooks(self, *, delivery_url: str, secret: str = "") -> list[str]:
        """Subscribe ACORN's webhook endpoint to the order, refund and uninstall topics; returns the topics.
        (Shopify signs with the app's secret: `secret` is not used.)"""
        done: list[str] = []
        for topic in WEBHOOK_TOPICS:
            result = self.graphql(WEBHOOK_CREATE, {"topic": topic, "uri": delivery_url})
            payload = result.get("webhookSubscriptionCreate") or {}
            errors = [e for e in payload.get("userErrors") or [] if isinstance(e, Mapping)]
            if errors and not any("taken" in str(e.get("message", "")).lower() for e in errors):
                raise ChannelError(f"Shopify refused the {topic} webhook: {errors[0].get('message', '')}")
            done.append(topic)
        return done

    def unregister_webhooks(self, *, delivery_url: str) -> list[str]:
        """Delete the shop's webhook subscriptions that deliver to ACORN's URL; returns their topics."""
        data = self.graphql(WEBHOOKS_OF_URI, {"uri": delivery_url})
        nodes = ((data.get("webhookSubscriptions") or {}).get("nodes")) or []
        deleted: list[str] = []
        for node in nodes:
            if not isinstance(node, Mapping) or node.get("uri") != delivery_url:
                continue
            result = self.graphql(WEBHOOK_DELETE, {"id": node["id"]}).get("webhookSubscriptionDelete") or {}
            errors = [e for e in result.get("userErrors") or [] if isinstance(e, Mapping)]
            if errors:
                raise ChannelError(
                    f"Shopify refused to delete the {node.get('topic')} webhook: {errors[0].get('message')}"
                )
            deleted.append(str(node.get("topic", "")))
        return deleted

"""Shopify webhook subscriptions: ACORN's endpoint subscribed to the topics it acts on, or removed."""

from __future__ import annotations

from collections.abc import Mapping

from channels.adapters.base import ChannelError
from channels.adapters.shopify.client import ShopifyClient

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


class WebhooksApi(ShopifyClient):
    """Webhook subscriptions."""

    def register_webhooks(self, callback_url: str) -> list[str]:
        """Subscribe ACORN's webhook endpoint to the order, refund and uninstall topics; returns the topics."""
        done: list[str] = []
        for topic in WEBHOOK_TOPICS:
            result = self.graphql(WEBHOOK_CREATE, {"topic": topic, "uri": callback_url})
            payload = result.get("webhookSubscriptionCreate") or {}
            errors = [e for e in payload.get("userErrors") or [] if isinstance(e, Mapping)]
            if errors and not any("taken" in str(e.get("message", "")).lower() for e in errors):
                raise ChannelError(f"Shopify refused the {topic} webhook: {errors[0].get('message', '')}")
            done.append(topic)
        return done

    def unregister_webhooks(self, callback_url: str) -> list[str]:
        """Delete the shop's webhook subscriptions that deliver to ACORN's URL; returns their topics."""
        data = self.graphql(WEBHOOKS_OF_URI, {"uri": callback_url})
        nodes = ((data.get("webhookSubscriptions") or {}).get("nodes")) or []
        deleted: list[str] = []
        for node in nodes:
            if not isinstance(node, Mapping) or node.get("uri") != callback_url:
                continue
            result = self.graphql(WEBHOOK_DELETE, {"id": node["id"]}).get("webhookSubscriptionDelete") or {}
            errors = [e for e in result.get("userErrors") or [] if isinstance(e, Mapping)]
            if errors:
                raise ChannelError(
                    f"Shopify refused to delete the {node.get('topic')} webhook: {errors[0].get('message')}"
                )
            deleted.append(str(node.get("topic", "")))
        return deleted

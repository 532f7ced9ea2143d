"""WooCommerce webhooks: ACORN's order webhooks created with a per-store secret, or removed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.adapters.base import ExternalOrder, WebhookReceiving
from channels.adapters.woocommerce.client import WooCommerceClient
from channels.adapters.woocommerce.parse import parse_order

WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted")


class WebhooksApi(WooCommerceClient, WebhookReceiving):
    """Webhooks: WooCommerce signs each store's deliveries with the secret ACORN gave its webhooks and does
    not say which site it is, so ACORN's URL carries the store's webhook key. An order topic's body is the
    REST v3 order the poll reads; a trashed or deleted order is never listed again."""

    webhook_view = "webhook-woocommerce"
    webhook_url_names_store = True
    webhook_secret_per_store = True
    order_webhook_topics = frozenset({"order.created", "order.updated", "order.restored"})
    deleted_order_webhook_topics = frozenset({"order.deleted"})

    @classmethod
    def order_from_webhook(cls, *, topic: str, payload: Any) -> ExternalOrder | None:
        """The order the body is; RecordError (a ValueError) when it cannot be read (the poll quarantines it)."""
        if not isinstance(payload, dict):
            raise ValueError("The webhook body is not an order object")
        return parse_order(payload)

    def register_webhooks(self, *, delivery_url: str, secret: str) -> list[str]:
        """Create the order webhooks (Woo pings each once, unsigned); returns their ids."""
        existing, _response = self.request("GET", "webhooks", params={"per_page": 100})
        known = {
            (hook.get("topic"), hook.get("delivery_url")): hook.get("id")
            for hook in existing or []
            if isinstance(hook, Mapping)
        }
        ids: list[str] = []
        for topic in WEBHOOK_TOPICS:
            if (topic, delivery_url) in known:
                ids.append(str(int(known[(topic, delivery_url)] or 0)))
                continue
            body, _response = self.request(
                "POST",
                "webhooks",
                data={"name": f"ACORN {topic}", "topic": topic, "delivery_url": delivery_url, "secret": secret},
            )
            ids.append(str(int(body["id"])))
        return ids

    def unregister_webhooks(self, *, delivery_url: str) -> list[str]:
        """Delete the site's webhooks that deliver to ACORN's URL of this store (webhooks cannot be trashed,
        so `force=true`); returns the ids deleted. Other webhooks of the site are left alone."""
        existing, _response = self.request("GET", "webhooks", params={"per_page": 100})
        deleted: list[str] = []
        for hook in existing or []:
            if isinstance(hook, Mapping) and hook.get("delivery_url") == delivery_url and hook.get("id"):
                self.request("DELETE", f"webhooks/{int(hook['id'])}", params={"force": "true"})
                deleted.append(str(int(hook["id"])))
        return deleted

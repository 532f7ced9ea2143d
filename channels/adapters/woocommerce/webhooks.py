"""WooCommerce webhooks: ACORN's order webhooks created with a per-store secret, or removed."""

from __future__ import annotations

from collections.abc import Mapping

from channels.adapters.woocommerce.client import WooCommerceClient

WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted")


class WebhooksApi(WooCommerceClient):
    """Webhooks."""

    def register_webhooks(self, delivery_url: str, secret: str) -> list[int]:
        """Create the order webhooks (Woo pings each once, unsigned); returns their ids."""
        existing, _response = self.request("GET", "webhooks", params={"per_page": 100})
        known = {
            (hook.get("topic"), hook.get("delivery_url")): hook.get("id")
            for hook in existing or []
            if isinstance(hook, Mapping)
        }
        ids: list[int] = []
        for topic in WEBHOOK_TOPICS:
            if (topic, delivery_url) in known:
                ids.append(int(known[(topic, delivery_url)] or 0))
                continue
            body, _response = self.request(
                "POST",
                "webhooks",
                data={"name": f"ACORN {topic}", "topic": topic, "delivery_url": delivery_url, "secret": secret},
            )
            ids.append(int(body["id"]))
        return ids

    def unregister_webhooks(self, delivery_url: str) -> list[int]:
        """Delete the site's webhooks that deliver to ACORN's URL of this store (webhooks cannot be trashed,
        so `force=true`); returns the ids deleted. Other webhooks of the site are left alone."""
        existing, _response = self.request("GET", "webhooks", params={"per_page": 100})
        deleted: list[int] = []
        for hook in existing or []:
            if isinstance(hook, Mapping) and hook.get("delivery_url") == delivery_url and hook.get("id"):
                self.request("DELETE", f"webhooks/{int(hook['id'])}", params={"force": "true"})
                deleted.append(int(hook["id"]))
        return deleted

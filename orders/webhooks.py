"""What order webhooks do: the named order is upserted through the same ingest as the poll.

Shopify's webhook body is the REST shape: it is mapped onto the GraphQL shape the poll reads, so both give
the same record; a body that cannot be read that way (and refunds/create, which names only the order) is
followed by one GraphQL read of the order. WooCommerce's body
is the REST v3 order the poll reads, so it is parsed directly. Upserts never let an older copy overwrite a
newer one, so late or reordered deliveries change nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from channels.adapters.registry import adapter_for
from channels.adapters.shopify import ShopifyAdapter
from channels.adapters.shopify import parse as shopify_parse
from channels.adapters.woocommerce import parse as woocommerce_parse
from channels.models import Platform, Store, WebhookEvent
from channels.webhooks import register_webhook_handler
from orders.models import Order, OrderStatus
from orders.services import order_upsert_page

SHOPIFY_ORDER_TOPICS = frozenset(
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
WOOCOMMERCE_ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})


def on_shopify_order(store: Store, event: WebhookEvent, payload: Any) -> bool:
    order_id = event.resource_id or (str(payload.get("id", "")) if isinstance(payload, dict) else "")
    if not order_id:
        return False
    if event.topic != "refunds/create" and isinstance(payload, dict):
        try:
            order_upsert_page(store=store, orders=[shopify_parse.parse_rest_order(payload)])
            return True
        except shopify_parse.RecordError:
            pass  # an unexpected shape: read the order through GraphQL instead, as the poll does
    adapter = adapter_for(store, secrets=store.credential.secrets)  # type: ignore[arg-type]
    try:
        assert isinstance(adapter, ShopifyAdapter)
        order = adapter.fetch_order(order_id)
    finally:
        adapter.close()
    if order is None:
        return False
    order_upsert_page(store=store, orders=[order])
    return True


def on_woocommerce_order(store: Store, event: WebhookEvent, payload: Any) -> bool:
    if not isinstance(payload, dict):
        raise ValueError("The webhook body is not an order object")
    order = woocommerce_parse.parse_order(payload)  # RecordError → the event is marked failed; the poll quarantines it
    order_upsert_page(store=store, orders=[order])
    return True


@transaction.atomic
def on_woocommerce_order_deleted(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """A trashed or deleted order: the poll never sees it again, so it is marked cancelled here."""
    order_id = event.resource_id
    updated = Order.objects.filter(store=store, external_id=order_id).exclude(status=OrderStatus.CANCELLED)
    return bool(updated.update(status=OrderStatus.CANCELLED, raw_status="deleted", channel_updated_at=timezone.now()))


def register_order_webhook_handlers() -> None:
    register_webhook_handler(Platform.SHOPIFY, SHOPIFY_ORDER_TOPICS, on_shopify_order)
    register_webhook_handler(Platform.WOOCOMMERCE, WOOCOMMERCE_ORDER_TOPICS, on_woocommerce_order)
    register_webhook_handler(Platform.WOOCOMMERCE, {"order.deleted"}, on_woocommerce_order_deleted)

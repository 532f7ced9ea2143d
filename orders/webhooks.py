"""What order webhooks do: the named order is upserted through the same ingest as the poll.

Which topics carry an order, and how a body becomes one, is the channel's (`WebhookReceiving`): a body the
channel can read is the order (a Shopify REST order is mapped onto the GraphQL shape the poll reads,
WooCommerce's body is the REST v3 order the poll reads), otherwise the order the event names is read once
through the API. An order a topic says was deleted is never listed again: it is marked cancelled here.
Upserts never let an older copy overwrite a newer one, so late or reordered deliveries change nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from channels.adapters.base import WebhookReceiving
from channels.adapters.registry import adapter_class_for, adapter_classes, adapter_for
from channels.models import Store, WebhookEvent
from channels.webhooks import register_webhook_handler
from orders.models import Order, OrderStatus
from orders.services import order_upsert_page


def on_order_webhook(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """Upsert the order the delivery carries (or names). False when there was nothing to do."""
    channel = adapter_class_for(store.platform)
    if not issubclass(channel, WebhookReceiving):
        return False
    order = channel.order_from_webhook(topic=event.topic, payload=payload)
    if order is None:
        order_id = event.resource_id or (str(payload.get("id", "")) if isinstance(payload, dict) else "")
        if not order_id:
            return False
        adapter = adapter_for(store, secrets=store.credential.secrets)  # type: ignore[arg-type]
        try:
            order = adapter.require(WebhookReceiving).fetch_order(order_id)
        finally:
            adapter.close()
        if order is None:
            return False
    order_upsert_page(store=store, orders=[order])
    return True


@transaction.atomic
def on_order_deleted_webhook(store: Store, event: WebhookEvent, payload: Any) -> bool:
    """A trashed or deleted order: the poll never sees it again, so it is marked cancelled here."""
    order_id = event.resource_id
    updated = Order.objects.filter(store=store, external_id=order_id).exclude(status=OrderStatus.CANCELLED)
    return bool(updated.update(status=OrderStatus.CANCELLED, raw_status="deleted", channel_updated_at=timezone.now()))


def register_order_webhook_handlers() -> None:
    """Every channel that pushes webhooks: its order topics and its deleted-order topics."""
    for channel in adapter_classes():
        if not issubclass(channel, WebhookReceiving):
            continue
        if channel.order_webhook_topics:
            register_webhook_handler(channel.key, channel.order_webhook_topics, on_order_webhook)
        if channel.deleted_order_webhook_topics:
            register_webhook_handler(channel.key, channel.deleted_order_webhook_topics, on_order_deleted_webhook)
